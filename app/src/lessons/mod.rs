//! Lessons: the four exercises of d2l 11.9 ("Large-Scale Pretraining with
//! Transformers") as steps, each a live demo on the shipped pair with the
//! numbers it measures. The step lives in the URL (`?view=lessons&step=3`),
//! so every step has a deep link; Back and Next are links the router follows.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

mod applications;
mod layers;
mod limits;
mod mixed;

use applications::Applications;
use layers::Layers;
use limits::Limits;
use mixed::MixedTasks;

/// The steps, in the chapter's order.
const STEPS: [&str; 4] = [
    "Fine-tuning on a minibatch that mixes tasks",
    "What the pretrained models can do",
    "Where to add the classification layers",
    "The limits of a decoder-only model",
];

/// The step the URL names (1-based; anything else is step 1).
fn current_step() -> Memo<usize> {
    let query = use_query_map();
    Memo::new(move |_| {
        query.with(|q| {
            q.get_str("step")
                .and_then(|s| s.parse::<usize>().ok())
                .filter(|s| (1..=STEPS.len()).contains(s))
                .unwrap_or(1)
        })
    })
}

fn step_href(step: usize) -> String {
    format!("?view=lessons&step={step}")
}

#[component]
pub fn Lessons() -> impl IntoView {
    let step = current_step();
    view! {
        <section class="panel lessons" id="lessons" data-step=move || step.get().to_string()>
            <nav class="steps" aria-label="Lesson steps">
                {STEPS.iter().enumerate().map(|(i, title)| {
                    let n = i + 1;
                    view! {
                        <a class="step-link" href=step_href(n) id=format!("step-link-{n}")
                            class:active=move || step.get() == n
                            aria-current=move || (step.get() == n).then_some("step")>
                            {format!("{n}. {title}")}
                        </a>
                    }
                }).collect_view()}
            </nav>
            {move || match step.get() {
                1 => view! { <MixedTasks/> }.into_any(),
                2 => view! { <Applications/> }.into_any(),
                3 => view! { <Layers/> }.into_any(),
                _ => view! { <Limits/> }.into_any(),
            }}
            <StepNav step=step/>
        </section>
    }
}

/// Back and Next.
#[component]
fn StepNav(step: Memo<usize>) -> impl IntoView {
    move || {
        let n = step.get();
        view! {
            <div class="row step-nav">
                {(n > 1).then(|| view! {
                    <a id="step-back" class="button secondary" href=step_href(n - 1)>"← Back"</a>
                })}
                {(n < STEPS.len()).then(|| view! {
                    <a id="step-next" class="button" href=step_href(n + 1)>
                        {format!("Next: {} →", STEPS[n])}
                    </a>
                })}
            </div>
        }
    }
}

/// A step's frame: the exercise as the chapter asks it, the demo, and the
/// one line that says what to try next.
#[component]
fn Step(n: usize, question: &'static str, next: &'static str, children: Children) -> impl IntoView {
    view! {
        <article class="lesson" id=format!("lesson-{n}")>
            <h2>{format!("Exercise {n}. {question}")}</h2>
            {children()}
            <p class="try-next" id="try-next">{format!("Try next: {next}")}</p>
        </article>
    }
}
