//! The Classify view (d2l 11.9: "where should the layers for a
//! classification task be added?"): a head on any layer and pooling of a
//! held model, trained in the page on the user's labelled examples; the
//! layer × pooling sweep measures the answer; beside it, the model's own
//! answer as text labels.

use leptos::prelude::*;
use protocol::classify::FeatureSummary;

pub mod examples;
pub mod own_answer;
pub mod presets;
pub mod saved;
pub mod state;
pub mod sweep;
pub mod train;

use examples::Examples;
use state::{ClassifyState, Job};
use sweep::SweepPanel;
use train::HeadPanel;

/// The index of the largest value (the first among equals).
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

#[component]
pub fn Classify() -> impl IntoView {
    view! {
        <section class="panel" id="classify">
            <h2>"Classification head: where do the layers go?"</h2>
            <p class="hint">
                "A pretrained model turns a text into hidden states, layer by layer. A small \
                 classifier (the head) on top of one layer's states learns your labels from a few \
                 hundred examples, here in the page. Which layer, and which token's state, works \
                 best? Train one head, or sweep them all."
            </p>
            <ModelChoice/>
            <Examples/>
            <Problem/>
            <JobProgress/>
            <HeadPanel/>
            <SweepPanel/>
        </section>
    }
}

/// Which held model the head reads.
#[component]
fn ModelChoice() -> impl IntoView {
    let state = expect_context::<ClassifyState>();
    move || {
        let held = state.held.get();
        if held.is_empty() {
            return view! { <p class="notice">"No model is loaded yet: open Models and load one."</p> }.into_any();
        }
        let now = state.model().map(|m| m.info.arch);
        view! {
            <fieldset id="classify-model" class="row">
                <legend>"Model"</legend>
                {held.into_iter().map(|m| {
                    let arch = m.info.arch;
                    view! {
                        <label class="inline">
                            <input type="radio" name="classify-model" data-arch=arch.as_str()
                                checked=now == Some(arch)
                                on:change=move |_| {
                                    state.arch.set(Some(arch));
                                    state.layer.set(None);
                                    state.pooling.set(None);
                                    state.forget_results();
                                }/>
                            {format!("{} · {}", m.info.name, arch.label())}
                        </label>
                    }
                }).collect_view()}
            </fieldset>
        }
        .into_any()
    }
}

/// Why the examples or a file cannot be used, in a sentence.
#[component]
fn Problem() -> impl IntoView {
    let state = expect_context::<ClassifyState>();
    move || {
        state.problem.get().map(|why| {
            view! {
                <p id="classify-problem" class="error" role="alert">{why}</p>
            }
        })
    }
}

/// What the worker is doing for this view, with Cancel.
#[component]
pub fn JobProgress() -> impl IntoView {
    let state = expect_context::<ClassifyState>();
    move || {
        let (text, done, total, cancellable) = match state.job.get() {
            Job::Idle => {
                return state
                    .features
                    .get()
                    .map(|f| view! { <FeaturesMade summary=f.summary/> }.into_any())
            }
            Job::Features { done, total, .. } => {
                ("Reading the examples through the model", done, total, true)
            }
            Job::Training { .. } => ("Training the head", 0, 1, false),
            Job::Sweeping { done, total, .. } => {
                ("Training a head per layer and pooling", done, total, true)
            }
        };
        Some(view! {
            <div id="classify-progress" class="row" data-done=done.to_string() data-total=total.to_string()>
                <progress max=total.to_string() value=done.to_string()></progress>
                <span>{format!("{text}: {done} of {total}")}</span>
                {cancellable.then(|| view! {
                    <button id="classify-cancel" class="secondary" on:click=move |_| state.cancel()>"Cancel"</button>
                })}
            </div>
        }.into_any())
    }
}

/// What the held features are: rows, layers, time, and rows cut short.
#[component]
fn FeaturesMade(summary: FeatureSummary) -> impl IntoView {
    let cut = (summary.cut > 0).then(|| {
        format!(
            " {} were longer than the model reads and were cut to their first {} tokens.",
            summary.cut, summary.max_tokens
        )
    });
    view! {
        <p class="hint" id="features-summary" data-rows=summary.rows.to_string()
            data-ms=summary.ms.to_string() data-cut=summary.cut.to_string()>
            {format!("Hidden states of {} examples at {} layers, {} numbers each, made in {:.1} s.",
                summary.rows, summary.layers.len(), summary.dim, summary.ms / 1e3)}
            {cut}
        </p>
    }
}
