//! What pretraining buys, measured: each shipped model beside the same
//! fine-tuning (same data) from random weights, on the held-out examples and
//! on everyday input, with each one's fine-tuning steps (from
//! `models/manifest.json`).

use leptos::prelude::*;
use protocol::manifest::{ManifestModel, Perplexity};

use super::scores::{keys, percent, ScoreCell};
use crate::model_panel::group_digits;

#[component]
pub fn Pretraining(models: Vec<ManifestModel>) -> impl IntoView {
    let measured: Vec<ManifestModel> = models
        .into_iter()
        .filter(|m| m.scores.from_scratch.is_some())
        .collect();
    if measured.is_empty() {
        return ().into_any();
    }
    let rows = keys(
        measured
            .iter()
            .flat_map(|m| [&m.scores.held_out, &m.scores.out_of_distribution].into_iter()),
    );
    let label = |m: &ManifestModel| {
        if m.label.is_empty() {
            m.id.clone()
        } else {
            m.label.clone()
        }
    };
    view! {
        <section class="panel" id="what-pretraining-buys">
            <h2>"What pretraining buys"</h2>
            <p class="hint">
                "Each shipped model was pretrained on the State of the Union addresses, then fine-tuned on the \
                 tasks. Beside it, the same fine-tuning (same examples; the steps are in the last row) \
                 started from random weights instead. The difference is what the pretraining stage contributed. \
                 At this scale (minutes of pretraining on one speech archive) it is small or none for some \
                 tasks: the chapter's gains come from far more text and compute."
            </p>
            <table class="figures scores">
                <thead>
                    <tr><th>"Task"</th>{measured.iter().map(|m| view! {
                        <th data-arch=m.arch.as_str()>{format!("{}: pretrained", label(m))}</th>
                        <th data-arch=m.arch.as_str()>"from scratch"</th>
                    }).collect_view()}</tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|task| view! {
                        <tr data-task=task.clone()>
                            <th>{super::scores::task_label(&task)}</th>
                            {measured.iter().map(|m| {
                                let scratch = m.scores.from_scratch.as_ref();
                                let pick = |t: &std::collections::BTreeMap<String, _>| t.get(&task).cloned();
                                let pretrained = pick(&m.scores.held_out).or_else(|| pick(&m.scores.out_of_distribution));
                                let from_scratch = scratch.and_then(|s| pick(&s.held_out).or_else(|| pick(&s.out_of_distribution)));
                                view! {
                                    <ScoreCell score=pretrained arch=m.arch.as_str()/>
                                    <ScoreCell score=from_scratch arch=format!("{}-scratch", m.arch.as_str())/>
                                }
                            }).collect_view()}
                        </tr>
                    }).collect_view()}
                    <tr data-task="mean"><th>"Mean exact match (held out)"</th>{measured.iter().map(|m| view! {
                        <td data-arch=m.arch.as_str()>{percent(Some(m.scores.mean_exact_match))}</td>
                        <td data-arch=format!("{}-scratch", m.arch.as_str())
                            data-exact=m.scores.from_scratch.as_ref().map(|s| s.mean_exact_match.to_string())>
                            {percent(m.scores.from_scratch.as_ref().map(|s| s.mean_exact_match))}
                        </td>
                    }).collect_view()}</tr>
                    <tr data-task="perplexity">
                        <th title="T5: guessing masked spans of the text; GPT-2: guessing the next token">
                            "Perplexity on held-out addresses (the pretraining task; lower is better)"
                        </th>
                        {measured.iter().map(|m| {
                            let scratch = m.scores.from_scratch.as_ref().and_then(|s| s.perplexity.clone());
                            view! {
                                <PerplexityCell perplexity=m.scores.perplexity.clone() arch=m.arch.as_str().to_string()/>
                                <PerplexityCell perplexity=scratch arch=format!("{}-scratch", m.arch.as_str())/>
                            }
                        }).collect_view()}
                    </tr>
                    <tr data-task="finetune-steps"><th>"Fine-tuning steps"</th>{measured.iter().map(|m| {
                        let steps = |n: Option<usize>| n.map(|n| n.to_string());
                        let shown = |n: Option<usize>| {
                            n.map(|n| group_digits(n as u64)).unwrap_or_else(|| "—".into())
                        };
                        let scratch = m.scores.from_scratch.as_ref().and_then(|s| s.finetune_steps);
                        view! {
                            <td data-arch=m.arch.as_str() data-steps=steps(m.finetune_steps())>
                                {shown(m.finetune_steps())}
                            </td>
                            <td data-arch=format!("{}-scratch", m.arch.as_str()) data-steps=steps(scratch)>
                                {shown(scratch)}
                            </td>
                        }
                    }).collect_view()}</tr>
                </tbody>
            </table>
        </section>
    }
    .into_any()
}

/// One model's perplexity, rounded to a whole number; the exact figure in
/// `data-perplexity` for the tests.
#[component]
fn PerplexityCell(perplexity: Option<Perplexity>, arch: String) -> impl IntoView {
    let exact = perplexity.as_ref().map(|p| p.perplexity.to_string());
    let shown = perplexity
        .map(|p| group_digits(p.perplexity.round() as u64))
        .unwrap_or_else(|| "—".into());
    view! { <td data-arch=arch data-perplexity=exact>{shown}</td> }
}
