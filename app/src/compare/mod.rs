//! Decoder-only vs encoder–decoder, side by side: one input, written in each
//! family's form, through both held models; what each answered, what it
//! cost, and how the shipped pair scores on every task.

use leptos::prelude::*;
use protocol::Arch;

mod figures;
mod pretraining;
pub mod scores;
pub mod state;

use crate::attention::state::AttentionState;
use crate::attention::AttentionMaps;
use crate::batch::MixedBatch;
use figures::Figures;
use scores::Scores;
use state::{Column, CompareState};

#[component]
pub fn Compare() -> impl IntoView {
    let compare = expect_context::<CompareState>();
    let (text, set_text) = compare.text.split();
    let keys = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
            ev.prevent_default();
            compare.run();
        }
    };
    let models = move || compare.held_count();
    view! {
        <section class="panel" id="compare">
            <h2>"Decoder-only vs encoder–decoder"</h2>
            <p class="hint">
                "One input through both models. GPT-2 reads prompt and answer in one causal stack; "
                "T5 encodes the input once, then its decoder writes the answer while attending to it. "
                "GPT-2 runs first, then T5, so each model's timings are its own."
            </p>
            <div class="row">
                <label class="inline">"Task"
                    <select id="compare-task" on:change=move |ev| compare.switch_task(event_target_value(&ev))>
                        <option value="">"(the text as it is)"</option>
                        {move || compare.shared_tasks().into_iter().map(|(id, name)| {
                            let selected = {
                                let id = id.clone();
                                move || compare.task.get() == id
                            };
                            view! { <option value=id selected=selected>{name}</option> }
                        }).collect_view()}
                    </select>
                </label>
            </div>
            <textarea id="compare-text" rows="3" prop:value=text on:keydown=keys
                placeholder="Your text: each model gets it in its own task form"
                on:input=move |ev| set_text.set(event_target_value(&ev))></textarea>
            <div class="row">
                <button id="compare-run" on:click=move |_| compare.run()
                    disabled=move || models() == 0 || compare.running()>"Run both"</button>
                <button id="compare-stop" class="secondary" on:click=move |_| compare.stop()
                    disabled=move || !compare.running()>"Stop"</button>
                <span class="hint">{move || match models() {
                    0 => "No model is loaded yet: open Models to load one.".to_string(),
                    1 => "Only one model is loaded: load the other family under Models to compare.".to_string(),
                    _ => "Ctrl+Enter runs, Esc stops".to_string(),
                }}</span>
            </div>
            <div class="columns">
                {move || compare.columns.get().into_iter().map(|c| view! { <CompareColumn column=c/> }).collect_view()}
            </div>
            <AttentionMaps/>
            <Figures/>
        </section>
        <MixedBatch/>
        <Scores/>
    }
}

/// What one model was given and what it answered, streamed.
#[component]
fn CompareColumn(column: Column) -> impl IntoView {
    let steps = column.steps;
    let arch = column.model.info.arch;
    let attention = expect_context::<AttentionState>();
    let can_show = column.finished.is_some() && !column.prompt_ids.is_empty();
    let show_attention = {
        let column = column.clone();
        move |_| {
            let output = column
                .steps
                .with_untracked(|s| s.iter().map(|s| s.id).collect());
            attention.request(&column.model, column.prompt_ids.clone(), output);
        }
    };
    let ids = move || {
        steps.with(|s| {
            s.iter()
                .map(|s| s.id.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        })
    };
    // GPT-2's first token carries the space that followed its prompt.
    let text = move || {
        steps.with(|s| {
            let text: String = s.iter().map(|s| s.text.as_str()).collect();
            text.trim().to_string()
        })
    };
    let reason = column
        .finished
        .as_ref()
        .map(|(r, _)| format!("{r:?}"))
        .unwrap_or_default();
    let status = match (&column.finished, column.sent_ms) {
        (Some((reason, stats)), _) => format!(
            "{} new tokens at {:.1} tok/s — stopped: {reason:?}",
            stats.generated_tokens, stats.decode_tok_s
        ),
        (None, Some(_)) => "Generating…".to_string(),
        (None, None) => "Waiting for the other model to finish…".to_string(),
    };
    let design = match arch {
        Arch::Gpt2 => "input and answer in one causal stack",
        Arch::T5 => "the encoder reads, the decoder writes",
    };
    let prompt_ids = column
        .prompt_ids
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    view! {
        <div class="compare-column" data-arch=arch.as_str() data-run=column.id.to_string()
            data-ids=ids data-reason=reason data-prompt-ids=prompt_ids>
            <h3>{format!("{} · {}", column.model.info.name, arch.label())}<span class="muted">{format!(" — {design}")}</span></h3>
            <p class="compare-prompt"><span class="muted">"Input: "</span><code>{column.prompt}</code></p>
            <p class="output compare-output">{text}</p>
            <p class="stats">{status}</p>
            <button class="secondary show-attention" data-arch=arch.as_str() on:click=show_attention
                disabled=move || !can_show || attention.waiting.get()>"Show its attention"</button>
        </div>
    }
}
