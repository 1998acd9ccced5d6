//! Per model, measured: size, memory, load and run times, and what each
//! design computes for one generated token. A table with small bars, each
//! bar scaled to the larger of the two models in its row.

use leptos::prelude::*;
use protocol::{Arch, HeldModel};

use super::state::{Column, CompareState};
use crate::model_panel::{bytes, group_digits};

/// One row: a figure per model (None: not measured yet).
struct Row {
    key: &'static str,
    label: &'static str,
    values: Vec<Option<f64>>,
    show: fn(f64) -> String,
}

fn count(n: f64) -> String {
    group_digits(n as u64)
}
fn size(n: f64) -> String {
    bytes(n as u64)
}
fn millis(n: f64) -> String {
    format!("{n:.0} ms")
}
fn rate(n: f64) -> String {
    format!("{n:.1} tok/s")
}

#[component]
pub fn Figures() -> impl IntoView {
    let compare = expect_context::<CompareState>();
    move || {
        let held = compare.held_models();
        if held.is_empty() {
            return ().into_any();
        }
        let columns = compare.columns.get();
        let run_of = |m: &HeldModel| {
            columns
                .iter()
                .find(|c| c.model.load == m.load && c.finished.is_some())
                .cloned()
        };
        let runs: Vec<Option<Column>> = held.iter().map(run_of).collect();
        let per_model = |f: &dyn Fn(&HeldModel, Option<&Column>) -> Option<f64>| {
            held.iter()
                .zip(&runs)
                .map(|(m, r)| f(m, r.as_ref()))
                .collect::<Vec<_>>()
        };
        let stats =
            |c: Option<&Column>| c.and_then(|c| c.finished.as_ref().map(|(_, s)| s.clone()));
        let rows = vec![
            Row {
                key: "parameters",
                label: "Parameters",
                show: count,
                values: per_model(&|m, _| Some(m.info.parameters as f64)),
            },
            Row {
                key: "embedding-parameters",
                label: "· in the embedding tables",
                show: count,
                values: per_model(&|m, _| Some(m.info.embedding_parameters as f64)),
            },
            Row {
                key: "other-parameters",
                label: "· in the blocks and head",
                show: count,
                values: per_model(&|m, _| {
                    Some(
                        m.info
                            .parameters
                            .saturating_sub(m.info.embedding_parameters)
                            as f64,
                    )
                }),
            },
            Row {
                key: "file-bytes",
                label: "Weights file",
                show: size,
                values: per_model(&|m, _| m.files.first().map(|f| f.bytes as f64)),
            },
            Row {
                key: "memory-bytes",
                label: "Memory the worker holds for it",
                show: size,
                values: per_model(&|m, _| Some(m.info.memory_bytes as f64)),
            },
            Row {
                key: "load-ms",
                label: "Load time (files + build)",
                show: millis,
                values: per_model(&|m, _| Some(m.load_ms)),
            },
            Row {
                key: "first-token-ms",
                label: "Time to first token",
                show: millis,
                values: per_model(&|_, c| c.and_then(Column::time_to_first_token)),
            },
            Row {
                key: "prefill-tok-s",
                label: "Prefill (reading the input)",
                show: rate,
                values: per_model(&|_, c| stats(c).map(|s| s.prefill_tok_s)),
            },
            Row {
                key: "decode-tok-s",
                label: "Decode (writing the answer)",
                show: rate,
                values: per_model(&|_, c| stats(c).map(|s| s.decode_tok_s)),
            },
        ];
        let work = held
            .iter()
            .zip(&runs)
            .map(|(m, r)| work_per_token(m, r.as_ref()))
            .collect::<Vec<_>>();
        view! {
            <table id="compare-figures" class="figures">
                <thead><tr><th></th>{held.iter().map(|m| view! {
                    <th data-arch=m.info.arch.as_str()>{format!("{} · {}", m.info.name, m.info.arch.label())}</th>
                }).collect_view()}</tr></thead>
                <tbody>
                    {rows.into_iter().map(|row| view! { <FigureRow row=row held=held.clone()/> }).collect_view()}
                    <tr data-key="work"><th>"Work per generated token"</th>
                        {work.into_iter().map(|w| view! { <td class="work">{w}</td> }).collect_view()}
                    </tr>
                </tbody>
            </table>
            <p class="hint">"Memory is what the worker's allocator holds for the model once built: \
                quantized matrices, plus tables kept in f32. Times are this browser's, for the last Run. \
                Each model is warmed up as it loads (a short run thrown away, counted in its load time), \
                so a first run is as fast as the next. A few tokens make a noisy tok/s."</p>
        }
        .into_any()
    }
}

#[component]
fn FigureRow(row: Row, held: Vec<HeldModel>) -> impl IntoView {
    let largest = row.values.iter().flatten().fold(0.0f64, |a, b| a.max(*b));
    view! {
        <tr data-key=row.key>
            <th>{row.label}</th>
            {row.values.iter().zip(&held).map(|(v, m)| {
                let arch = m.info.arch.as_str();
                match v {
                    Some(v) => {
                        let width = if largest > 0.0 { 100.0 * v / largest } else { 0.0 };
                        view! {
                            <td data-arch=arch data-value=v.to_string()>
                                {(row.show)(*v)}
                                <span class="meter" style=format!("width: {width:.1}%")></span>
                            </td>
                        }.into_any()
                    }
                    None => view! { <td data-arch=arch class="muted">"run to measure"</td> }.into_any(),
                }
            }).collect_view()}
        </tr>
    }
}

/// What one more token costs each design, with this run's lengths.
fn work_per_token(model: &HeldModel, run: Option<&Column>) -> String {
    let info = &model.info;
    let (n, t) = run
        .and_then(|c| {
            c.finished
                .as_ref()
                .map(|(_, s)| (s.prompt_tokens, s.generated_tokens))
        })
        .unwrap_or((0, 0));
    let lengths = run.is_some();
    match info.arch {
        Arch::Gpt2 => {
            let span = if lengths {
                format!(
                    ", the last one attends over {} positions (prompt {n} + answer {t})",
                    n + t
                )
            } else {
                String::new()
            };
            format!(
                "all {} blocks of one causal stack; each new token attends over the prompt and \
                 everything written so far{span}. No encoder–decoder attention.",
                info.layers
            )
        }
        Arch::T5 => {
            let decoder = info.layers - info.encoder_layers;
            let once = if lengths {
                format!(
                    "The encoder ran once: {} blocks over {n} input tokens, each seeing all {n}. ",
                    info.encoder_layers
                )
            } else {
                format!(
                    "The encoder runs once over the input ({} blocks, each token sees all). ",
                    info.encoder_layers
                )
            };
            let per = if lengths {
                format!(": self-attention over at most {t} answer tokens, cross-attention over the {n} encoded inputs")
            } else {
                ": self-attention over the answer so far, cross-attention over the encoded input"
                    .to_string()
            };
            format!("{once}Each new token runs {decoder} decoder blocks{per}.")
        }
    }
}
