//! What the playground's model answered: the streamed tokens, the clicked
//! token's alternatives, and the label words' probabilities.

use leptos::prelude::*;

use super::state::PlaygroundState;

/// The run's tokens as they stream. A keyed list over the append-only
/// steps: a new token adds one span, the earlier ones are left alone.
#[component]
pub fn Output() -> impl IntoView {
    let play = expect_context::<PlaygroundState>();
    let steps = play.steps;
    move || {
        play.run.get().map(|run| {
            let ids = move || steps.with(|s| s.iter().map(|s| s.id.to_string()).collect::<Vec<_>>().join(" "));
            let reason = run.finished.as_ref().map(|(r, _)| format!("{r:?}")).unwrap_or_default();
            let stat = |f: fn(&protocol::GenerationStats) -> String| {
                run.finished.as_ref().map(|(_, s)| f(s)).unwrap_or_default()
            };
            let echoed = run.echoed.as_ref().and_then(|s| serde_json::to_string(s).ok()).unwrap_or_default();
            let prompt_ids = run.prompt_ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(" ");
            let finished = run.finished.clone();
            let status = move || match &finished {
                None => format!("Generating… {} tokens", steps.with(|s| s.len())),
                Some((reason, stats)) => format!(
                    "{} prompt tokens ({:.0} tok/s), {} new tokens at {:.1} tok/s{} — stopped: {reason:?}",
                    stats.prompt_tokens, stats.prefill_tok_s, stats.generated_tokens, stats.decode_tok_s,
                    if stats.threads > 1 { ", two threads" } else { "" }
                ),
            };
            view! {
                <div id="output" class="output" data-run=run.id.to_string() data-model=run.model.clone()
                    data-prompt-ids=prompt_ids data-settings=echoed data-ids=ids>
                    <For each=move || 0..steps.with(|s| s.len()) key=|i| *i let:i>
                        <Token i=i/>
                    </For>
                </div>
                <p id="run-stats" class="stats" data-reason=reason
                    data-generated=stat(|s| s.generated_tokens.to_string())
                    data-decode-tok-s=stat(|s| s.decode_tok_s.to_string())
                    data-prefill-tok-s=stat(|s| s.prefill_tok_s.to_string())
                    data-prefill-ms=stat(|s| s.prefill_ms.to_string())
                    data-prompt-tokens=stat(|s| s.prompt_tokens.to_string())
                    data-threads=stat(|s| s.threads.to_string())
                    data-shared-matmuls=stat(|s| s.shared_matmuls.to_string())>{status}</p>
            }
        })
    }
}

/// The run's `i`-th token; its alternatives show on hover and on click.
#[component]
fn Token(i: usize) -> impl IntoView {
    let play = expect_context::<PlaygroundState>();
    let Some(s) = play.steps.with_untracked(|s| s.get(i).cloned()) else {
        return ().into_any();
    };
    let title = s
        .top
        .iter()
        .map(|a| format!("{:?} {:.1}%", a.text, 100.0 * a.prob))
        .collect::<Vec<_>>()
        .join("\n");
    view! {
        <span class="token" data-id=s.id.to_string() data-prob=s.prob.to_string()
            class:selected=move || play.selected_step.get() == Some(i)
            title=title on:click=move |_| play.selected_step.set(Some(i))>{s.text}</span>
    }
    .into_any()
}

/// The model's own answer to a classification task: each label's
/// probability as its whole answer, as bars.
#[component]
pub fn LabelChart() -> impl IntoView {
    let play = expect_context::<PlaygroundState>();
    move || {
        play.labels.get().map(|labels| {
            view! {
                <div id="label-probs" class="bars">
                    {labels.into_iter().map(|l| {
                        let width = format!("width: {:.1}%", 100.0 * l.share);
                        view! {
                            <div class="bar-row" data-label=l.label.clone() data-share=l.share.to_string()
                                data-token=l.token_ids[0].to_string()
                                data-tokens=join_ids(&l.token_ids)>
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
pub fn TokenDetail() -> impl IntoView {
    let play = expect_context::<PlaygroundState>();
    move || {
        let i = play.selected_step.get()?;
        let step = play.steps.with(|s| s.get(i).cloned())?;
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

fn join_ids(ids: &[u32]) -> String {
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}
