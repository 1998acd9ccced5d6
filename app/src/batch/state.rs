//! The mixed-task batch's rows and what each held model made of them; the
//! models run one after the other, each as one batch and each row alone.

use leptos::prelude::*;
use protocol::batch::BatchResult;
use protocol::tasks::Tasks;
use protocol::{Arch, Event, HeldModel, ModelRef, Request, RequestId};

use crate::compare::state::RUN_ORDER;
use crate::worker_link::{self, Link};

/// The worker's limit on rows (`worker::batch::MAX_ROWS`).
pub const MAX_ROWS: usize = 8;
/// Tokens each row writes: enough for the lab tasks' answers.
const MAX_NEW_TOKENS: usize = 24;

/// One row as the user set it up: a task both families have, and a text.
#[derive(Clone, Debug, PartialEq)]
pub struct RowInput {
    pub task: String,
    pub text: String,
}

/// One model's run of the batch.
#[derive(Clone, Debug)]
pub struct ModelBatch {
    pub id: RequestId,
    pub model: HeldModel,
    pub prompts: Vec<String>,
    pub sent: bool,
    pub result: Option<BatchResult>,
    pub failed: bool,
}

#[derive(Clone, Copy)]
pub struct BatchState {
    link: Link,
    tasks: RwSignal<Option<Tasks>>,
    held: RwSignal<Vec<HeldModel>>,
    pub rows: RwSignal<Vec<RowInput>>,
    pub runs: RwSignal<Vec<ModelBatch>>,
}

impl BatchState {
    pub fn new(link: Link, held: RwSignal<Vec<HeldModel>>, tasks: RwSignal<Option<Tasks>>) -> Self {
        Self {
            link,
            tasks,
            held,
            rows: RwSignal::new(Vec::new()),
            runs: RwSignal::new(Vec::new()),
        }
    }

    /// Three lab tasks with their examples, once the task list is in.
    pub fn fill_defaults(self) {
        if !self.rows.with_untracked(Vec::is_empty) {
            return;
        }
        let rows: Vec<RowInput> = self.tasks.with_untracked(|t| {
            let Some(t) = t else { return Vec::new() };
            ["lab_reverse", "lab_sort", "lab_spam"]
                .iter()
                .filter_map(|id| t.find(Arch::T5, id))
                .map(|task| RowInput {
                    task: task.id.clone(),
                    text: task.example.clone(),
                })
                .collect()
        });
        self.rows.set(rows);
    }

    pub fn running(self) -> bool {
        self.runs
            .with(|r| r.iter().any(|r| r.result.is_none() && !r.failed))
    }

    /// The rows in `arch`'s task forms, and the longest answer their tasks
    /// allow.
    fn prompts_for(self, arch: Arch) -> (Vec<String>, usize) {
        let rows = self.rows.get_untracked();
        self.tasks.with_untracked(|t| {
            let mut longest = 1;
            let prompts = rows
                .iter()
                .map(
                    |row| match t.as_ref().and_then(|t| t.find(arch, &row.task)) {
                        Some(task) => {
                            longest = longest.max(task.max_new_tokens);
                            task.render(&row.text, None)
                        }
                        None => row.text.clone(),
                    },
                )
                .collect();
            (prompts, longest.min(MAX_NEW_TOKENS))
        })
    }

    pub fn run(self) {
        if self.running() {
            return;
        }
        self.link.error.set(None);
        let held = self.held.get_untracked();
        let runs = RUN_ORDER
            .into_iter()
            .filter_map(|arch| held.iter().find(|m| m.info.arch == arch).cloned())
            .map(|model| ModelBatch {
                id: worker_link::next_id(),
                prompts: self.prompts_for(model.info.arch).0,
                model,
                sent: false,
                result: None,
                failed: false,
            })
            .collect();
        self.runs.set(runs);
        self.send_next();
    }

    fn send_next(self) {
        let next = self
            .runs
            .with_untracked(|r| r.iter().find(|r| !r.sent).cloned());
        let Some(run) = next else { return };
        let (_, max_new_tokens) = self.prompts_for(run.model.info.arch);
        self.update(run.id, |r| r.sent = true);
        let sent = self.link.send(&Request::Batch {
            id: run.id,
            model: ModelRef {
                arch: run.model.info.arch,
                load: run.model.load,
            },
            prompts: run.prompts,
            max_new_tokens,
        });
        if !sent {
            self.runs
                .update(|r| r.iter_mut().for_each(|r| r.failed = r.result.is_none()));
        }
    }

    /// Applies `f` to the run `id`; false if `id` is none of ours.
    fn update(self, id: RequestId, f: impl FnOnce(&mut ModelBatch)) -> bool {
        let ours = self.runs.with_untracked(|r| r.iter().any(|r| r.id == id));
        if ours {
            self.runs.update(|runs| {
                if let Some(r) = runs.iter_mut().find(|r| r.id == id) {
                    f(r);
                }
            });
        }
        ours
    }

    pub fn on_event(self, event: &Event) {
        let ours = match event {
            Event::Batch { id, result } => self.update(*id, |r| r.result = Some(result.clone())),
            Event::Error { id: Some(id), .. } => self.update(*id, |r| r.failed = true),
            _ => false,
        };
        // One model's batch ended: the next model's goes out.
        if ours {
            self.send_next();
        }
    }

    pub fn worker_died(self) {
        self.runs
            .update(|r| r.iter_mut().for_each(|r| r.failed = r.result.is_none()));
    }
}
