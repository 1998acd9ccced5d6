//! What the page opens with: a shared link's model, else the saved one when
//! it needs no network, else the catalog's first default, in the
//! playground; then each other default model beside it, one per
//! architecture the worker does not hold yet. So the page opens with a T5
//! answering the task prefixes and a GPT-2 continuing text.

use leptos::prelude::*;
use protocol::catalog::Source;
use protocol::{Arch, RequestId};

use crate::models::Models;

/// Start-up's loads of the catalog's default models.
pub struct DefaultLoads {
    /// Still loading defaults: off once the user chooses for themselves
    /// (types an address, cancels a download) or the worker restarts.
    on: bool,
    /// Catalog ids that loaded or failed. A default another load replaced
    /// before it finished is not among them: it is tried again after.
    tried: Vec<String>,
    /// The default load under way and its catalog id.
    current: Option<(RequestId, String)>,
}

impl DefaultLoads {
    pub fn new() -> Self {
        Self {
            on: true,
            tried: Vec::new(),
            current: None,
        }
    }
}

/// How a load ended, as far as start-up cares.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum LoadEnd {
    Loaded,
    Failed,
    /// The user pressed Cancel.
    Cancelled,
    /// A newer load took its place.
    Replaced,
}

impl Models {
    /// Once the worker, the catalog and the cache listing are known, loads
    /// the playground's model; [`Models::load_next_default`] adds the others.
    pub(crate) fn start_up(self) {
        if self.started_up.get_untracked() {
            return;
        }
        let ready = self.link.ready();
        let (Some(catalog), Some(cache)) =
            (self.catalog.get_untracked(), self.cache.get_untracked())
        else {
            return;
        };
        if !ready {
            return;
        }
        self.started_up.set(true);
        if self.autoload.get_untracked() {
            self.autoload.set(false);
            self.load_current();
            return;
        }
        let saved = self.weights_url.get_untracked();
        let hub = self.hub_url();
        let offline_ok = !saved.is_empty()
            && (cache.holds(&saved)
                || catalog
                    .find_by_weights(&hub, &saved)
                    .is_some_and(|m| m.source == Source::Page));
        if offline_ok {
            self.load_current();
        } else if let Some(default) = catalog.default_model() {
            let id = default.id.clone();
            let load = self.load_catalog_model(&id);
            self.defaults
                .update_value(|d| d.current = load.map(|load| (load, id)));
        }
    }

    /// Start-up loads no more default models: the user chose.
    pub(crate) fn stop_loading_defaults(self) {
        self.defaults.update_value(|d| d.on = false);
    }

    /// Whether `id` is the default load under way (the current load, or one
    /// a newer load replaced whose end has not come back yet).
    pub(crate) fn is_default_load(self, id: RequestId) -> bool {
        self.defaults
            .with_value(|d| d.current.as_ref().is_some_and(|(load, _)| *load == id))
    }

    /// Notes how the load `id` ended if it was a default's.
    pub(crate) fn default_load_ended(self, id: RequestId, end: LoadEnd) {
        self.defaults.update_value(|d| {
            let Some((_, model)) = d.current.take_if(|(load, _)| *load == id) else {
                return;
            };
            match end {
                LoadEnd::Loaded | LoadEnd::Failed => d.tried.push(model),
                LoadEnd::Cancelled => d.on = false,
                LoadEnd::Replaced => {}
            }
        });
    }

    /// Loads the next catalog default whose architecture the worker does not
    /// hold yet, beside the playground's model, once nothing else loads.
    pub(crate) fn load_next_default(self) {
        let waiting = self.defaults.with_value(|d| !d.on || d.current.is_some());
        if waiting || !self.started_up.get_untracked() || self.loading.get_untracked().is_some() {
            return;
        }
        let hub = self.hub_url();
        let held: Vec<Arch> = self
            .held
            .with_untracked(|h| h.iter().map(|m| m.info.arch).collect());
        let tried = self.defaults.with_value(|d| d.tried.clone());
        // Without the catalog yet, this runs again when it comes.
        let next = self.catalog.with_untracked(|c| {
            c.as_ref().and_then(|c| {
                c.default_models()
                    .find(|m| !held.contains(&m.arch) && !tried.contains(&m.id))
                    .map(|m| (m.id.clone(), m.spec(&hub)))
            })
        });
        if let Some((model, spec)) = next {
            let load = self.send_load(spec, false);
            self.defaults
                .update_value(|d| d.current = Some((load, model)));
        }
    }
}
