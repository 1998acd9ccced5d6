//! Exercise 2: what can the pretrained models do? Every task of each held
//! model, one click each: the task's example runs in the playground's model
//! and streams here. The hub's larger models are one click away with the
//! network, their download size said first.

use leptos::prelude::*;
use protocol::tasks::Task;
use protocol::Arch;

use super::Step;
use crate::models::Models;
use crate::playground::output::Output;
use crate::playground::state::PlaygroundState;

/// Runs `task`'s example on the held model of `arch`, as the playground
/// would with that task picked.
fn run_example(play: PlaygroundState, arch: Arch, task: &Task) {
    if play.generating() {
        return;
    }
    play.take(arch);
    play.task.set(String::new());
    play.prompt.set(task.example.clone());
    play.switch_task(task.id.clone());
    if let Some(second) = &task.example_second {
        play.second.set(second.clone());
    }
    play.generate();
}

/// The lab's own pair know the lab's tasks (and GPT-2 continues any text);
/// the hub's models know the original prefixes and formats.
fn suits(lab_model: bool, task: &Task) -> bool {
    task.id.starts_with("lab_") == lab_model || task.id == "continue"
}

#[component]
pub fn Applications() -> impl IntoView {
    let play = expect_context::<PlaygroundState>();
    let models = expect_context::<Models>();
    let groups = move || {
        let held = play.held.get();
        let tasks = play.tasks.get();
        [Arch::T5, Arch::Gpt2]
            .into_iter()
            .filter_map(|arch| {
                let model = held.iter().find(|m| m.info.arch == arch)?.clone();
                let lab = model.info.name.starts_with("lab-");
                let tasks: Vec<Task> = tasks
                    .as_ref()?
                    .of(arch)
                    .iter()
                    .filter(|t| suits(lab, t))
                    .cloned()
                    .collect();
                Some((arch, model, tasks))
            })
            .collect::<Vec<_>>()
    };
    let hub = move || {
        models.catalog.with(|c| {
            c.as_ref()
                .map(|c| {
                    c.models
                        .iter()
                        .filter(|m| m.repo.is_some())
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    view! {
        <Step n=2 question="What can the pretrained models do?"
            next="edit the prompt in the Playground tab and run the same task on your own text.">
            <p class="lead">
                "One model, many jobs: T5 picks the job from a text prefix, GPT-2 from a prompt format. \
                 Click a task to run its example on the shipped model, here and now."
            </p>
            {move || groups().into_iter().map(|(arch, model, tasks)| view! {
                <div class="apps" data-arch=arch.as_str()>
                    <h3>{format!("{} ({})", model.info.name, arch.label())}</h3>
                    <div class="row app-buttons">
                        {tasks.into_iter().map(|task| {
                            let id = task.id.clone();
                            let title = task.render(&task.example, task.example_second.as_deref());
                            view! {
                                <button class="secondary app" data-task=id title=title
                                    disabled=move || play.generating()
                                    on:click=move |_| run_example(play, arch, &task)>
                                    {task.label.clone()}
                                </button>
                            }
                        }).collect_view()}
                    </div>
                </div>
            }).collect_view()}
            <p class="hint">
                "The lab's pair were fine-tuned on the lab's five tasks only; the original prefixes and \
                 formats (translation, summaries, GLUE) are for t5-small, flan-t5 and gpt2: load one below \
                 and its tasks appear here."
            </p>
            <p class="hint" id="app-prompt">{move || {
                play.run.get().map(|_| format!("Sent: {}", play.full_prompt())).unwrap_or_default()
            }}</p>
            <Output/>
            <h3>"Larger pretrained models, with the network"</h3>
            <p class="hint">
                "The lab's pair are a few million parameters trained here for half an hour. With the \
                 network, the real ones load from the hub into the same page (and then the same tasks \
                 run on them). Download sizes:"
            </p>
            <ul class="hub-models">
                {move || hub().into_iter().map(|m| {
                    let id = m.id.clone();
                    let mb = format!("{}{:.0} MB", if m.exact_size { "" } else { "about " }, m.bytes as f64 / 1e6);
                    view! {
                        <li>
                            {format!("{} — {mb} ", m.label)}
                            <button class="secondary" data-model=id.clone()
                                on:click=move |_| { models.load_catalog_model(&id); }>
                                "Load"
                            </button>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </Step>
    }
}
