//! The model manager's state: the catalog, the models the worker holds,
//! the load under way and the browser's cache. It owns the worker's load
//! and cache events.

use leptos::prelude::*;
use protocol::catalog::Catalog;
use protocol::{Arch, Event, HeldModel, ModelSpec, Request, RequestId};

use crate::download::{CacheView, Download};
use crate::fetch::{fetch_text, now_ms};
use crate::playground::state::PlaygroundState;
use crate::revive::Revival;
use crate::start_up::{DefaultLoads, LoadEnd};
use crate::worker_link::{self, Link};

#[derive(Clone, Copy)]
pub struct Models {
    pub link: Link,
    pub playground: PlaygroundState,
    /// The models the worker holds (one per architecture), as it last said.
    pub held: RwSignal<Vec<HeldModel>>,
    pub loading: RwSignal<Option<RequestId>>,
    /// The name of the model that load is for.
    pub loading_model: RwSignal<String>,
    pub download: RwSignal<Option<Download>>,
    /// A sentence about the last load that is not an error (cancelled).
    pub notice: RwSignal<Option<String>>,
    /// Milliseconds from opening the page to the first model ready.
    pub first_ready_ms: RwSignal<Option<f64>>,
    /// `static/models/catalog.json`: shipped and hub models.
    pub catalog: RwSignal<Option<Catalog>>,
    /// Hub address for catalog models ("" = the catalog's own).
    pub hub: RwSignal<String>,
    pub cache: RwSignal<Option<CacheView>>,
    /// Counts the worker's cache listings, so a test can wait for a fresh one.
    pub cache_version: RwSignal<u64>,
    /// The files of the playground's model: kept in localStorage and links.
    pub weights_url: RwSignal<String>,
    pub config_url: RwSignal<String>,
    pub tokenizer_url: RwSignal<String>,
    /// Load the model as soon as the worker is ready (a shared link named one).
    pub autoload: RwSignal<bool>,
    /// The start-up load (link, saved or default model) has been decided.
    pub started_up: RwSignal<bool>,
    /// Object URLs of local files being loaded, freed when the load ends.
    pub local_urls: StoredValue<Vec<(RequestId, String)>>,
    /// The load under way takes over the playground when it succeeds (a
    /// default model loading beside the playground's does not).
    pub load_takes_playground: StoredValue<bool>,
    /// Start-up's loads of the catalog's default models.
    pub defaults: StoredValue<DefaultLoads>,
    /// What a crashed worker held, to load again in the new one.
    pub revive: StoredValue<Vec<Revival>>,
    /// The model manager's drawer is open.
    pub drawer_open: RwSignal<bool>,
}

impl Models {
    pub fn new(link: Link, playground: PlaygroundState) -> Self {
        Self {
            link,
            playground,
            held: playground.held,
            loading: RwSignal::new(None),
            loading_model: RwSignal::new(String::new()),
            download: RwSignal::new(None),
            notice: RwSignal::new(None),
            first_ready_ms: RwSignal::new(None),
            catalog: RwSignal::new(None),
            hub: RwSignal::new(String::new()),
            cache: RwSignal::new(None),
            cache_version: RwSignal::new(0),
            weights_url: RwSignal::new(String::new()),
            config_url: RwSignal::new(String::new()),
            tokenizer_url: RwSignal::new(String::new()),
            autoload: RwSignal::new(false),
            started_up: RwSignal::new(false),
            local_urls: StoredValue::new(Vec::new()),
            load_takes_playground: StoredValue::new(true),
            defaults: StoredValue::new(DefaultLoads::new()),
            revive: StoredValue::new(Vec::new()),
            drawer_open: RwSignal::new(false),
        }
    }

    /// The held model whose files are `spec`'s, if any.
    fn held_as(self, spec: &ModelSpec) -> Option<HeldModel> {
        self.held
            .with_untracked(|h| h.iter().find(|m| &m.spec == spec).cloned())
    }

    /// The user gives the playground the held model of `arch`: nothing is
    /// loaded, and a load still under way no longer takes the playground.
    /// The address fields show its files, so a reload or a shared link
    /// opens with it.
    pub fn switch_to(self, arch: Arch) {
        let Some(model) = self
            .held
            .with_untracked(|h| h.iter().find(|m| m.info.arch == arch).cloned())
        else {
            return;
        };
        self.load_takes_playground.set_value(false);
        // A local file's address dies with its load: the fields keep theirs.
        if !model.spec.weights_url.starts_with("blob:") {
            let field = |url: Option<String>| url.unwrap_or_default();
            self.weights_url.set(model.spec.weights_url);
            self.config_url.set(field(model.spec.config_url));
            self.tokenizer_url.set(field(model.spec.tokenizer_url));
        }
        self.playground.take(arch);
    }

    /// The hub address in force.
    pub fn hub_url(self) -> String {
        let hub = self.hub.get();
        if !hub.trim().is_empty() {
            return hub;
        }
        self.catalog
            .with(|c| c.as_ref().map(|c| c.hub.clone()))
            .unwrap_or_default()
    }

    /// Puts a catalog model's files in the URL fields and loads it; one the
    /// worker holds already is switched to at once (no load: `None`).
    pub fn load_catalog_model(self, id: &str) -> Option<RequestId> {
        let hub = self.hub_url();
        let spec = self.catalog.with_untracked(|c| {
            c.as_ref()
                .and_then(|c| c.models.iter().find(|m| m.id == id))
                .map(|m| m.spec(&hub))
        })?;
        if let Some(held) = self.held_as(&spec) {
            self.switch_to(held.info.arch);
            return None;
        }
        self.weights_url.set(spec.weights_url.clone());
        self.config_url
            .set(spec.config_url.clone().unwrap_or_default());
        self.tokenizer_url
            .set(spec.tokenizer_url.clone().unwrap_or_default());
        Some(self.load(spec))
    }

    /// The user typed a weights URL: a config or tokenizer URL that came
    /// with the previous catalog model belongs to that model, not this one.
    pub fn edit_weights_url(self, url: String) {
        // The user is choosing a model: the page's start-up must not load
        // its defaults over what they typed.
        self.started_up.set(true);
        self.stop_loading_defaults();
        let hub = self.hub_url();
        let previous = self.weights_url.get_untracked();
        let spec = self.catalog.with_untracked(|c| {
            c.as_ref()
                .and_then(|c| c.find_by_weights(&hub, &previous))
                .map(|m| m.spec(&hub))
        });
        if let Some(spec) = spec {
            for (field, from_catalog) in [
                (self.config_url, spec.config_url),
                (self.tokenizer_url, spec.tokenizer_url),
            ] {
                if from_catalog.is_some_and(|u| field.get_untracked() == u) {
                    field.set(String::new());
                }
            }
        }
        self.weights_url.set(url);
    }

    /// Fetches the model catalog.
    pub fn load_catalog(self) {
        leptos::task::spawn_local(async move {
            match fetch_text("models/catalog.json").await {
                Ok(json) => match Catalog::from_json(&json) {
                    Ok(catalog) => {
                        self.catalog.set(Some(catalog));
                        self.start_up();
                        self.load_next_default();
                    }
                    Err(e) => self.link.error.set(Some(e)),
                },
                Err(e) => self
                    .link
                    .error
                    .set(Some(format!("the model catalog could not be loaded: {e}"))),
            }
        });
    }

    pub fn refresh_cache(self) {
        self.link.send(&Request::ListCache {
            id: worker_link::next_id(),
        });
    }

    pub fn clear_cache(self) {
        self.link.send(&Request::ClearCache {
            id: worker_link::next_id(),
        });
    }

    /// The user stops the model download under way; the worker keeps none
    /// of it, and start-up loads no more default models.
    pub fn cancel_load(self) {
        self.stop_loading_defaults();
        self.cancel_current_load();
    }

    fn cancel_current_load(self) {
        if let Some(id) = self.loading.get_untracked() {
            self.link.send(&Request::Cancel { id });
        }
    }

    /// The load `id` is over: frees the local files' object URLs, then
    /// start-up's next default model may load.
    fn end_load(self, id: RequestId, end: LoadEnd) {
        if self.loading.get_untracked() == Some(id) {
            self.loading.set(None);
            self.download.set(None);
        }
        // Whatever the outcome, show what the cache now holds.
        self.refresh_cache();
        self.local_urls.update_value(|urls| {
            urls.retain(|(load, url)| {
                if *load == id {
                    let _ = web_sys::Url::revoke_object_url(url);
                }
                *load != id
            })
        });
        self.default_load_ended(id, end);
        self.load_next_default();
        self.revive_next();
    }

    /// Loads the model the URL fields name.
    pub fn load_current(self) {
        let url = self.weights_url.get_untracked();
        let config = self.config_url.get_untracked();
        let tokenizer = self.tokenizer_url.get_untracked();
        let hub = self.hub_url();
        // A catalog model keeps its catalog name, and its files where the
        // fields are empty; any other URL is named by its file.
        let catalog = self.catalog.with_untracked(|c| {
            c.as_ref()
                .and_then(|c| c.find_by_weights(&hub, &url))
                .map(|m| m.spec(&hub))
        });
        let field = |value: String| (!value.trim().is_empty()).then_some(value);
        let spec = match catalog {
            Some(spec) => ModelSpec {
                config_url: field(config).or(spec.config_url),
                tokenizer_url: field(tokenizer).or(spec.tokenizer_url),
                ..spec
            },
            None => ModelSpec {
                name: url.rsplit('/').next().unwrap_or(&url).to_string(),
                weights_url: url.clone(),
                config_url: field(config),
                tokenizer_url: field(tokenizer),
                weights_bytes: None,
                weights_sha256: None,
            },
        };
        self.load(spec);
    }

    /// Loads a model for the playground; a load still under way is
    /// cancelled first. The playground keeps its model until this one is in.
    pub fn load(self, spec: ModelSpec) -> RequestId {
        // A model the user asked for wins over the one the page opens with.
        self.started_up.set(true);
        self.link.error.set(None);
        self.notice.set(None);
        self.send_load(spec, true)
    }

    pub(crate) fn send_load(self, spec: ModelSpec, takes_playground: bool) -> RequestId {
        self.cancel_current_load();
        let id = worker_link::next_id();
        self.loading.set(Some(id));
        self.loading_model.set(spec.name.clone());
        self.download.set(None);
        self.load_takes_playground.set_value(takes_playground);
        if !self.link.send(&Request::Load { id, model: spec }) {
            self.loading.set(None);
        }
        id
    }

    /// The model manager's part of what the worker says.
    pub fn on_event(self, event: &Event) {
        match event {
            Event::Ready { .. } => {
                self.refresh_cache();
                // A shared link's model loads at once, without waiting for the catalog.
                if self.autoload.get_untracked() {
                    self.autoload.set(false);
                    self.started_up.set(true);
                    self.load_current();
                }
                self.start_up();
                self.revive_next();
            }
            Event::Cache { files, note, .. } => {
                self.cache.set(Some(CacheView {
                    files: files.clone(),
                    note: note.clone(),
                }));
                self.cache_version.update(|v| *v += 1);
                self.start_up();
            }
            Event::LoadCancelled { id } => {
                // The page cancels the current load only when the user asks;
                // any other was replaced by a newer load.
                let end = if self.loading.get_untracked() == Some(*id) {
                    self.notice
                        .set(Some("Download cancelled: nothing of it was kept.".into()));
                    LoadEnd::Cancelled
                } else {
                    LoadEnd::Replaced
                };
                self.end_load(*id, end);
            }
            Event::Progress {
                id,
                file,
                loaded,
                total,
                cached,
            } => self.progress(*id, file, *loaded, *total, *cached),
            Event::Held { models } => self.held.set(models.clone()),
            Event::Loaded { id, info } => {
                if self.loading.get_untracked() == Some(*id) {
                    // A default loaded beside the playground's model takes
                    // the playground only when it has none.
                    if self.load_takes_playground.get_value()
                        || self.playground.arch.get_untracked().is_none()
                    {
                        self.link.error.set(None);
                        self.playground.take(info.arch);
                    }
                    if self.first_ready_ms.get_untracked().is_none() {
                        self.first_ready_ms.set(Some(now_ms()));
                    }
                }
                self.end_load(*id, LoadEnd::Loaded);
            }
            Event::Error { id: Some(id), .. }
                if self.loading.get_untracked() == Some(*id) || self.is_default_load(*id) =>
            {
                self.end_load(*id, LoadEnd::Failed)
            }
            _ => {}
        }
    }

    fn progress(self, id: RequestId, file: &str, loaded: u64, total: Option<u64>, cached: bool) {
        if self.loading.get_untracked() != Some(id) {
            return;
        }
        let now = now_ms();
        self.download.update(|d| {
            let started_ms = match d {
                Some(d) if d.file == file => d.started_ms,
                _ => now,
            };
            *d = Some(Download {
                file: file.to_string(),
                loaded,
                total,
                cached,
                started_ms,
                now_ms: now,
            });
        });
    }

    /// Nothing the old worker held or loaded survives it: what it held is
    /// loaded again once the new worker is ready.
    pub fn worker_died(self) {
        self.remember_for_revival();
        self.held.set(Vec::new());
        self.loading.set(None);
        self.download.set(None);
        self.stop_loading_defaults();
        self.local_urls.update_value(|urls| {
            for (_, url) in urls.drain(..) {
                let _ = web_sys::Url::revoke_object_url(&url);
            }
        });
    }
}
