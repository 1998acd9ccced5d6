//! The shipped pair's held-out scores per task, side by side, with their
//! parameter budgets and training time (from `models/manifest.json`): the
//! measured answer to "how does a decoder-only model do on
//! sequence-to-sequence tasks?"

use leptos::prelude::*;
use protocol::manifest::{Manifest, ManifestModel};

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
        Some(Ok(m)) => view! { <ScoreTable models=m.models/> }.into_any(),
    }
}

#[component]
fn ScoreTable(models: Vec<ManifestModel>) -> impl IntoView {
    let tasks: Vec<String> = models
        .iter()
        .flat_map(|m| m.scores.held_out.keys().cloned())
        .fold(Vec::new(), |mut all, t| {
            if !all.contains(&t) {
                all.push(t);
            }
            all
        });
    let percent = |v: Option<f64>| {
        v.map(|v| format!("{:.0}%", 100.0 * v))
            .unwrap_or("—".into())
    };
    let name = |m: &ManifestModel| {
        if m.label.is_empty() {
            m.id.clone()
        } else {
            m.label.clone()
        }
    };
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
                    {tasks.into_iter().map(|task| view! {
                        <tr data-task=task.clone()>
                            <th>{task.clone()}</th>
                            {models.iter().map(|m| {
                                let score = m.scores.held_out.get(&task);
                                let exact = score.map(|s| s.exact_match);
                                view! {
                                    <td data-arch=m.arch.as_str() data-exact=exact.map(|v| v.to_string())>
                                        {percent(exact)}
                                        <span class="muted">{format!(" exact · {} words", percent(score.map(|s| s.word_accuracy)))}</span>
                                        <span class="meter" style=format!("width: {:.1}%", 100.0 * exact.unwrap_or(0.0))></span>
                                    </td>
                                }
                            }).collect_view()}
                        </tr>
                    }).collect_view()}
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
            </table>
        </section>
    }
}
