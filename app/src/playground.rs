use leptos::prelude::*;
use protocol::tasks::Task;
use protocol::{GenerationSettings, Request};

use crate::lab::{Lab, Run};
use crate::worker_link;

/// Prompt, sampling controls, and the streamed continuation.
#[component]
pub fn Playground() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let (prompt, set_prompt) = lab.prompt.split();
    let settings = lab.settings;
    let generate = move || {
        if lab.generating() {
            return;
        }
        let id = worker_link::next_id();
        let s = settings.get_untracked();
        lab.error.set(None);
        lab.selected_step.set(None);
        lab.run.set(Some(Run {
            id,
            max_new_tokens: s.max_new_tokens,
            temperature: s.temperature,
            ..Default::default()
        }));
        worker_link::send(&Request::Generate {
            id,
            arch: lab.playground_arch.get_untracked(),
            prompt: prompt.get_untracked(),
            settings: s,
        });
    };
    let stop = move || {
        if let Some(run) = lab.run.get_untracked().filter(|r| r.finished.is_none()) {
            worker_link::send(&Request::Cancel { id: run.id });
        }
    };
    let keys = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
            ev.prevent_default();
            generate();
        } else if ev.key() == "Escape" {
            stop();
        }
    };
    let no_model = move || lab.model().is_none();
    // The tasks of the loaded model's family: T5 prefixes or GPT-2 formats.
    let tasks = move || -> Vec<Task> {
        let arch = lab.model().map(|m| m.arch);
        lab.tasks.with(|t| match (t, arch.as_deref()) {
            (Some(t), Some("t5")) => t.t5.clone(),
            (Some(t), Some(_)) => t.gpt2.clone(),
            _ => Vec::new(),
        })
    };
    let (task_id, set_task_id) = lab.task.split();
    let current_task = move || tasks().into_iter().find(|t| t.id == task_id.get());
    // Switching task rewrites the prompt: the old task's wrapping comes off,
    // the new one goes on, the user's own text stays.
    let switch_task = move |ev| {
        let id = event_target_value(&ev);
        let all = tasks();
        let old = all.iter().find(|t| t.id == task_id.get_untracked());
        let Some(new) = all.iter().find(|t| t.id == id) else {
            set_task_id.set(String::new());
            return;
        };
        let current = prompt.get_untracked();
        let text = match old.and_then(|t| t.strip(&current)) {
            Some(inner) => inner.to_string(),
            None if current.trim().is_empty() => new.example.clone(),
            None => current.clone(),
        };
        let second = new
            .example_second
            .as_deref()
            .filter(|_| text == new.example);
        set_prompt.set(new.render(&text, second));
        settings.update(|s| {
            s.max_new_tokens = new.max_new_tokens;
            s.stop = new.stop.clone();
        });
        lab.labels.set(None);
        set_task_id.set(id);
    };
    let classify = move |_| {
        if let Some(task) = current_task() {
            lab.error.set(None);
            worker_link::send(&Request::Classify {
                id: worker_link::next_id(),
                arch: lab.playground_arch.get_untracked(),
                prompt: prompt.get_untracked(),
                labels: task.labels,
            });
        }
    };
    let has_labels = move || current_task().is_some_and(|t| !t.labels.is_empty());
    view! {
        <section class="panel" id="playground">
            <h2>"Playground"</h2>
            <ModelSwitch/>
            <div class="row">
                <label class="inline">"Task"
                    <select id="task-select" on:change=switch_task>
                        <option value="">"(free text)"</option>
                        {move || tasks().into_iter().map(|t| view! {
                            <option value=t.id.clone() selected=move || task_id.get() == t.id>{t.label.clone()}</option>
                        }).collect_view()}
                    </select>
                </label>
            </div>
            <textarea id="prompt" rows="4" prop:value=prompt on:keydown=keys
                on:input=move |ev| set_prompt.set(event_target_value(&ev))></textarea>
            <Settings settings=settings/>
            <div class="row">
                <button id="generate" on:click=move |_| generate()
                    disabled=move || no_model() || lab.generating()>"Generate"</button>
                <button id="stop" on:click=move |_| stop()
                    disabled=move || !lab.generating()>"Stop"</button>
                <button id="classify" on:click=classify disabled=move || no_model() || !has_labels()
                    title="Probability of each label word as the first output token">"Label probabilities"</button>
                <span class="hint">"Ctrl+Enter runs, Esc stops"</span>
            </div>
            <LabelChart/>
            <Output/>
            <TokenDetail/>
        </section>
    }
}

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
                            settings.update(|s| set(s, v));
                        }
                    }/>
            </label>
        }
    };
    view! {
        <div class="settings">
            {number("max-new-tokens", "Max new tokens", "1", |s| s.max_new_tokens as f64,
                |s, v| s.max_new_tokens = v.max(1.0) as usize)}
            {number("temperature", "Temperature (0 = greedy)", "0.1", |s| s.temperature,
                |s, v| s.temperature = v.max(0.0))}
            {number("top-k", "Top-k (0 = off)", "1", |s| s.top_k as f64,
                |s, v| s.top_k = v.max(0.0) as usize)}
            {number("top-p", "Top-p", "0.05", |s| s.top_p, |s, v| s.top_p = v.clamp(0.0, 1.0))}
            {number("repeat-penalty", "Repetition penalty", "0.05", |s| s.repeat_penalty as f64,
                |s, v| s.repeat_penalty = v.max(0.0) as f32)}
            {number("seed", "Seed", "1", |s| s.seed as f64, |s, v| s.seed = v.max(0.0) as u64)}
        </div>
    }
}

#[component]
fn Output() -> impl IntoView {
    let lab = expect_context::<Lab>();
    move || {
        lab.run.get().map(|run| {
            let tokens = run.steps.iter().enumerate().map(|(i, s)| {
                let title = s
                    .top
                    .iter()
                    .map(|a| format!("{:?} {:.1}%", a.text, 100.0 * a.prob))
                    .collect::<Vec<_>>()
                    .join("\n");
                view! {
                    <span class="token" data-id=s.id.to_string() data-prob=s.prob.to_string()
                        class:selected=move || lab.selected_step.get() == Some(i)
                        title=title on:click=move |_| lab.selected_step.set(Some(i))>{s.text.clone()}</span>
                }
            }).collect_view();
            let ids = run.steps.iter().map(|s| s.id.to_string()).collect::<Vec<_>>().join(" ");
            let status = match &run.finished {
                None => format!("Generating… {} tokens", run.steps.len()),
                Some((reason, stats)) => format!(
                    "{} prompt tokens ({:.0} tok/s), {} new tokens at {:.1} tok/s — stopped: {reason:?}",
                    stats.prompt_tokens, stats.prefill_tok_s, stats.generated_tokens, stats.decode_tok_s
                ),
            };
            let reason = run.finished.as_ref().map(|(r, _)| format!("{r:?}")).unwrap_or_default();
            let computed = run.finished.as_ref().map(|(_, s)| s.generated_tokens.to_string()).unwrap_or_default();
            let decode_speed = run.finished.as_ref().map(|(_, s)| s.decode_tok_s.to_string()).unwrap_or_default();
            let prefill_speed = run.finished.as_ref().map(|(_, s)| s.prefill_tok_s.to_string()).unwrap_or_default();
            let echoed = run.echoed.as_ref().and_then(|s| serde_json::to_string(s).ok()).unwrap_or_default();
            let prompt_ids = run.prompt_ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(" ");
            view! {
                <div id="output" class="output" data-run=run.id.to_string() data-model=run.model.clone()
                    data-prompt-ids=prompt_ids data-settings=echoed
                    data-ids=ids>{tokens}</div>
                <p id="run-stats" class="stats" data-reason=reason data-generated=computed
                    data-decode-tok-s=decode_speed data-prefill-tok-s=prefill_speed>{status}</p>
            }
        })
    }
}

/// One button per model the worker holds: the pressed one answers here.
/// Switching is instant, both models stay loaded.
#[component]
fn ModelSwitch() -> impl IntoView {
    let lab = expect_context::<Lab>();
    view! {
        <div id="model-switch" class="row switch" role="group" aria-label="Model">
            <span class="switch-label">"Model"</span>
            {move || lab.held.get().into_iter().map(|m| {
                let arch = m.info.arch.clone();
                let active = {
                    let arch = arch.clone();
                    move || lab.playground_arch.get() == arch
                };
                let family = match arch.as_str() {
                    "t5" => "T5, encoder–decoder",
                    _ => "GPT-2, decoder-only",
                };
                let pressed = active.clone();
                let select = arch.clone();
                view! {
                    <button class="secondary" data-arch=arch data-name=m.info.name.clone()
                        class:active=active aria-pressed=move || pressed().to_string()
                        disabled=move || lab.generating()
                        on:click=move |_| lab.switch_to(&select)>
                        {format!("{} · {family}", m.info.name)}
                    </button>
                }
            }).collect_view()}
        </div>
    }
}

/// The model's own answer to a classification task: each label word's
/// probability as its first output token, as bars.
#[component]
fn LabelChart() -> impl IntoView {
    let lab = expect_context::<Lab>();
    move || {
        lab.labels.get().map(|labels| {
            view! {
                <div id="label-probs" class="bars">
                    {labels.into_iter().map(|l| {
                        let width = format!("width: {:.1}%", 100.0 * l.share);
                        view! {
                            <div class="bar-row" data-label=l.label.clone() data-share=l.share.to_string()
                                data-token=l.token_id.to_string()>
                                <span class="bar-label">{l.label.clone()}</span>
                                <span class="bar"><span class="fill" style=width></span></span>
                                <span class="bar-value">{format!("{:.1}%", 100.0 * l.share)}</span>
                            </div>
                        }
                    }).collect_view()}
                </div>
            }
        })
    }
}

/// The clicked token: its probability and the alternatives the model weighed.
#[component]
fn TokenDetail() -> impl IntoView {
    let lab = expect_context::<Lab>();
    move || {
        let i = lab.selected_step.get()?;
        let step = lab
            .run
            .with(|r| r.as_ref().and_then(|r| r.steps.get(i).cloned()))?;
        Some(view! {
            <div id="token-detail" class="bars" data-step=i.to_string() data-id=step.id.to_string()>
                <p>{format!("Token {} {:?}: probability {:.1}%", i + 1, step.text, 100.0 * step.prob)}</p>
                {step.top.into_iter().map(|a| {
                    let width = format!("width: {:.1}%", 100.0 * a.prob);
                    view! {
                        <div class="bar-row" data-id=a.id.to_string() data-prob=a.prob.to_string()
                            class:chosen=a.id == step.id>
                            <span class="bar-label mono">{format!("{:?}", a.text)}</span>
                            <span class="bar"><span class="fill" style=width></span></span>
                            <span class="bar-value">{format!("{:.1}%", 100.0 * a.prob)}</span>
                        </div>
                    }
                }).collect_view()}
            </div>
        })
    }
}
