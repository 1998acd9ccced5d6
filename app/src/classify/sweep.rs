//! The measured answer to "where should the classification layers go?": a
//! head at every layer × pooling, its held-out accuracy as a heatmap, beside
//! the baselines any head must beat.

use leptos::prelude::*;
use protocol::classify::{Pooling, DECODER_FIRST_STEP};

use super::own_answer::OwnAnswerPanel;
use protocol::classify::{Baselines, SweepCell};
use protocol::{Arch, RequestId};

use super::state::ClassifyState;
use super::train::pooling_label;

/// One sweep as the page shows it, filled cell by cell.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SweepRun {
    pub id: RequestId,
    pub model: String,
    pub arch: Option<Arch>,
    pub layers: Vec<String>,
    pub cells: Vec<SweepCell>,
    pub total: usize,
    pub baselines: Option<Baselines>,
    pub ms: f64,
    pub cancelled: bool,
}

#[component]
pub fn SweepPanel() -> impl IntoView {
    let state = expect_context::<ClassifyState>();
    view! {
        <section class="panel" id="sweep-panel">
            <h3>"Every layer × pooling"</h3>
            <p class="hint">
                "A fresh head at each layer and pooling, trained on the same rows and tested on the \
                 same held-out rows: the heatmap is the measured answer to where the classification \
                 layers should go."
            </p>
            <button id="run-sweep" on:click=move |_| state.run_sweep()
                disabled=move || state.busy() || state.model().is_none()>
                "Run the sweep"
            </button>
            <div class="sweep-row">
                {move || state.sweep.get().map(|run| view! { <Heatmap run=run/> })}
                <OwnAnswerPanel/>
            </div>
        </section>
    }
}

/// Green for perfect, white at chance: the colour says how far above the
/// majority class a cell is.
fn shade(accuracy: f32, floor: f32) -> String {
    let lift = ((accuracy - floor) / (1.0 - floor).max(1e-6)).clamp(0.0, 1.0);
    format!("background: hsl(140 60% {:.0}%)", 95.0 - 55.0 * lift)
}

#[component]
fn Heatmap(run: SweepRun) -> impl IntoView {
    let floor = run.baselines.as_ref().map_or(0.0, |b| b.majority);
    let best = run
        .cells
        .iter()
        .map(|c| c.accuracy)
        .fold(f32::NEG_INFINITY, f32::max);
    let status = if run.cancelled {
        format!(
            "Cancelled after {} of {} cells.",
            run.cells.len(),
            run.total
        )
    } else if run.baselines.is_some() {
        format!(
            "{} cells in {:.1} s on {}.",
            run.cells.len(),
            run.ms / 1e3,
            run.model
        )
    } else {
        format!("{} of {} cells…", run.cells.len(), run.total)
    };
    let best_cell = run
        .cells
        .iter()
        .find(|c| c.accuracy == best)
        .filter(|_| run.baselines.is_some())
        .map(|c| {
            let layer = run.layers.get(c.layer).cloned().unwrap_or_default();
            view! {
                <p class="stats" id="sweep-best">
                    {format!("Best here: {layer}, {}: {:.1}% of the held-out rows.",
                        pooling_label(c.pooling), 100.0 * c.accuracy)}
                </p>
            }
        });
    let baselines = run.baselines.clone().map(|b| view! {
        <p id="baselines" class="stats" data-majority=b.majority.to_string() data-bow=b.bag_of_words.to_string()>
            {format!("Baselines: always the majority class {:.1}%; bag of words (logistic regression on which of \
                the {} most common token ids occur, no model) {:.1}%.",
                100.0 * b.majority, b.bag_of_words_vocabulary, 100.0 * b.bag_of_words)}
        </p>
    });
    view! {
        <div class="heatmap-box">
            <p id="sweep-status" class="hint" data-cells=run.cells.len().to_string()
                data-total=run.total.to_string() data-cancelled=run.cancelled.to_string()
                data-id=run.id.to_string() data-ms=run.ms.to_string()>{status}</p>
            <table id="sweep-heatmap" class="figures heatmap">
                <thead><tr><th>"Layer"</th>
                    {Pooling::ALL.map(|p| view! { <th>{pooling_label(p)}</th> }).collect_view()}
                </tr></thead>
                <tbody>
                    {run.layers.iter().enumerate().map(|(l, name)| view! {
                        <tr><th>{name.clone()}</th>
                            {Pooling::ALL.map(|p| {
                                match run.cells.iter().find(|c| c.layer == l && c.pooling == p) {
                                    Some(c) => view! {
                                        <td class="sweep-cell" class:best=c.accuracy == best
                                            data-layer=l.to_string() data-pooling=p.as_str()
                                            data-accuracy=c.accuracy.to_string() style=shade(c.accuracy, floor)>
                                            {format!("{:.1}%", 100.0 * c.accuracy)}
                                        </td>
                                    }.into_any(),
                                    None => view! { <td class="sweep-cell pending">"…"</td> }.into_any(),
                                }
                            }).collect_view()}
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            {best_cell}
            {baselines}
            {run.layers.iter().any(|l| l == DECODER_FIRST_STEP).then(|| view! {
                <p class="hint">"The decoder's first step is one position (it has read only the start \
                    token, and the whole encoder through cross-attention), so its three poolings are one state."</p>
            })}
        </div>
    }
}
