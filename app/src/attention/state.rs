//! Which attention maps the page shows: asked of the worker for one run's
//! tokens, and the layer, head and kind the user picked.

use leptos::prelude::*;
use protocol::attention::{AttentionKind, AttentionMap};
use protocol::{Arch, Event, HeldModel, ModelRef, Request, RequestId};

use crate::worker_link::{self, Link};

/// The worker's maps for one run.
#[derive(Clone, Debug)]
pub struct Shown {
    pub request: RequestId,
    pub arch: Arch,
    pub model: String,
    pub maps: Vec<AttentionMap>,
    pub note: Option<String>,
}

/// What the heatmap draws now: the picked map's labels and one grid.
#[derive(Clone, Debug)]
pub struct Drawn {
    pub kind: AttentionKind,
    pub queries: Vec<String>,
    pub keys: Vec<String>,
    /// `[query][key]` row by row: one head, or the mean of the layer's heads.
    pub grid: Vec<f32>,
    pub layer: usize,
    pub head: Option<usize>,
}

#[derive(Clone, Copy)]
pub struct AttentionState {
    link: Link,
    /// The request whose answer is awaited: an older one answering late is
    /// dropped.
    pending: StoredValue<Option<(RequestId, Arch, String)>>,
    pub waiting: RwSignal<bool>,
    pub shown: RwSignal<Option<Shown>>,
    /// Index into the shown maps (T5: encoder, decoder, cross).
    pub kind: RwSignal<usize>,
    pub layer: RwSignal<usize>,
    /// `None`: the mean over the layer's heads.
    pub head: RwSignal<Option<usize>>,
    /// The cell under the pointer: (query, key, value).
    pub hover: RwSignal<Option<(usize, usize, f32)>>,
}

impl AttentionState {
    pub fn new(link: Link) -> Self {
        Self {
            link,
            pending: StoredValue::new(None),
            waiting: RwSignal::new(false),
            shown: RwSignal::new(None),
            kind: RwSignal::new(0),
            layer: RwSignal::new(0),
            head: RwSignal::new(None),
            hover: RwSignal::new(None),
        }
    }

    /// Asks for the maps of `model` reading `input_ids` then `output_ids`.
    pub fn request(self, model: &HeldModel, input_ids: Vec<u32>, output_ids: Vec<u32>) {
        let id = worker_link::next_id();
        let arch = model.info.arch;
        self.pending
            .set_value(Some((id, arch, model.info.name.clone())));
        self.waiting.set(true);
        let sent = self.link.send(&Request::Attention {
            id,
            model: ModelRef {
                arch,
                load: model.load,
            },
            input_ids,
            output_ids,
        });
        if !sent {
            self.waiting.set(false);
        }
    }

    /// The picked kind, layer and head, read from the maps in place: only
    /// the one grid drawn is copied out (tracked).
    pub fn drawn(self) -> Option<Drawn> {
        let (kind, layer, head) = (self.kind.get(), self.layer.get(), self.head.get());
        self.shown.with(|s| {
            let map = s.as_ref()?.maps.get(kind)?;
            let layer = layer.min(map.layers.saturating_sub(1));
            Some(Drawn {
                kind: map.kind,
                queries: map.queries.clone(),
                keys: map.keys.clone(),
                grid: map.grid(layer, head),
                layer,
                head,
            })
        })
    }

    /// Layers and heads of the picked kind of map (tracked).
    pub fn shape(self) -> (usize, usize) {
        let kind = self.kind.get();
        self.shown.with(|s| {
            s.as_ref()
                .and_then(|s| s.maps.get(kind))
                .map_or((0, 0), |m| (m.layers, m.heads))
        })
    }

    pub fn on_event(self, event: &Event) {
        let Some((pending, arch, model)) = self.pending.get_value() else {
            return;
        };
        match event {
            Event::Attention { id, maps, note } if *id == pending => {
                self.pending.set_value(None);
                self.waiting.set(false);
                self.kind.set(0);
                self.layer.set(0);
                self.head.set(None);
                self.hover.set(None);
                self.shown.set(Some(Shown {
                    request: *id,
                    arch,
                    model,
                    maps: maps.clone(),
                    note: note.clone(),
                }));
            }
            Event::Error { id: Some(id), .. } if *id == pending => {
                self.pending.set_value(None);
                self.waiting.set(false);
            }
            _ => {}
        }
    }

    pub fn worker_died(self) {
        self.pending.set_value(None);
        self.waiting.set(false);
    }
}
