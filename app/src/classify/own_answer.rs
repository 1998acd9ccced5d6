//! The model's own answer, as text labels: with a task whose label words are
//! the classes (the lab's "spam or ham:" for the spam preset), the share of
//! each label word for every test row, and how often the likeliest is right.
//! No head at all: what pretraining plus the task's fine-tuning gave.

use leptos::prelude::*;
use protocol::examples;
use protocol::tasks::Task;
use protocol::{ModelRef, Request, RequestId};

use super::state::ClassifyState;
use crate::worker_link;

#[derive(Clone, Debug, PartialEq)]
pub struct OwnAnswer {
    pub id: RequestId,
    pub model: String,
    pub task: String,
    /// The label word of each class, in the classes' order.
    pub labels: Vec<String>,
    /// The true class and the text of each test row.
    pub truth: Vec<usize>,
    pub texts: Vec<String>,
    pub shares: Option<Vec<Vec<f32>>>,
}

impl OwnAnswer {
    pub fn accuracy(&self) -> Option<f32> {
        let shares = self.shares.as_ref()?;
        let right = shares
            .iter()
            .zip(&self.truth)
            .filter(|(s, &t)| crate::classify::argmax(s) == t)
            .count();
        Some(right as f32 / self.truth.len().max(1) as f32)
    }
}

impl ClassifyState {
    /// The model's task whose label words are the classes (the preset's
    /// first), with the word for each class; or why there is none.
    pub fn own_task(self) -> Result<(Task, Vec<String>), String> {
        let model = self.model().ok_or("No model is loaded.")?;
        let classes = self.examples.with(|e| examples::classes(e));
        let preset_task = self.preset.with(|id| {
            self.presets
                .with(|p| p.iter().find(|p| &p.id == id).and_then(|p| p.task.clone()))
        });
        self.tasks.with(|tasks| {
            let tasks = tasks.as_ref().ok_or("The task list has not loaded.")?;
            let words_for = |task: &Task| -> Option<Vec<String>> {
                let words: Option<Vec<String>> = classes
                    .iter()
                    .map(|c| task.labels.iter().find(|l| l.trim() == c).cloned())
                    .collect();
                words.filter(|w| w.len() == task.labels.len())
            };
            let candidates = tasks.of(model.info.arch);
            let preferred = preset_task.and_then(|id| candidates.iter().find(|t| t.id == id));
            preferred
                .into_iter()
                .chain(candidates)
                .find_map(|t| words_for(t).map(|w| (t.clone(), w)))
                .ok_or_else(|| {
                    format!(
                        "No task of {} answers with the words {}: the text-label answer needs a task \
                         whose label words are the classes (the spam preset has one).",
                        model.info.name,
                        classes.join(", ")
                    )
                })
        })
    }

    /// Asks the model for its own answer on the test rows.
    pub fn ask_own_answer(self) {
        let Ok((task, labels)) = untrack(|| self.own_task()) else {
            return;
        };
        let (Some(model), Ok(set)) = (
            untrack(|| self.model()),
            self.examples.with_untracked(|e| {
                examples::split(
                    e,
                    self.test_fraction.get_untracked(),
                    self.settings.get_untracked().seed,
                )
            }),
        ) else {
            return;
        };
        let prompts: Vec<String> = self.examples.with_untracked(|e| {
            set.test
                .iter()
                .map(|&r| task.render(&e[r].text, None))
                .collect()
        });
        let id = worker_link::next_id();
        self.own.set(Some(OwnAnswer {
            id,
            model: model.info.name.clone(),
            task: task.label.clone(),
            labels: labels.clone(),
            truth: set.test.iter().map(|&r| set.labels[r]).collect(),
            texts: self
                .examples
                .with_untracked(|e| set.test.iter().map(|&r| e[r].text.clone()).collect()),
            shares: None,
        }));
        self.link.send(&Request::LabelAnswers {
            id,
            model: ModelRef {
                arch: model.info.arch,
                load: model.load,
            },
            prompts,
            labels,
        });
    }
}

#[component]
pub fn OwnAnswerPanel() -> impl IntoView {
    let state = expect_context::<ClassifyState>();
    let body = move || {
        match (state.own.get(), state.own_task()) {
        (_, Err(why)) => view! { <p id="own-answer" class="hint" data-disabled="true">{why}</p> }.into_any(),
        (None, Ok((task, _))) => view! {
            <p id="own-answer" class="hint">
                {format!("After the sweep, the model answers the test rows itself with the task \u{201c}{}\u{201d}.", task.label)}
            </p>
        }.into_any(),
        (Some(own), Ok(_)) => {
            let accuracy = own.accuracy();
            let text = match accuracy {
                Some(a) => format!("{} answering \u{201c}{}\u{201d} with the words {}: {:.1}% right on the {} test rows.",
                    own.model, own.task, own.labels.join(" / "), 100.0 * a, own.truth.len()),
                None => format!("{} is answering the {} test rows…", own.model, own.truth.len()),
            };
            let rows = own.shares.clone().unwrap_or_default();
            view! {
                <div id="own-answer" data-accuracy=accuracy.map(|a| a.to_string()).unwrap_or_default()>
                    <p class="stats">{text}</p>
                    <table class="figures own-shares">
                        <thead><tr><th>"Test text"</th><th>"Class"</th>{own.labels.iter().map(|l| view! { <th>{l.trim().to_string()}</th> }).collect_view()}</tr></thead>
                        <tbody>
                            {rows.iter().zip(&own.truth).zip(&own.texts).take(8).map(|((shares, &truth), text)| view! {
                                <tr><td class="snippet" title=text.clone()>{snippet(text)}</td>
                                    <td>{own.labels[truth].trim().to_string()}</td>
                                    {shares.iter().map(|s| view! { <td>{format!("{:.0}%", 100.0 * s)}</td> }).collect_view()}
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any()
        }
    }
    };
    view! {
        <div class="own-answer">
            <h4>"The model's own answer, as text"</h4>
            {body}
        </div>
    }
}

/// The start of a text, for a table cell.
fn snippet(text: &str) -> String {
    let mut out: String = text.chars().take(36).collect();
    if text.chars().count() > 36 {
        out.push('…');
    }
    out
}
