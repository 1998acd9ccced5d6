//! The page's state: signals every component reads, updated by worker events.

use leptos::prelude::*;
use protocol::catalog::Catalog;
use protocol::tasks::Tasks;
use protocol::{
    CachedFile, Event, GenerationSettings, GenerationStats, HeldModel, LabelProbability, ModelInfo,
    ModelSpec, Request, RequestId, StopReason, TokenStep,
};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::start_up::{DefaultLoads, LoadEnd};
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
    /// The model that ran it, as the worker said.
    pub model: String,
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
    /// The models the worker holds (one per architecture), as it last said.
    pub held: RwSignal<Vec<HeldModel>>,
    /// Architecture of the held model the playground uses ("" = none).
    pub playground_arch: RwSignal<String>,
    pub loading: RwSignal<Option<RequestId>>,
    /// The name of the model that load is for.
    pub loading_model: RwSignal<String>,
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
    /// A sentence about the last load that is not an error (cancelled).
    pub notice: RwSignal<Option<String>>,
    /// Milliseconds from opening the page to the first model ready.
    pub first_ready_ms: RwSignal<Option<f64>>,
    /// The start-up load (link, saved or default model) has been decided.
    pub started_up: RwSignal<bool>,
    /// Object URLs of local files being loaded, freed when the load ends.
    pub local_urls: StoredValue<Vec<(RequestId, String)>>,
    /// The load under way takes over the playground when it succeeds (a
    /// default model loading beside the playground's does not).
    pub load_takes_playground: StoredValue<bool>,
    /// Start-up's loads of the catalog's default models.
    pub defaults: StoredValue<DefaultLoads>,
}

impl Lab {
    pub fn new() -> Self {
        Self {
            worker: RwSignal::new(WorkerStatus::Starting),
            held: RwSignal::new(Vec::new()),
            playground_arch: RwSignal::new(String::new()),
            loading: RwSignal::new(None),
            loading_model: RwSignal::new(String::new()),
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
            notice: RwSignal::new(None),
            first_ready_ms: RwSignal::new(None),
            started_up: RwSignal::new(false),
            local_urls: StoredValue::new(Vec::new()),
            load_takes_playground: StoredValue::new(true),
            defaults: StoredValue::new(DefaultLoads::new()),
        }
    }

    /// The held model the playground uses (tracked).
    pub fn active_model(self) -> Option<HeldModel> {
        let arch = self.playground_arch.get();
        self.held
            .with(|h| h.iter().find(|m| m.info.arch == arch).cloned())
    }

    /// What the playground's model is (tracked).
    pub fn model(self) -> Option<ModelInfo> {
        self.active_model().map(|m| m.info)
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
    pub fn switch_to(self, arch: &str) {
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
        self.take_playground(arch);
    }

    /// The playground now uses the held model of `arch`. The chosen task
    /// moves to that model's family (a T5 prefix becomes the GPT-2 format
    /// of the same task); the user's own text stays.
    fn take_playground(self, arch: &str) {
        let old_arch = self.playground_arch.get_untracked();
        if old_arch != arch {
            self.labels.set(None);
            self.carry_task_over(&old_arch, arch);
        }
        self.playground_arch.set(arch.to_string());
    }

    /// Rewraps the prompt from the task's form for `from` models into its
    /// form for `to` models; a task `to` models lack leaves free text.
    fn carry_task_over(self, from: &str, to: &str) {
        let Some(tasks) = self.tasks.get_untracked() else {
            return;
        };
        let id = self.task.get_untracked();
        if from.is_empty() || id.is_empty() {
            return;
        }
        let prompt = self.prompt.get_untracked();
        let text = tasks
            .find(from, &id)
            .and_then(|t| t.strip(&prompt))
            .unwrap_or(&prompt)
            .to_string();
        match tasks.find(to, &id) {
            Some(task) => {
                self.prompt.set(task.render(&text, None));
                self.settings.update(|s| {
                    s.max_new_tokens = task.max_new_tokens;
                    s.stop = task.stop.clone();
                });
            }
            None => {
                self.prompt.set(text);
                self.task.set(String::new());
                self.settings.update(|s| s.stop.clear());
            }
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
            self.switch_to(&held.info.arch);
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
                    Err(e) => self.error.set(Some(e)),
                },
                Err(e) => self
                    .error
                    .set(Some(format!("the model catalog could not be loaded: {e}"))),
            }
        });
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

    /// The user stops the model download under way; the worker keeps none
    /// of it, and start-up loads no more default models.
    pub fn cancel_load(self) {
        self.stop_loading_defaults();
        self.cancel_current_load();
    }

    fn cancel_current_load(self) {
        if let Some(id) = self.loading.get_untracked() {
            worker_link::send(&Request::Cancel { id });
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
                    "The model worker crashed ({why}). It was restarted; load the models again."
                )));
                // Nothing the old worker held or loaded survives it.
                lab.held.set(Vec::new());
                lab.playground_arch.set(String::new());
                lab.loading.set(None);
                lab.download.set(None);
                lab.stop_loading_defaults();
                lab.local_urls.update_value(|urls| {
                    for (_, url) in urls.drain(..) {
                        let _ = web_sys::Url::revoke_object_url(&url);
                    }
                });
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
                // The page cancels the current load only when the user asks;
                // any other was replaced by a newer load.
                let end = if self.loading.get_untracked() == Some(id) {
                    self.notice
                        .set(Some("Download cancelled: nothing of it was kept.".into()));
                    LoadEnd::Cancelled
                } else {
                    LoadEnd::Replaced
                };
                self.end_load(id, end);
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
            Event::Held { models } => self.held.set(models),
            Event::Loaded { id, info } => {
                if self.loading.get_untracked() == Some(id) {
                    // A default loaded beside the playground's model takes
                    // the playground only when it has none.
                    if self.load_takes_playground.get_value()
                        || self.playground_arch.get_untracked().is_empty()
                    {
                        self.error.set(None);
                        self.take_playground(&info.arch);
                    }
                    if self.first_ready_ms.get_untracked().is_none() {
                        self.first_ready_ms.set(Some(now_ms()));
                    }
                }
                self.end_load(id, LoadEnd::Loaded);
            }
            Event::Started {
                id,
                model,
                prompt_ids,
                settings,
            } => self.update_run(id, |r| {
                r.model = model;
                r.prompt_ids = prompt_ids;
                r.echoed = Some(settings);
            }),
            Event::Token { id, step } => self.update_run(id, |r| r.steps.push(step)),
            Event::Done { id, reason, stats } => {
                self.update_run(id, |r| r.finished = Some((reason, stats)))
            }
            Event::Error { id, message } => {
                let a_load = |id: RequestId| {
                    self.loading.get_untracked() == Some(id) || self.is_default_load(id)
                };
                if let Some(id) = id.filter(|&id| a_load(id)) {
                    self.end_load(id, LoadEnd::Failed);
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

    /// Loads a model for the playground; a load still under way is
    /// cancelled first. The playground keeps its model until this one is in.
    pub fn load(self, spec: ModelSpec) -> RequestId {
        // A model the user asked for wins over the one the page opens with.
        self.started_up.set(true);
        self.error.set(None);
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
