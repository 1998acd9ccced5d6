//! The page's state: signals every component reads, updated by worker events.

use leptos::prelude::*;
use protocol::catalog::{Catalog, Source};
use protocol::tasks::Tasks;
use protocol::{
    CachedFile, Event, FileSource, GenerationSettings, GenerationStats, LabelProbability,
    ModelInfo, ModelSpec, Request, RequestId, StopReason, TokenStep,
};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::worker_link;

#[derive(Clone, Debug, PartialEq)]
pub enum WorkerStatus {
    Starting,
    Ready {
        simd: bool,
        version: String,
    },
    /// Crashed; the sentence says why. A new worker is being started.
    Restarting(String),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Download {
    pub file: String,
    pub loaded: u64,
    pub total: Option<u64>,
    /// Read from the browser's cache, not the network.
    pub cached: bool,
    /// `performance.now()` when this file's first bytes arrived, and now.
    pub started_ms: f64,
    pub now_ms: f64,
}

impl Download {
    /// Bytes per second since the file started.
    pub fn rate(&self) -> Option<f64> {
        let seconds = (self.now_ms - self.started_ms) / 1000.0;
        (seconds > 0.05).then(|| self.loaded as f64 / seconds)
    }
}

/// What the browser's model cache holds, as the worker last said.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CacheView {
    pub files: Vec<CachedFile>,
    pub note: Option<String>,
}

impl CacheView {
    pub fn holds(&self, url: &str) -> bool {
        let absolute = absolute_url(url);
        self.files.iter().any(|f| f.url == absolute)
    }
}

/// `url` resolved against the page, as the worker keys its cache.
pub fn absolute_url(url: &str) -> String {
    let base = web_sys::window()
        .and_then(|w| w.location().href().ok())
        .unwrap_or_default();
    web_sys::Url::new_with_base(url, &base)
        .map(|u| u.href())
        .unwrap_or_else(|_| url.to_string())
}

pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

/// One generation as the page shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Run {
    pub id: RequestId,
    pub prompt_ids: Vec<u32>,
    /// The settings as the worker echoed them back.
    pub echoed: Option<GenerationSettings>,
    pub max_new_tokens: usize,
    pub temperature: f64,
    pub steps: Vec<TokenStep>,
    pub finished: Option<(StopReason, GenerationStats)>,
}

#[derive(Clone, Copy)]
pub struct Lab {
    pub worker: RwSignal<WorkerStatus>,
    pub model: RwSignal<Option<ModelInfo>>,
    pub loading: RwSignal<Option<RequestId>>,
    pub download: RwSignal<Option<Download>>,
    pub tokenized: RwSignal<Option<(Vec<u32>, Vec<String>)>>,
    pub run: RwSignal<Option<Run>>,
    pub error: RwSignal<Option<String>>,
    /// `static/tasks.json`: task prefixes and prompt formats.
    pub tasks: RwSignal<Option<Tasks>>,
    pub labels: RwSignal<Option<Vec<LabelProbability>>>,
    /// What the user set up: kept in localStorage and in shareable links.
    pub prompt: RwSignal<String>,
    pub task: RwSignal<String>,
    pub settings: RwSignal<GenerationSettings>,
    pub weights_url: RwSignal<String>,
    pub config_url: RwSignal<String>,
    pub tokenizer_url: RwSignal<String>,
    /// Selected token of the current run (its alternatives are shown).
    pub selected_step: RwSignal<Option<usize>>,
    /// Large type and high contrast, for a classroom projector.
    pub projector: RwSignal<bool>,
    /// "light", "dark", or "" to follow the system.
    pub theme: RwSignal<String>,
    /// Load the model as soon as the worker is ready (a shared link named one).
    pub autoload: RwSignal<bool>,
    /// `static/models/catalog.json`: shipped and hub models.
    pub catalog: RwSignal<Option<Catalog>>,
    /// Hub address for catalog models ("" = the catalog's own).
    pub hub: RwSignal<String>,
    pub cache: RwSignal<Option<CacheView>>,
    /// Counts the worker's cache listings, so a test can wait for a fresh one.
    pub cache_version: RwSignal<u64>,
    /// Where the loaded model's files came from (network or cache).
    pub loaded_files: RwSignal<Vec<FileSource>>,
    /// A sentence about the last load that is not an error (cancelled).
    pub notice: RwSignal<Option<String>>,
    /// Milliseconds from opening the page to the first model ready.
    pub first_ready_ms: RwSignal<Option<f64>>,
    /// The start-up load (link, saved or default model) has been decided.
    pub started_up: RwSignal<bool>,
    /// Object URLs of local files being loaded, freed when the load ends.
    pub local_urls: StoredValue<Vec<(RequestId, String)>>,
    /// The model the worker still holds while another loads: shown again
    /// when that load fails or is cancelled.
    pub previous: StoredValue<Option<(ModelInfo, Vec<FileSource>)>>,
}

impl Lab {
    pub fn new() -> Self {
        Self {
            worker: RwSignal::new(WorkerStatus::Starting),
            model: RwSignal::new(None),
            loading: RwSignal::new(None),
            download: RwSignal::new(None),
            tokenized: RwSignal::new(None),
            run: RwSignal::new(None),
            error: RwSignal::new(None),
            tasks: RwSignal::new(None),
            labels: RwSignal::new(None),
            prompt: RwSignal::new("Hello world".to_string()),
            task: RwSignal::new(String::new()),
            settings: RwSignal::new(GenerationSettings::default()),
            weights_url: RwSignal::new(String::new()),
            config_url: RwSignal::new(String::new()),
            tokenizer_url: RwSignal::new(String::new()),
            selected_step: RwSignal::new(None),
            projector: RwSignal::new(false),
            theme: RwSignal::new(String::new()),
            autoload: RwSignal::new(false),
            catalog: RwSignal::new(None),
            hub: RwSignal::new(String::new()),
            cache: RwSignal::new(None),
            cache_version: RwSignal::new(0),
            loaded_files: RwSignal::new(Vec::new()),
            notice: RwSignal::new(None),
            first_ready_ms: RwSignal::new(None),
            started_up: RwSignal::new(false),
            local_urls: StoredValue::new(Vec::new()),
            previous: StoredValue::new(None),
        }
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

    /// Puts a catalog model's files in the URL fields and loads it.
    pub fn load_catalog_model(self, id: &str) {
        let hub = self.hub_url();
        let Some(spec) = self.catalog.with_untracked(|c| {
            c.as_ref()
                .and_then(|c| c.models.iter().find(|m| m.id == id))
                .map(|m| m.spec(&hub))
        }) else {
            return;
        };
        self.weights_url.set(spec.weights_url.clone());
        self.config_url
            .set(spec.config_url.clone().unwrap_or_default());
        self.tokenizer_url
            .set(spec.tokenizer_url.clone().unwrap_or_default());
        self.load(spec);
    }

    /// The user typed a weights URL: a config or tokenizer URL that came
    /// with the previous catalog model belongs to that model, not this one.
    pub fn edit_weights_url(self, url: String) {
        // The user is choosing a model: the page's start-up must not load
        // its default over what they typed.
        self.started_up.set(true);
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
                    }
                    Err(e) => self.error.set(Some(e)),
                },
                Err(e) => self
                    .error
                    .set(Some(format!("the model catalog could not be loaded: {e}"))),
            }
        });
    }

    /// Once the worker, the catalog and the cache listing are known, loads
    /// what the page should open with: the saved model when it needs no
    /// network (shipped with the page, or cached), else the default model.
    fn start_up(self) {
        if self.started_up.get_untracked() {
            return;
        }
        let ready = matches!(self.worker.get_untracked(), WorkerStatus::Ready { .. });
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
            self.load_catalog_model(&default.id.clone());
        }
    }

    pub fn refresh_cache(self) {
        worker_link::send(&Request::ListCache {
            id: worker_link::next_id(),
        });
    }

    pub fn clear_cache(self) {
        worker_link::send(&Request::ClearCache {
            id: worker_link::next_id(),
        });
    }

    /// Stops the model download under way; the worker keeps none of it.
    pub fn cancel_load(self) {
        if let Some(id) = self.loading.get_untracked() {
            worker_link::send(&Request::Cancel { id });
        }
    }

    /// The load `id` is over: frees the local files' object URLs and, unless
    /// it succeeded, shows again the model the worker kept.
    fn end_load(self, id: RequestId, succeeded: bool) {
        if self.loading.get_untracked() == Some(id) {
            self.loading.set(None);
            self.download.set(None);
            match self.previous.get_value() {
                Some((info, files)) if !succeeded => {
                    self.model.set(Some(info));
                    self.loaded_files.set(files);
                }
                _ => {}
            }
            self.previous.set_value(None);
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
            },
        };
        self.load(spec);
    }

    /// Fetches the task list the page and the worker share.
    pub fn load_tasks(self) {
        leptos::task::spawn_local(async move {
            match fetch_text("tasks.json").await {
                Ok(json) => match Tasks::from_json(&json) {
                    Ok(tasks) => self.tasks.set(Some(tasks)),
                    Err(e) => self.error.set(Some(e)),
                },
                Err(e) => self
                    .error
                    .set(Some(format!("the task list could not be loaded: {e}"))),
            }
        });
    }

    /// Starts the worker and routes its events into the signals.
    pub fn connect(self) {
        let lab = self;
        worker_link::start(
            move |event| lab.apply(event),
            move |why| {
                lab.worker.set(WorkerStatus::Restarting(why.clone()));
                lab.error.set(Some(format!(
                    "The model worker crashed ({why}). It was restarted; load the model again."
                )));
                lab.model.set(None);
                lab.loading.set(None);
                lab.run.update(|r| {
                    if let Some(r) = r {
                        r.finished
                            .get_or_insert((StopReason::Cancelled, Default::default()));
                    }
                });
                lab.connect();
            },
        );
    }

    fn apply(self, event: Event) {
        match event {
            Event::Ready { simd, version } => {
                self.worker.set(WorkerStatus::Ready { simd, version });
                self.refresh_cache();
                // A shared link's model loads at once, without waiting for the catalog.
                if self.autoload.get_untracked() {
                    self.autoload.set(false);
                    self.started_up.set(true);
                    self.load_current();
                }
                self.start_up();
            }
            Event::Cache { files, note, .. } => {
                self.cache.set(Some(CacheView { files, note }));
                self.cache_version.update(|v| *v += 1);
                self.start_up();
            }
            Event::LoadCancelled { id } => {
                if self.loading.get_untracked() == Some(id) {
                    self.notice
                        .set(Some("Download cancelled: nothing of it was kept.".into()));
                }
                self.end_load(id, false);
            }
            Event::Tokenized { ids, tokens, .. } => self.tokenized.set(Some((ids, tokens))),
            Event::LabelProbabilities { labels, .. } => self.labels.set(Some(labels)),
            Event::Progress {
                id,
                file,
                loaded,
                total,
                cached,
            } => {
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
                        file,
                        loaded,
                        total,
                        cached,
                        started_ms,
                        now_ms: now,
                    });
                });
            }
            Event::Loaded { id, info, files } => {
                if self.loading.get_untracked() != Some(id) {
                    return;
                }
                self.end_load(id, true);
                self.error.set(None);
                self.model.set(Some(info));
                self.loaded_files.set(files);
                if self.first_ready_ms.get_untracked().is_none() {
                    self.first_ready_ms.set(Some(now_ms()));
                }
            }
            Event::Started {
                id,
                prompt_ids,
                settings,
            } => self.update_run(id, |r| {
                r.prompt_ids = prompt_ids;
                r.echoed = Some(settings);
            }),
            Event::Token { id, step } => self.update_run(id, |r| r.steps.push(step)),
            Event::Done { id, reason, stats } => {
                self.update_run(id, |r| r.finished = Some((reason, stats)))
            }
            Event::Error { id, message } => {
                if let Some(id) = id.filter(|&id| self.loading.get_untracked() == Some(id)) {
                    self.end_load(id, false);
                }
                if let Some(id) = id {
                    self.update_run(id, |r| {
                        r.finished
                            .get_or_insert((StopReason::Cancelled, Default::default()));
                    });
                }
                self.error.set(Some(message));
            }
        }
    }

    fn update_run(self, id: RequestId, f: impl FnOnce(&mut Run)) {
        self.run.update(|run| {
            if let Some(run) = run.as_mut().filter(|r| r.id == id) {
                f(run);
            }
        });
    }

    /// Loads a model; a load still under way is cancelled first.
    pub fn load(self, spec: ModelSpec) -> RequestId {
        // A model the user asked for wins over the one the page opens with.
        self.started_up.set(true);
        self.cancel_load();
        let id = worker_link::next_id();
        self.error.set(None);
        self.notice.set(None);
        self.loading.set(Some(id));
        self.download.set(None);
        if let Some(info) = self.model.get_untracked() {
            self.previous
                .set_value(Some((info, self.loaded_files.get_untracked())));
        }
        self.model.set(None);
        worker_link::send(&Request::Load { id, model: spec });
        id
    }

    pub fn generating(self) -> bool {
        self.run
            .with(|r| r.as_ref().is_some_and(|r| r.finished.is_none()))
    }
}

async fn fetch_text(url: &str) -> Result<String, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| format!("{e:?}"))?;
    let response: web_sys::Response = response.unchecked_into();
    if !response.ok() {
        return Err(format!("{url}: {}", response.status()));
    }
    let text = JsFuture::from(response.text().map_err(|e| format!("{e:?}"))?)
        .await
        .map_err(|e| format!("{e:?}"))?;
    text.as_string().ok_or_else(|| "not text".to_string())
}
