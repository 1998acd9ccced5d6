//! The mixed-task minibatch panel (d2l 11.9, exercise 1): rows with
//! different task prefixes run as one batch through each held model; the
//! padded ids, the mask, GPT-2's positions, each row's answer beside its
//! answer alone, and the time of the batch against the rows one by one.

use leptos::prelude::*;
use protocol::batch::{BatchResult, Padding};

pub mod state;

use state::{BatchState, ModelBatch, RowInput, MAX_ROWS};

use crate::compare::state::CompareState;

#[component]
pub fn MixedBatch() -> impl IntoView {
    let batch = expect_context::<BatchState>();
    let compare = expect_context::<CompareState>();
    Effect::new(move |_| {
        if compare.shared_tasks().is_empty() {
            return;
        }
        batch.fill_defaults();
    });
    view! {
        <section class="panel" id="mixed-batch">
            <h2>"Mixed-task minibatch"</h2>
            <p class="hint">
                "Rows with different task prefixes go through each model as ONE batch, in one forward \
                 pass per step. GPT-2's rows are padded on the left, with a mask and each row counting \
                 its own positions; T5's input rows are padded on the right, the mask covering the \
                 encoder and the cross-attention. Each row should answer exactly as it does alone."
            </p>
            <RowEditor/>
            <div class="row">
                <button id="batch-run" on:click=move |_| batch.run()
                    disabled=move || batch.running() || compare.held_count() == 0
                        || batch.rows.with(|r| r.is_empty())>
                    "Run as one batch"
                </button>
                <button class="secondary" id="batch-add"
                    disabled=move || batch.rows.with(|r| r.len() >= MAX_ROWS)
                    on:click=move |_| batch.rows.update(|r| r.push(RowInput { task: String::new(), text: String::new() }))>
                    "Add a row"
                </button>
            </div>
            {move || batch.runs.get().into_iter().map(|run| view! { <ModelResult run=run/> }).collect_view()}
        </section>
    }
}

/// A task picker and a text per row.
#[component]
fn RowEditor() -> impl IntoView {
    let batch = expect_context::<BatchState>();
    let compare = expect_context::<CompareState>();
    move || {
        let rows = batch.rows.get();
        rows.into_iter().enumerate().map(|(i, row)| {
            let set = move |f: &dyn Fn(&mut RowInput)| batch.rows.update(|r| if let Some(r) = r.get_mut(i) { f(r) });
            let chosen = row.task.clone();
            view! {
                <div class="row batch-input" data-row=i.to_string()>
                    <select class="batch-task" on:change=move |ev| {
                        let v = event_target_value(&ev);
                        set(&|r| r.task = v.clone())
                    }>
                        <option value="">"(the text as it is)"</option>
                        {compare.shared_tasks().into_iter().map(|(id, name)| {
                            let selected = id == chosen;
                            view! { <option value=id selected=selected>{name}</option> }
                        }).collect_view()}
                    </select>
                    <input type="text" class="batch-text" prop:value=row.text on:change=move |ev| {
                        let v = event_target_value(&ev);
                        set(&|r| r.text = v.clone())
                    }/>
                    <button class="secondary" title="Remove this row"
                        on:click=move |_| batch.rows.update(|r| { r.remove(i); })>"×"</button>
                </div>
            }
        }).collect_view()
    }
}

/// One model's batch: its grids, each row's answer, the timings.
#[component]
fn ModelResult(run: ModelBatch) -> impl IntoView {
    let info = &run.model.info;
    let title = format!("{} · {}", info.name, info.arch.label());
    let body = match (&run.result, run.failed) {
        (Some(result), _) => view! { <BatchBody result=result.clone()/> }.into_any(),
        (None, true) => view! { <p class="notice">"This batch did not run."</p> }.into_any(),
        (None, false) => view! { <p class="notice">"Running…"</p> }.into_any(),
    };
    view! {
        <div class="batch-result" data-arch=info.arch.as_str()
            data-done=run.result.is_some().to_string()>
            <h3>{title}</h3>
            {body}
        </div>
    }
}

#[component]
fn BatchBody(result: BatchResult) -> impl IntoView {
    let side = match result.padding {
        Padding::Left => "padded on the left",
        Padding::Right => "padded on the right",
    };
    // On one CPU thread a batch mostly saves the per-call overhead, and its
    // padding is work too: say what was measured, not what a GPU would do.
    let speed = format!(
        "One batch: {:.0} ms; the rows one by one: {:.0} ms.",
        result.batch_ms, result.alone_ms
    );
    let cells = |grid: &Vec<Vec<u32>>, mask: &Vec<Vec<u8>>| {
        grid.iter()
            .zip(mask)
            .map(|(row, m)| {
                view! {
                    <tr>{row.iter().zip(m).map(|(v, &keep)| view! {
                        <td class:pad=keep == 0>{v.to_string()}</td>
                    }).collect_view()}</tr>
                }
            })
            .collect_view()
    };
    let mask_as_ids: Vec<Vec<u32>> = result
        .mask
        .iter()
        .map(|r| r.iter().map(|&m| m as u32).collect())
        .collect();
    let positions = (!result.positions.is_empty()).then(|| {
        view! {
            <figure><figcaption>"Position ids"</figcaption>
                <table class="id-grid">{cells(&result.positions, &result.mask)}</table></figure>
        }
    });
    view! {
        <p class="stats" data-batch-ms=result.batch_ms.to_string() data-alone-ms=result.alone_ms.to_string()>
            {format!("Input ids {side} with {} (shaded). ", result.pad_id)}{speed}
        </p>
        <div class="grids">
            <figure><figcaption>"Input ids"</figcaption>
                <table class="id-grid batch-ids">{cells(&result.input_ids, &result.mask)}</table></figure>
            <figure><figcaption>"Mask"</figcaption>
                <table class="id-grid">{cells(&mask_as_ids, &result.mask)}</table></figure>
            {positions}
        </div>
        <table class="figures batch-rows">
            <thead><tr><th>"Row"</th><th>"Answer in the batch"</th><th>"Alone"</th><th>"Largest logit difference"</th></tr></thead>
            <tbody>
                {result.rows.iter().map(|row| {
                    let same = row.ids == row.alone_ids;
                    let ids = row.ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(" ");
                    let alone = row.alone_ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(" ");
                    view! {
                        <tr class="batch-row" data-ids=ids data-alone-ids=alone data-same=same.to_string()
                            data-diff=row.max_logit_diff.to_string()>
                            <td><code>{row.prompt.clone()}</code></td>
                            <td class="mono">{row.text.clone()}</td>
                            <td>{if same { "the same tokens" } else { "different tokens" }}</td>
                            <td>{if row.max_logit_diff == 0.0 { "0 (identical)".to_string() } else { format!("{:.1e}", row.max_logit_diff) }}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
