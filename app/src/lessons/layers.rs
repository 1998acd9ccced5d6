//! Exercise 3: where would you add the classification layers? The layer ×
//! pooling sweep runs live on the spam preset for each shipped model, and
//! the read-out says in words what the measured heatmaps show (every
//! sentence is made from the numbers, so it cannot contradict them).

use leptos::prelude::*;
use leptos::task::spawn_local;
use protocol::classify::{Pooling, DECODER_FIRST_STEP};
use protocol::Arch;

use super::Step;
use crate::classify::state::ClassifyState;
use crate::classify::sweep::SweepPanel;
use crate::classify::sweep::SweepRun;
use crate::classify::train::pooling_label;
use crate::classify::JobProgress;

/// Puts the spam preset in the table (if it is not there) and sweeps the
/// held model of `arch`.
fn sweep_spam(state: ClassifyState, arch: Arch) {
    if state.busy() {
        return;
    }
    spawn_local(async move {
        if state.preset.get_untracked() != "spam" {
            state.use_preset("spam").await;
        }
        if state.arch.get_untracked() != Some(arch) {
            state.arch.set(Some(arch));
            state.forget_results();
        }
        state.layer.set(None);
        state.pooling.set(None);
        state.run_sweep();
    });
}

/// The best accuracy in a pooling's column, over one stack's layers (the
/// decoder's first step, one position, is the same in every column).
fn column_best(run: &SweepRun, pooling: Pooling) -> f32 {
    run.cells
        .iter()
        .filter(|c| c.pooling == pooling && !is_decoder(run, c.layer))
        .map(|c| c.accuracy)
        .fold(0.0, f32::max)
}

fn is_decoder(run: &SweepRun, layer: usize) -> bool {
    run.layers
        .get(layer)
        .is_some_and(|l| l == DECODER_FIRST_STEP)
}

fn pct(v: f32) -> String {
    format!("{:.1}%", 100.0 * v)
}

/// What one model's finished sweep shows, in sentences made from it.
#[component]
fn ReadOut(run: SweepRun) -> impl IntoView {
    let Some(b) = run.baselines.clone() else {
        return ().into_any();
    };
    let best = run
        .cells
        .iter()
        .cloned()
        .reduce(|a, c| if c.accuracy > a.accuracy { c } else { a });
    let Some(best) = best else {
        return ().into_any();
    };
    let where_ = if is_decoder(&run, best.layer) {
        "the decoder's first step".to_string()
    } else {
        let layer = run.layers.get(best.layer).cloned().unwrap_or_default();
        format!("{layer}, {}", pooling_label(best.pooling))
    };
    let (first, last, mean) = (
        column_best(&run, Pooling::First),
        column_best(&run, Pooling::Last),
        column_best(&run, Pooling::Mean),
    );
    let design = match run.arch {
        Some(Arch::Gpt2) if first + 0.05 < last => format!(
            "In this causal stack the first token has seen only itself: its column tops out at {}, \
             the last token's at {}.",
            pct(first),
            pct(last)
        ),
        Some(Arch::Gpt2) => format!(
            "Here the first token did about as well as the last ({} vs {}): worth asking why.",
            pct(first),
            pct(last)
        ),
        _ => format!(
            "Every encoder token sees the whole input, so all three poolings work on the encoder: \
             mean up to {}, first {}, last {}.",
            pct(mean),
            pct(first),
            pct(last)
        ),
    };
    let decoder = run
        .cells
        .iter()
        .find(|c| is_decoder(&run, c.layer))
        .map(|c| {
            format!(
                " The decoder's first state, which has read the input only through cross-attention, \
                 reaches {}.",
                pct(c.accuracy)
            )
        })
        .unwrap_or_default();
    let embeddings = if best.layer == 0 {
        " The best layer is the embeddings averaged: a bag of word vectors, before any attention; \
         the blocks add nothing measurable on this task."
    } else {
        ""
    };
    let versus = if b.bag_of_words >= best.accuracy {
        format!(
            "The bag of words, with no model at all, reaches {}: on spam, which words occur carries \
             most of the signal, and models this small add little to it.",
            pct(b.bag_of_words)
        )
    } else {
        format!(
            "That is {:.1} points above the bag of words ({}): the model's states carry more than \
             which words occur.",
            100.0 * (best.accuracy - b.bag_of_words),
            pct(b.bag_of_words)
        )
    };
    view! {
        <li class="readout" data-model=run.model.clone() data-best-layer=best.layer.to_string()
            data-best-pooling=best.pooling.as_str() data-best=best.accuracy.to_string()
            data-majority=b.majority.to_string() data-bow=b.bag_of_words.to_string()>
            <strong>{run.model.clone()}</strong>
            {format!(": the best head reads {where_} ({}), against {} for always saying the majority class. ",
                pct(best.accuracy), pct(b.majority))}
            {design}{decoder}{embeddings}" "{versus}
        </li>
    }
    .into_any()
}

#[component]
pub fn Layers() -> impl IntoView {
    let state = expect_context::<ClassifyState>();
    let held = move |arch: Arch| state.held.with(|h| h.iter().any(|m| m.info.arch == arch));
    view! {
        <Step n=3 question="Where would you add the classification layers?"
            next="open the Classification head tab, train one head at the best cell and type your own messages.">
            <p class="lead">
                "Measure it: a small head on every layer's hidden states, read three ways (the mean over \
                 the tokens, the first token, the last), trained on the same spam emails and tested on \
                 the same held-out ones."
            </p>
            <div class="row">
                {[Arch::Gpt2, Arch::T5].map(|arch| view! {
                    <button class="lesson-action" id=format!("lesson-sweep-{}", arch.as_str())
                        disabled=move || state.busy() || !held(arch)
                        on:click=move |_| sweep_spam(state, arch)>
                        {format!("Sweep {} on spam", arch.label())}
                    </button>
                }).collect_view()}
            </div>
            <ul class="readouts" id="layer-readout">
                {move || state.finished.get().into_iter().map(|run| view! { <ReadOut run=run/> }).collect_view()}
            </ul>
            <JobProgress/>
            <SweepPanel/>
        </Step>
    }
}
