//! The playground's state: which held model it uses, the prompt, task and
//! settings, and the run streaming in. It owns the worker's run events.

use leptos::prelude::*;
use protocol::tasks::{Task, Tasks};
use protocol::{
    Arch, Event, GenerationSettings, GenerationStats, HeldModel, LabelProbability, ModelInfo,
    ModelRef, Request, RequestId, StopReason, TokenStep,
};

use crate::fetch::fetch_text;
use crate::worker_link::{self, Link};

/// One generation as the page shows it (its tokens are in
/// [`PlaygroundState::steps`], appended as they come).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Run {
    pub id: RequestId,
    /// The model that ran it, as the worker said.
    pub model: String,
    pub prompt_ids: Vec<u32>,
    /// The settings as the worker echoed them back.
    pub echoed: Option<GenerationSettings>,
    pub finished: Option<(StopReason, GenerationStats)>,
}

#[derive(Clone, Copy)]
pub struct PlaygroundState {
    link: Link,
    /// The models the worker holds (written by the model manager).
    pub held: RwSignal<Vec<HeldModel>>,
    /// Which held model the playground uses.
    pub arch: RwSignal<Option<Arch>>,
    /// `static/tasks.json`: task prefixes and prompt formats.
    pub tasks: RwSignal<Option<Tasks>>,
    /// What the user set up: kept in localStorage and in shareable links.
    pub prompt: RwSignal<String>,
    /// A pair task's second text (MNLI's premise): its own input, put after
    /// the task's separator when the prompt goes to the worker.
    pub second: RwSignal<String>,
    pub task: RwSignal<String>,
    pub settings: RwSignal<GenerationSettings>,
    pub run: RwSignal<Option<Run>>,
    /// The current run's tokens, append-only while it streams.
    pub steps: RwSignal<Vec<TokenStep>>,
    /// Selected token of the current run (its alternatives are shown).
    pub selected_step: RwSignal<Option<usize>>,
    pub labels: RwSignal<Option<Vec<LabelProbability>>>,
    /// The label request whose answer the chart waits for: an older one
    /// answering late is dropped.
    labels_request: StoredValue<Option<RequestId>>,
}

impl PlaygroundState {
    pub fn new(link: Link, held: RwSignal<Vec<HeldModel>>) -> Self {
        Self {
            link,
            held,
            arch: RwSignal::new(None),
            tasks: RwSignal::new(None),
            prompt: RwSignal::new("Hello world".to_string()),
            second: RwSignal::new(String::new()),
            task: RwSignal::new(String::new()),
            settings: RwSignal::new(GenerationSettings::default()),
            run: RwSignal::new(None),
            steps: RwSignal::new(Vec::new()),
            selected_step: RwSignal::new(None),
            labels: RwSignal::new(None),
            labels_request: StoredValue::new(None),
        }
    }

    /// The held model the playground uses (tracked).
    pub fn active_model(self) -> Option<HeldModel> {
        let arch = self.arch.get()?;
        self.held
            .with(|h| h.iter().find(|m| m.info.arch == arch).cloned())
    }

    pub fn active_model_untracked(self) -> Option<HeldModel> {
        untrack(|| self.active_model())
    }

    /// What the playground's model is (tracked).
    pub fn model(self) -> Option<ModelInfo> {
        self.active_model().map(|m| m.info)
    }

    /// The tasks of the playground model's family: T5 prefixes or GPT-2
    /// formats (tracked).
    pub fn family_tasks(self) -> Vec<Task> {
        let Some(arch) = self.arch.get() else {
            return Vec::new();
        };
        self.tasks
            .with(|t| t.as_ref().map(|t| t.of(arch).to_vec()))
            .unwrap_or_default()
    }

    /// The chosen task of the playground model's family (tracked).
    pub fn current_task(self) -> Option<Task> {
        let id = self.task.get();
        self.family_tasks().into_iter().find(|t| t.id == id)
    }

    pub fn generating(self) -> bool {
        self.run
            .with(|r| r.as_ref().is_some_and(|r| r.finished.is_none()))
    }

    /// The playground now uses the held model of `arch`. The chosen task
    /// moves to that model's family (a T5 prefix becomes the GPT-2 format
    /// of the same task); the user's own text stays.
    pub fn take(self, arch: Arch) {
        let old = self.arch.get_untracked();
        if old != Some(arch) {
            self.labels.set(None);
            self.labels_request.set_value(None);
            if let Some(old) = old {
                self.carry_task_over(old, arch);
            }
        }
        self.arch.set(Some(arch));
    }

    /// Rewraps the prompt from the task's form for `from` models into its
    /// form for `to` models; a task `to` models lack leaves free text.
    fn carry_task_over(self, from: Arch, to: Arch) {
        let Some(tasks) = self.tasks.get_untracked() else {
            return;
        };
        let id = self.task.get_untracked();
        if id.is_empty() {
            return;
        }
        let prompt = self.prompt.get_untracked();
        let old = tasks.find(from, &id);
        match tasks.find(to, &id) {
            Some(task) => self.use_task(task, task.rewrap(old, &prompt)),
            None => {
                let text = old.and_then(|t| t.strip(&prompt)).unwrap_or(&prompt);
                self.prompt.set(text.to_string());
                self.task.set(String::new());
                self.settings.update(|s| s.stop.clear());
            }
        }
    }

    /// The user picks task `id` of the model's family ("" = free text):
    /// the old task's wrapping comes off, the new one goes on.
    pub fn switch_task(self, id: String) {
        let all = self.family_tasks();
        let old_id = self.task.get_untracked();
        let old = all.iter().find(|t| t.id == old_id);
        let Some(new) = all.iter().find(|t| t.id == id) else {
            self.task.set(String::new());
            return;
        };
        self.use_task(new, new.rewrap(old, &self.prompt.get_untracked()));
        self.labels.set(None);
        self.labels_request.set_value(None);
        self.task.set(id);
    }

    fn use_task(self, task: &Task, prompt: String) {
        // A pair task's example comes with its second text: that goes in the
        // second input; the user's own second text stays there otherwise.
        let prompt = match task
            .second
            .as_deref()
            .and_then(|sep| prompt.split_once(sep))
        {
            Some((first, second)) => {
                self.second.set(second.to_string());
                first.to_string()
            }
            None => prompt,
        };
        self.prompt.set(prompt);
        self.settings.update(|s| {
            s.max_new_tokens = task.max_new_tokens;
            s.stop = task.stop.clone();
        });
    }

    /// The separator of the chosen task when it takes two texts (tracked).
    pub fn pair_separator(self) -> Option<String> {
        self.current_task().and_then(|t| t.second)
    }

    /// A pair task whose second text is still empty: nothing to run yet
    /// (tracked).
    pub fn missing_second(self) -> bool {
        self.pair_separator().is_some() && self.second.with(|s| s.trim().is_empty())
    }

    /// The prompt as the worker gets it: a pair task's two texts joined by
    /// its separator.
    pub fn full_prompt(self) -> String {
        let prompt = self.prompt.get_untracked();
        match untrack(|| self.pair_separator()) {
            Some(sep) => format!("{prompt}{sep}{}", self.second.get_untracked()),
            None => prompt,
        }
    }

    /// The request's name for the playground's model.
    fn model_ref(self) -> Option<ModelRef> {
        self.active_model().map(|m| ModelRef {
            arch: m.info.arch,
            load: m.load,
        })
    }

    pub fn generate(self) {
        if self.generating() || untrack(|| self.missing_second()) {
            return;
        }
        let Some(model) = self.model_ref() else {
            return;
        };
        let id = worker_link::next_id();
        self.link.error.set(None);
        self.selected_step.set(None);
        self.steps.set(Vec::new());
        self.run.set(Some(Run {
            id,
            ..Default::default()
        }));
        let sent = self.link.send(&Request::Generate {
            id,
            model,
            prompt: self.full_prompt(),
            settings: self.settings.get_untracked(),
        });
        if !sent {
            self.run.set(None);
        }
    }

    pub fn stop(self) {
        if let Some(run) = self.run.get_untracked().filter(|r| r.finished.is_none()) {
            self.link.send(&Request::Cancel { id: run.id });
        }
    }

    /// Asks the worker how likely each label word of the task is.
    pub fn classify(self) {
        let (Some(task), Some(model)) = (self.current_task(), self.model_ref()) else {
            return;
        };
        let id = worker_link::next_id();
        self.link.error.set(None);
        self.labels_request.set_value(Some(id));
        self.link.send(&Request::Classify {
            id,
            model,
            prompt: self.full_prompt(),
            labels: task.labels,
        });
    }

    /// Fetches the task list the page and the worker share.
    pub fn load_tasks(self) {
        leptos::task::spawn_local(async move {
            match fetch_text("tasks.json").await {
                Ok(json) => match Tasks::from_json(&json) {
                    Ok(tasks) => self.tasks.set(Some(tasks)),
                    Err(e) => self.link.error.set(Some(e)),
                },
                Err(e) => self
                    .link
                    .error
                    .set(Some(format!("the task list could not be loaded: {e}"))),
            }
        });
    }

    /// The playground's part of what the worker says: its run, its labels.
    pub fn on_event(self, event: &Event) {
        match event {
            Event::Started {
                id,
                model,
                prompt_ids,
                settings,
            } => self.update_run(*id, |r| {
                r.model = model.clone();
                r.prompt_ids = prompt_ids.clone();
                r.echoed = Some(settings.clone());
            }),
            Event::Token { id, step } if self.is_current_run(*id) => {
                self.steps.update(|s| s.push(step.clone()))
            }
            Event::Done { id, reason, stats } => {
                self.update_run(*id, |r| r.finished = Some((*reason, stats.clone())))
            }
            Event::LabelProbabilities { id, labels }
                if self.labels_request.get_value() == Some(*id) =>
            {
                self.labels.set(Some(labels.clone()))
            }
            Event::Error { id: Some(id), .. } => self.end_run(*id),
            _ => {}
        }
    }

    /// The worker died: a run it was streaming ends there.
    pub fn worker_died(self) {
        self.arch.set(None);
        if let Some(id) = self.run.with_untracked(|r| r.as_ref().map(|r| r.id)) {
            self.end_run(id);
        }
    }

    fn end_run(self, id: RequestId) {
        self.update_run(id, |r| {
            r.finished
                .get_or_insert((StopReason::Cancelled, Default::default()));
        });
    }

    fn is_current_run(self, id: RequestId) -> bool {
        self.run
            .with_untracked(|r| r.as_ref().is_some_and(|r| r.id == id))
    }

    fn update_run(self, id: RequestId, f: impl FnOnce(&mut Run)) {
        if self.is_current_run(id) {
            self.run.update(|run| {
                if let Some(run) = run.as_mut() {
                    f(run);
                }
            });
        }
    }
}
