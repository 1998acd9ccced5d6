//! The page's state: signals every component reads, updated by worker events.

use leptos::prelude::*;
use protocol::tasks::Tasks;
use protocol::{
    Event, GenerationSettings, GenerationStats, LabelProbability, ModelInfo, ModelSpec, Request,
    RequestId, StopReason, TokenStep,
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
        }
    }

    /// Loads the model the URL fields name.
    pub fn load_current(self) {
        let url = self.weights_url.get_untracked();
        let config = self.config_url.get_untracked();
        self.load(ModelSpec {
            name: url.rsplit('/').next().unwrap_or(&url).to_string(),
            weights_url: url.clone(),
            config_url: (!config.trim().is_empty()).then_some(config),
            tokenizer_url: self.tokenizer_url.get_untracked(),
        });
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
                if self.autoload.get_untracked() {
                    self.autoload.set(false);
                    self.load_current();
                }
            }
            Event::Tokenized { ids, tokens, .. } => self.tokenized.set(Some((ids, tokens))),
            Event::LabelProbabilities { labels, .. } => self.labels.set(Some(labels)),
            Event::Progress {
                file,
                loaded,
                total,
                ..
            } => self.download.set(Some(Download {
                file,
                loaded,
                total,
            })),
            Event::Loaded { info, .. } => {
                self.loading.set(None);
                self.download.set(None);
                self.error.set(None);
                self.model.set(Some(info));
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
                if id.is_some() && id == self.loading.get_untracked() {
                    self.loading.set(None);
                    self.download.set(None);
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

    pub fn load(self, spec: ModelSpec) {
        let id = worker_link::next_id();
        self.error.set(None);
        self.loading.set(Some(id));
        self.download.set(None);
        worker_link::send(&Request::Load { id, model: spec });
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
