//! The Classify view's state: the labelled examples, the head's settings,
//! and what the worker made of them (features, a trained head, the sweep,
//! the model's own answer as text). Each action sends one typed request and
//! keeps only the answers to its own ids.

use leptos::prelude::*;
use protocol::classify::{
    suited, FeatureSummary, HeadFile, HeadReport, HeadSettings, LabelledSet, Pooling,
};
use protocol::examples::{self, Example};
use protocol::tasks::Tasks;
use protocol::{Arch, Event, HeldModel, ModelRef, Request, RequestId};

use super::own_answer::OwnAnswer;
use super::presets::Preset;
use super::sweep::SweepRun;
use crate::compare::state::RUN_ORDER;
use crate::worker_link::{self, Link};

/// What the worker is doing for this view.
#[derive(Clone, Debug, PartialEq)]
pub enum Job {
    Idle,
    Features {
        id: RequestId,
        done: usize,
        total: usize,
    },
    Training {
        id: RequestId,
    },
    Sweeping {
        id: RequestId,
        done: usize,
        total: usize,
    },
}

/// Features the worker holds, and what they were made of.
#[derive(Clone, Debug, PartialEq)]
pub struct HeldFeatures {
    pub summary: FeatureSummary,
    pub model: ModelRef,
    pub texts: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Trained {
    pub id: RequestId,
    pub head: HeadFile,
    pub report: HeadReport,
    pub set: LabelledSet,
}

/// What runs once the features are in.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Then {
    Train,
    Sweep,
}

#[derive(Clone, Copy)]
pub struct ClassifyState {
    pub link: Link,
    pub held: RwSignal<Vec<HeldModel>>,
    pub tasks: RwSignal<Option<Tasks>>,
    pub presets: RwSignal<Vec<Preset>>,
    /// The preset the examples came from ("" once edited or imported).
    pub preset: RwSignal<String>,
    pub examples: RwSignal<Vec<Example>>,
    /// The model family in use (`None`: the first one held).
    pub arch: RwSignal<Option<Arch>>,
    /// `None`: where the family suits a head ([`suited`]).
    pub layer: RwSignal<Option<usize>>,
    pub pooling: RwSignal<Option<Pooling>>,
    pub settings: RwSignal<HeadSettings>,
    pub test_fraction: RwSignal<f64>,
    pub job: RwSignal<Job>,
    pub features: RwSignal<Option<HeldFeatures>>,
    then: StoredValue<Option<Then>>,
    /// What the features being made are of.
    pending: StoredValue<Option<(ModelRef, Vec<String>)>>,
    pub trained: RwSignal<Option<Trained>>,
    pub sweep: RwSignal<Option<SweepRun>>,
    /// The last finished sweep of each model (for the lessons' read-out).
    pub finished: RwSignal<Vec<SweepRun>>,
    pub own: RwSignal<Option<OwnAnswer>>,
    /// A text typed in to classify, and the trained head's answer to it.
    pub probe: RwSignal<String>,
    pub prediction: RwSignal<Option<(RequestId, Vec<f32>)>>,
    /// What is wrong with the examples or a file, as a sentence.
    pub problem: RwSignal<Option<String>>,
}

impl ClassifyState {
    pub fn new(link: Link, held: RwSignal<Vec<HeldModel>>, tasks: RwSignal<Option<Tasks>>) -> Self {
        Self {
            link,
            held,
            tasks,
            presets: RwSignal::new(Vec::new()),
            preset: RwSignal::new(String::new()),
            examples: RwSignal::new(Vec::new()),
            arch: RwSignal::new(None),
            layer: RwSignal::new(None),
            pooling: RwSignal::new(None),
            settings: RwSignal::new(HeadSettings::default()),
            test_fraction: RwSignal::new(0.25),
            job: RwSignal::new(Job::Idle),
            features: RwSignal::new(None),
            then: StoredValue::new(None),
            pending: StoredValue::new(None),
            trained: RwSignal::new(None),
            sweep: RwSignal::new(None),
            finished: RwSignal::new(Vec::new()),
            own: RwSignal::new(None),
            probe: RwSignal::new(String::new()),
            prediction: RwSignal::new(None),
            problem: RwSignal::new(None),
        }
    }

    /// The held model in use (tracked).
    pub fn model(self) -> Option<HeldModel> {
        let arch = self.arch.get();
        self.held.with(|held| {
            let pick = |a: Arch| held.iter().find(|m| m.info.arch == a).cloned();
            arch.and_then(pick)
                .or_else(|| RUN_ORDER.into_iter().find_map(pick))
        })
    }

    /// The layer and pooling the head reads (tracked).
    pub fn cell(self) -> Option<(usize, Pooling)> {
        let model = self.model()?;
        let (layer, pooling) = suited(&model.info);
        Some((
            self.layer.get().unwrap_or(layer),
            self.pooling.get().unwrap_or(pooling),
        ))
    }

    pub fn busy(self) -> bool {
        !matches!(self.job.get(), Job::Idle)
    }

    /// The examples changed: what was measured on the old ones goes.
    pub fn set_examples(self, examples: Vec<Example>, preset: &str) {
        self.examples.set(examples);
        self.preset.set(preset.to_string());
        self.forget_results();
    }

    pub fn forget_results(self) {
        self.trained.set(None);
        self.sweep.set(None);
        self.own.set(None);
        self.prediction.set(None);
        self.problem.set(None);
    }

    /// The split, or the sentence that says why the examples cannot train.
    fn checked_set(self) -> Option<LabelledSet> {
        let examples = self.examples.get_untracked();
        let seed = self.settings.with_untracked(|s| s.seed);
        match examples::split(&examples, self.test_fraction.get_untracked(), seed) {
            Ok(set) => {
                self.problem.set(None);
                Some(set)
            }
            Err(why) => {
                self.problem.set(Some(why));
                None
            }
        }
    }

    pub fn train(self) {
        self.start(Then::Train);
    }

    pub fn run_sweep(self) {
        self.start(Then::Sweep);
    }

    fn start(self, then: Then) {
        if self.busy() || self.checked_set().is_none() {
            return;
        }
        let Some(model) = self.model_untracked() else {
            self.problem.set(Some(
                "No model is loaded yet: open Models and load one.".into(),
            ));
            return;
        };
        let texts: Vec<String> = self
            .examples
            .with_untracked(|e| e.iter().map(|e| e.text.clone()).collect());
        let model_ref = ModelRef {
            arch: model.info.arch,
            load: model.load,
        };
        let fresh = self.features.with_untracked(|f| {
            f.as_ref()
                .is_some_and(|f| f.model == model_ref && f.texts == texts)
        });
        if fresh {
            self.continue_with(then);
            return;
        }
        let id = worker_link::next_id();
        self.then.set_value(Some(then));
        self.job.set(Job::Features {
            id,
            done: 0,
            total: texts.len(),
        });
        self.pending.set_value(Some((model_ref, texts.clone())));
        if !self.link.send(&Request::Features {
            id,
            model: model_ref,
            texts,
        }) {
            self.job.set(Job::Idle);
        }
    }

    pub fn model_untracked(self) -> Option<HeldModel> {
        untrack(|| self.model())
    }

    fn continue_with(self, then: Then) {
        let (Some(set), Some(features)) = (self.checked_set(), self.features.get_untracked())
        else {
            self.job.set(Job::Idle);
            return;
        };
        let settings = self.settings.get_untracked().clamped();
        let id = worker_link::next_id();
        let request = match then {
            Then::Train => {
                let Some((layer, pooling)) = untrack(|| self.cell()) else {
                    return;
                };
                self.job.set(Job::Training { id });
                Request::TrainHead {
                    id,
                    features: features.summary.id,
                    layer,
                    pooling,
                    set,
                    settings,
                }
            }
            Then::Sweep => {
                let total = features.summary.layers.len() * Pooling::ALL.len();
                self.job.set(Job::Sweeping { id, done: 0, total });
                self.sweep.set(Some(SweepRun {
                    id,
                    model: self
                        .model_untracked()
                        .map(|m| m.info.name)
                        .unwrap_or_default(),
                    arch: self.model_untracked().map(|m| m.info.arch),
                    layers: features.summary.layers.clone(),
                    total,
                    ..SweepRun::default()
                }));
                self.own.set(None);
                Request::Sweep {
                    id,
                    features: features.summary.id,
                    set,
                    settings,
                }
            }
        };
        if !self.link.send(&request) {
            self.job.set(Job::Idle);
        }
    }

    /// Stops the features or the sweep in the worker.
    pub fn cancel(self) {
        let id = match self.job.get_untracked() {
            Job::Features { id, .. } | Job::Sweeping { id, .. } => id,
            _ => return,
        };
        self.link.send(&Request::Cancel { id });
    }

    pub fn on_event(self, event: &Event) {
        let job_id = match self.job.get_untracked() {
            Job::Features { id, .. } | Job::Training { id } | Job::Sweeping { id, .. } => Some(id),
            Job::Idle => None,
        };
        match event {
            Event::FeaturesProgress { id, done, total } if Some(*id) == job_id => {
                self.job.set(Job::Features {
                    id: *id,
                    done: *done,
                    total: *total,
                })
            }
            Event::Features { summary } if Some(summary.id) == job_id => {
                let Some((model, texts)) = self.pending.get_value() else {
                    return;
                };
                self.features.set(Some(HeldFeatures {
                    summary: summary.clone(),
                    model,
                    texts,
                }));
                match self.then.get_value() {
                    Some(then) => self.continue_with(then),
                    None => self.job.set(Job::Idle),
                }
            }
            Event::HeadTrained { id, head, report } if Some(*id) == job_id => {
                let set = self.checked_set().unwrap_or_default();
                self.trained.set(Some(Trained {
                    id: *id,
                    head: (**head).clone(),
                    report: report.clone(),
                    set,
                }));
                self.job.set(Job::Idle);
                self.predict();
            }
            Event::SweepCell {
                id,
                cell,
                done,
                total,
            } if Some(*id) == job_id => {
                self.job.set(Job::Sweeping {
                    id: *id,
                    done: *done,
                    total: *total,
                });
                self.sweep.update(|s| {
                    if let Some(s) = s {
                        s.cells.push(cell.clone())
                    }
                });
            }
            Event::SweepDone { id, baselines, ms } if Some(*id) == job_id => {
                self.sweep.update(|s| {
                    if let Some(s) = s {
                        s.baselines = Some(baselines.clone());
                        s.ms = *ms;
                    }
                });
                if let Some(run) = self.sweep.get_untracked() {
                    self.finished.update(|all| {
                        all.retain(|r| r.model != run.model);
                        all.push(run);
                    });
                }
                self.job.set(Job::Idle);
                self.ask_own_answer();
            }
            Event::Cancelled { id } if Some(*id) == job_id => {
                self.sweep.update(|s| {
                    if let Some(s) = s {
                        s.cancelled = true
                    }
                });
                self.job.set(Job::Idle);
            }
            Event::Error { id: Some(id), .. } if Some(*id) == job_id => {
                self.job.set(Job::Idle);
            }
            Event::Prediction { id, probabilities } => self.prediction.update(|p| {
                if p.as_ref().is_some_and(|(want, _)| want == id) {
                    *p = Some((*id, probabilities.clone()));
                }
            }),
            Event::LabelAnswers { id, shares } => self.own.update(|o| {
                if let Some(o) = o.as_mut().filter(|o| o.id == *id) {
                    o.shares = Some(shares.clone());
                }
            }),
            _ => {}
        }
    }

    /// The worker restarted: it holds no features, and nothing runs.
    pub fn worker_died(self) {
        self.job.set(Job::Idle);
        self.features.set(None);
    }
}
