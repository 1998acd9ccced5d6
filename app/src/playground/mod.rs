//! The playground: one prompt into the chosen held model, streamed back.

use leptos::prelude::*;
use protocol::GenerationSettings;

use crate::models::Models;

pub mod output;
pub mod state;

use output::{LabelChart, Output, TokenDetail};
use state::PlaygroundState;

/// Prompt, sampling controls, and the streamed continuation.
#[component]
pub fn Playground() -> impl IntoView {
    let play = expect_context::<PlaygroundState>();
    let (prompt, set_prompt) = play.prompt.split();
    let keys = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
            ev.prevent_default();
            play.generate();
        }
    };
    let no_model = move || play.model().is_none() || play.missing_second();
    let has_labels = move || play.current_task().is_some_and(|t| !t.labels.is_empty());
    view! {
        <section class="panel" id="playground">
            <h2>"Playground"</h2>
            <ModelSwitch/>
            <div class="row">
                <label class="inline">"Task"
                    <select id="task-select" on:change=move |ev| play.switch_task(event_target_value(&ev))>
                        <option value="">"(free text)"</option>
                        {move || play.family_tasks().into_iter().map(|t| view! {
                            <option value=t.id.clone() selected=move || play.task.get() == t.id>{t.label.clone()}</option>
                        }).collect_view()}
                    </select>
                </label>
            </div>
            <textarea id="prompt" rows="4" prop:value=prompt on:keydown=keys
                on:input=move |ev| set_prompt.set(event_target_value(&ev))></textarea>
            <SecondText/>
            <Settings settings=play.settings/>
            <div class="row">
                <button id="generate" on:click=move |_| play.generate()
                    disabled=move || no_model() || play.generating()>"Generate"</button>
                <button id="stop" on:click=move |_| play.stop()
                    disabled=move || !play.generating()>"Stop"</button>
                <button id="classify" on:click=move |_| play.classify() disabled=move || no_model() || !has_labels()
                    title="Probability of each label as the model's answer (over all its tokens)">"Label probabilities"</button>
                <span class="hint">"Ctrl+Enter runs, Esc stops"</span>
            </div>
            <LabelChart/>
            <Output/>
            <TokenDetail/>
        </section>
    }
}

/// A pair task's second text (MNLI's premise, STS-B's second sentence),
/// named by the task's separator.
#[component]
fn SecondText() -> impl IntoView {
    let play = expect_context::<PlaygroundState>();
    let (second, set_second) = play.second.split();
    move || {
        play.pair_separator().map(|sep| {
            let name = sep.trim().trim_end_matches(':').to_string();
            view! {
                <label>{format!("Second text ({name}): this task compares two texts")}
                    <textarea id="prompt-second" rows="2" prop:value=second placeholder=format!("the {name}")
                        on:input=move |ev| set_second.set(event_target_value(&ev))></textarea>
                </label>
            }
        })
    }
}

/// The sampling controls; every value passes through
/// [`GenerationSettings::clamped`], the one place settings are kept in range.
#[component]
fn Settings(settings: RwSignal<GenerationSettings>) -> impl IntoView {
    let number = move |id: &'static str,
                       label: &'static str,
                       step: &'static str,
                       get: fn(&GenerationSettings) -> f64,
                       set: fn(&mut GenerationSettings, f64)| {
        view! {
            <label>{label}
                <input id=id type="number" step=step prop:value=move || settings.with(get).to_string()
                    on:change=move |ev| {
                        if let Ok(v) = event_target_value(&ev).parse::<f64>() {
                            settings.update(|s| {
                                set(s, v);
                                *s = s.clone().clamped();
                            });
                        }
                    }/>
            </label>
        }
    };
    view! {
        <div class="settings">
            {number("max-new-tokens", "Max new tokens", "1", |s| s.max_new_tokens as f64,
                |s, v| s.max_new_tokens = v as usize)}
            {number("temperature", "Temperature (0 = greedy)", "0.1", |s| s.temperature,
                |s, v| s.temperature = v)}
            {number("top-k", "Top-k (0 = off)", "1", |s| s.top_k as f64, |s, v| s.top_k = v as usize)}
            {number("top-p", "Top-p", "0.05", |s| s.top_p, |s, v| s.top_p = v)}
            {number("repeat-penalty", "Repetition penalty", "0.05", |s| s.repeat_penalty as f64,
                |s, v| s.repeat_penalty = v as f32)}
            {number("seed", "Seed", "1", |s| s.seed as f64, |s, v| s.seed = v as u64)}
        </div>
    }
}

/// One button per model the worker holds: the pressed one answers here.
/// Switching is instant, both models stay loaded.
#[component]
fn ModelSwitch() -> impl IntoView {
    let models = expect_context::<Models>();
    let play = models.playground;
    view! {
        <div id="model-switch" class="row switch" role="group" aria-label="Model">
            <span class="switch-label">"Model"</span>
            {move || models.held.get().into_iter().map(|m| {
                let arch = m.info.arch;
                let active = move || play.arch.get() == Some(arch);
                view! {
                    <button class="secondary" data-arch=arch.as_str() data-name=m.info.name.clone()
                        data-load=m.load.to_string()
                        class:active=active aria-pressed=move || active().to_string()
                        disabled=move || play.generating()
                        on:click=move |_| models.switch_to(arch)>
                        {format!("{} · {}", m.info.name, arch.label())}
                    </button>
                }
            }).collect_view()}
        </div>
    }
}
