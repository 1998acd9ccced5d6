//! The comparison's state: one input, one task, and a run per held model.
//! The worker runs them one after the other (GPT-2 first, then T5), so each
//! model's timings are its own; it owns those runs' events.

use leptos::prelude::*;
use protocol::tasks::Tasks;
use protocol::{
    Arch, Event, GenerationSettings, GenerationStats, HeldModel, ModelRef, Request, RequestId,
    StopReason, TokenStep,
};

use crate::fetch::now_ms;
use crate::worker_link::{self, Link};

/// The order the models run in: the decoder-only model first.
pub const RUN_ORDER: [Arch; 2] = [Arch::Gpt2, Arch::T5];

/// One model's run of the shared input.
#[derive(Clone, Debug)]
pub struct Column {
    pub id: RequestId,
    pub model: HeldModel,
    /// The input in this family's form (T5 prefix or GPT-2 format).
    pub prompt: String,
    pub settings: GenerationSettings,
    /// `performance.now()` when the request went out (None: still queued).
    pub sent_ms: Option<f64>,
    pub first_token_ms: Option<f64>,
    pub prompt_ids: Vec<u32>,
    /// Its tokens, append-only while it streams.
    pub steps: RwSignal<Vec<TokenStep>>,
    pub finished: Option<(StopReason, GenerationStats)>,
}

impl Column {
    /// Milliseconds from sending the request to the first token.
    pub fn time_to_first_token(&self) -> Option<f64> {
        Some(self.first_token_ms? - self.sent_ms?)
    }
}

#[derive(Clone, Copy)]
pub struct CompareState {
    link: Link,
    held: RwSignal<Vec<HeldModel>>,
    tasks: RwSignal<Option<Tasks>>,
    /// The user's own text, without any task's wrapping.
    pub text: RwSignal<String>,
    /// Task id both families have ("" = the text as it is).
    pub task: RwSignal<String>,
    /// The runs of the last Run press, in [`RUN_ORDER`].
    pub columns: RwSignal<Vec<Column>>,
}

impl CompareState {
    pub fn new(link: Link, held: RwSignal<Vec<HeldModel>>, tasks: RwSignal<Option<Tasks>>) -> Self {
        Self {
            link,
            held,
            tasks,
            text: RwSignal::new(String::new()),
            task: RwSignal::new(String::new()),
            columns: RwSignal::new(Vec::new()),
        }
    }

    /// The held models in [`RUN_ORDER`] (tracked).
    pub fn held_models(self) -> Vec<HeldModel> {
        self.held.with(|h| {
            RUN_ORDER
                .into_iter()
                .filter_map(|arch| h.iter().find(|m| m.info.arch == arch).cloned())
                .collect()
        })
    }

    pub fn held_count(self) -> usize {
        self.held.with(|h| h.len())
    }

    /// The tasks written for both families, as (id, name) pairs (tracked).
    pub fn shared_tasks(self) -> Vec<(String, String)> {
        self.tasks.with(|t| {
            let Some(t) = t else { return Vec::new() };
            t.t5.iter()
                .filter(|task| t.find(Arch::Gpt2, &task.id).is_some())
                .map(|task| (task.id.clone(), shared_name(&task.label)))
                .collect()
        })
    }

    /// The input as `arch`'s models take it (tracked).
    pub fn prompt_for(self, arch: Arch) -> String {
        let text = self.text.get();
        let id = self.task.get();
        self.tasks
            .with(|t| {
                t.as_ref()
                    .and_then(|t| t.find(arch, &id))
                    .map(|task| task.render(&text, None))
            })
            .unwrap_or(text)
    }

    /// Picks a task; an empty input gets the task's example.
    pub fn switch_task(self, id: String) {
        if self.text.get_untracked().trim().is_empty() {
            let example = self.tasks.with_untracked(|t| {
                t.as_ref()
                    .and_then(|t| t.find(Arch::T5, &id))
                    .map(|task| task.example.clone())
            });
            if let Some(example) = example {
                self.text.set(example);
            }
        }
        self.task.set(id);
    }

    pub fn running(self) -> bool {
        self.columns
            .with(|c| c.iter().any(|c| c.finished.is_none()))
    }

    /// Greedy, with the task's length and stop strings for that family, so a
    /// column's tokens are what the playground gives for the same task.
    fn settings_for(self, arch: Arch) -> GenerationSettings {
        let id = self.task.get_untracked();
        let task = self
            .tasks
            .with_untracked(|t| t.as_ref().and_then(|t| t.find(arch, &id)).cloned());
        let mut settings = GenerationSettings::default();
        if let Some(task) = task {
            settings.max_new_tokens = task.max_new_tokens;
            settings.stop = task.stop;
        }
        settings
    }

    /// Runs the input through every held model, one after the other.
    pub fn run(self) {
        if self.running() {
            return;
        }
        self.link.error.set(None);
        let columns: Vec<Column> = untrack(|| self.held_models())
            .into_iter()
            .map(|model| Column {
                id: worker_link::next_id(),
                prompt: self.prompt_for_untracked(model.info.arch),
                settings: self.settings_for(model.info.arch),
                model,
                sent_ms: None,
                first_token_ms: None,
                prompt_ids: Vec::new(),
                steps: RwSignal::new(Vec::new()),
                finished: None,
            })
            .collect();
        self.columns.set(columns);
        self.send_next();
    }

    fn prompt_for_untracked(self, arch: Arch) -> String {
        untrack(|| self.prompt_for(arch))
    }

    /// Sends the first queued run; none left means the comparison is done.
    fn send_next(self) {
        let next = self.columns.with_untracked(|c| {
            c.iter()
                .find(|c| c.sent_ms.is_none() && c.finished.is_none())
                .cloned()
        });
        let Some(column) = next else { return };
        self.update(column.id, |c| c.sent_ms = Some(now_ms()));
        let sent = self.link.send(&Request::Generate {
            id: column.id,
            model: ModelRef {
                arch: column.model.info.arch,
                load: column.model.load,
            },
            prompt: column.prompt,
            settings: column.settings,
        });
        if !sent {
            self.end_all();
        }
    }

    /// Stops the run streaming now and drops the ones still queued.
    pub fn stop(self) {
        let (streaming, queued): (Vec<_>, Vec<_>) = self.columns.with_untracked(|c| {
            c.iter()
                .filter(|c| c.finished.is_none())
                .map(|c| (c.id, c.sent_ms.is_some()))
                .partition(|(_, sent)| *sent)
        });
        for (id, _) in queued {
            self.update(id, |c| {
                c.finished = Some((StopReason::Cancelled, Default::default()))
            });
        }
        for (id, _) in streaming {
            self.link.send(&Request::Cancel { id });
        }
    }

    fn end_all(self) {
        self.columns.update(|cs| {
            for c in cs.iter_mut().filter(|c| c.finished.is_none()) {
                c.finished = Some((StopReason::Cancelled, Default::default()));
            }
        });
    }

    /// Applies `f` to the run `id`; false if `id` is none of ours.
    fn update(self, id: RequestId, f: impl FnOnce(&mut Column)) -> bool {
        let ours = self
            .columns
            .with_untracked(|c| c.iter().any(|c| c.id == id));
        if ours {
            self.columns.update(|cs| {
                if let Some(c) = cs.iter_mut().find(|c| c.id == id) {
                    f(c);
                }
            });
        }
        ours
    }

    fn steps_of(self, id: RequestId) -> Option<RwSignal<Vec<TokenStep>>> {
        self.columns
            .with_untracked(|c| c.iter().find(|c| c.id == id).map(|c| c.steps))
    }

    /// The comparison's part of what the worker says.
    pub fn on_event(self, event: &Event) {
        match event {
            Event::Started { id, prompt_ids, .. } => {
                self.update(*id, |c| c.prompt_ids = prompt_ids.clone());
            }
            Event::Token { id, step } => {
                if let Some(steps) = self.steps_of(*id) {
                    if steps.with_untracked(|s| s.is_empty()) {
                        self.update(*id, |c| c.first_token_ms = Some(now_ms()));
                    }
                    steps.update(|s| s.push(step.clone()));
                }
            }
            _ => {}
        }
        let ended = match event {
            Event::Done { id, reason, stats } => {
                self.update(*id, |c| c.finished = Some((*reason, stats.clone())))
            }
            Event::Error { id: Some(id), .. } => self.update(*id, |c| {
                c.finished = Some((StopReason::Cancelled, Default::default()))
            }),
            _ => false,
        };
        // One model's run ended: the next model's goes out.
        if ended {
            self.send_next();
        }
    }

    /// The worker died: nothing of the comparison is still coming.
    pub fn worker_died(self) {
        self.end_all();
    }
}

/// A task's name without the family the label was written for.
fn shared_name(label: &str) -> String {
    label
        .trim_end_matches(" (lab T5)")
        .trim_end_matches(" (lab GPT-2)")
        .to_string()
}
