//! The shipped pair's held-out scores per task, side by side, with their
//! parameter budgets and training time (from `models/manifest.json`): the
//! measured answer to "how does a decoder-only model do on
//! sequence-to-sequence tasks?"

use std::collections::BTreeMap;

use leptos::prelude::*;
use protocol::manifest::{Manifest, ManifestModel, TaskScore};

use crate::fetch::fetch_text;
use crate::model_panel::group_digits;

/// The shipped models' manifest, fetched once it is asked for.
pub fn load_manifest() -> RwSignal<Option<Result<Manifest, String>>> {
    let manifest = RwSignal::new(None::<Result<Manifest, String>>);
    leptos::task::spawn_local(async move {
        let parsed = match fetch_text("models/manifest.json").await {
            Ok(json) => serde_json::from_str::<Manifest>(&json)
                .map_err(|e| format!("the shipped models' manifest is malformed: {e}")),
            Err(e) => Err(format!(
                "the shipped models' scores could not be loaded: {e}"
            )),
        };
        manifest.set(Some(parsed));
    });
    manifest
}

#[component]
pub fn Scores() -> impl IntoView {
    let manifest = load_manifest();
    move || match manifest.get() {
        None => ().into_any(),
        Some(Err(message)) => view! { <p class="notice">{message}</p> }.into_any(),
        Some(Ok(m)) => view! {
            <ScoreTable models=m.models.clone()/>
            <super::pretraining::Pretraining models=m.models/>
        }
        .into_any(),
    }
}

/// The score keys of several tables, in first-seen order.
pub fn keys<'a>(tables: impl Iterator<Item = &'a BTreeMap<String, TaskScore>>) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    for key in tables.flat_map(|t| t.keys()) {
        if !all.contains(key) {
            all.push(key.clone());
        }
    }
    all
}

/// A score key as a class reads it: "reverse (common-words)" is
/// "Reverse the words: common words left out of its training lists". Unknown keys stay as they are.
pub fn task_label(key: &str) -> String {
    let (task, set) = match key.split_once(" (") {
        Some((task, set)) => (task, set.strip_suffix(')')),
        None => (key, None),
    };
    let task = match task {
        "reverse" => "Reverse the words",
        "sort" => "Sort the words",
        "piglatin" => "Pig Latin",
        "blank" => "Fill in the blank",
        "spam" => "Spam or ham",
        other => other,
    };
    match set {
        None => task.to_string(),
        Some("common-words") => format!("{task}: common words left out of its training lists"),
        Some("sentences") => format!("{task}: everyday sentences"),
        Some("messages") => format!("{task}: short messages"),
        Some(other) => format!("{task} ({other})"),
    }
}

pub fn percent(v: Option<f64>) -> String {
    v.map(|v| format!("{:.0}%", 100.0 * v))
        .unwrap_or("—".into())
}

/// One cell: exact match, words in place, and a bar.
#[component]
pub fn ScoreCell(score: Option<TaskScore>, #[prop(into)] arch: String) -> impl IntoView {
    let exact = score.as_ref().map(|s| s.exact_match);
    let words = score.as_ref().map(|s| s.word_accuracy);
    view! {
        <td data-arch=arch data-exact=exact.map(|v| v.to_string())>
            {percent(exact)}
            <span class="muted">{format!(" exact · {} words", percent(words))}</span>
            <span class="meter" style=format!("width: {:.1}%", 100.0 * exact.unwrap_or(0.0))></span>
        </td>
    }
}

/// Rows of one score table per model, a row a score key.
fn score_rows(
    models: &[ManifestModel],
    table: fn(&ManifestModel) -> &BTreeMap<String, TaskScore>,
) -> impl IntoView {
    keys(models.iter().map(table))
        .into_iter()
        .map(|task| {
            view! {
                <tr data-task=task.clone()>
                    <th>{task_label(&task)}</th>
                    {models.iter().map(|m| view! {
                        <ScoreCell score=table(m).get(&task).cloned() arch=m.arch.as_str()/>
                    }).collect_view()}
                </tr>
            }
        })
        .collect_view()
}

#[component]
fn ScoreTable(models: Vec<ManifestModel>) -> impl IntoView {
    let name = |m: &ManifestModel| {
        if m.label.is_empty() {
            m.id.clone()
        } else {
            m.label.clone()
        }
    };
    let has_everyday = models
        .iter()
        .any(|m| !m.scores.out_of_distribution.is_empty());
    let columns = (models.len() + 1).to_string();
    view! {
        <section class="panel" id="shipped-scores">
            <h2>"The shipped pair on held-out examples"</h2>
            <p class="hint">
                "Both were pretrained on the State of the Union addresses (T5 by restoring dropped spans, \
                 GPT-2 by predicting the next token), then fine-tuned on the same tasks with teacher forcing (the right answer is fed in while learning to predict its next token). \
                 T5 reads the task in its encoder and writes the answer in its decoder, which attends to the \
                 encoded input (cross-attention). GPT-2 has no encoder and no cross-attention: input and \
                 answer are one sequence in one causal stack. Exact match: the whole answer right; word \
                 accuracy: words in the right place."
            </p>
            <table class="figures scores">
                <thead>
                    <tr><th>"Task"</th>{models.iter().map(|m| view! {
                        <th data-arch=m.arch.as_str()>{name(m)}</th>
                    }).collect_view()}</tr>
                </thead>
                <tbody>
                    {score_rows(&models, |m| &m.scores.held_out)}
                    <tr><th>"Mean exact match"</th>{models.iter().map(|m| view! {
                        <td>{percent(Some(m.scores.mean_exact_match))}</td>
                    }).collect_view()}</tr>
                    <tr><th>"Parameters trained (without embeddings)"</th>{models.iter().map(|m| view! {
                        <td>{format!("{} ({})", group_digits(m.parameters.trained), group_digits(m.parameters.without_embeddings))}</td>
                    }).collect_view()}</tr>
                    <tr><th>"Training time (pretraining + fine-tuning)"</th>{models.iter().map(|m| {
                        let t = &m.training_seconds;
                        view! { <td>{format!("{:.0} min ({:.0} + {:.0})", t.total / 60.0, t.pretrain / 60.0, t.finetune / 60.0)}</td> }
                    }).collect_view()}</tr>
                </tbody>
                <tbody id="everyday-scores">
                    <Show when=move || has_everyday>
                        <tr class="section"><th colspan=columns.clone()>
                            "On everyday input: lists made only of common words that no training list held \
                             (many occur in State of the Union sentences the shipped models learned to \
                             reverse), everyday sentences, short modern messages"
                        </th></tr>
                    </Show>
                    {score_rows(&models, |m| &m.scores.out_of_distribution)}
                </tbody>
            </table>
        </section>
    }
}
