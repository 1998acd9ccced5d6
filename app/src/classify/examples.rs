//! The labelled examples: an editable table, `label,text` lines pasted in,
//! a CSV or JSONL file imported. A malformed paste or file changes nothing
//! and says which line is wrong.

use leptos::prelude::*;
use leptos::task::spawn_local;
use protocol::examples::{self, Example, LONG_TEXT_CHARS};

use super::presets::PresetPicker;
use super::state::ClassifyState;
use crate::fetch::{file_text, picked_file};

#[component]
pub fn Examples() -> impl IntoView {
    let state = expect_context::<ClassifyState>();
    let summary = move || {
        state.examples.with(|rows| {
            let counts: Vec<String> = examples::classes(rows)
                .into_iter()
                .map(|c| {
                    let n = rows.iter().filter(|e| e.label.trim() == c).count();
                    format!("{c} {n}")
                })
                .collect();
            let long = examples::long_rows(rows).len();
            let long = (long > 0).then(|| {
                format!(
                    " {long} longer than {LONG_TEXT_CHARS} characters: the model reads only their start."
                )
            });
            format!(
                "{} examples: {}.{}",
                rows.len(),
                counts.join(", "),
                long.unwrap_or_default()
            )
        })
    };
    view! {
        <section class="panel" id="examples-panel">
            <h3>"Labelled examples"</h3>
            <PresetPicker/>
            <p id="examples-count" class="hint">{summary}</p>
            <ExampleTable/>
            <div class="row">
                <button class="secondary" id="add-example" on:click=move |_| {
                    state.examples.update(|e| e.push(Example::default()));
                    state.preset.set(String::new());
                }>"Add a row"</button>
                <button class="secondary" id="clear-examples" on:click=move |_| state.set_examples(Vec::new(), "")>
                    "Remove all"
                </button>
                <Import/>
            </div>
            <Paste/>
        </section>
    }
}

/// One editable row per example (a scrolling box for long sets).
#[component]
fn ExampleTable() -> impl IntoView {
    let state = expect_context::<ClassifyState>();
    let edit = move |i: usize, f: Box<dyn Fn(&mut Example)>| {
        state.examples.update(|rows| {
            if let Some(row) = rows.get_mut(i) {
                f(row)
            }
        });
        state.preset.set(String::new());
        state.forget_results();
    };
    view! {
        <div class="examples-scroll">
            <table id="examples" class="figures">
                <thead><tr><th>"#"</th><th>"Label"</th><th>"Text"</th><th></th></tr></thead>
                <tbody>
                    {move || state.examples.get().into_iter().enumerate().map(|(i, ex)| view! {
                        <tr class="example" data-row=i.to_string()>
                            <td class="num">{(i + 1).to_string()}</td>
                            <td><input type="text" class="example-label" prop:value=ex.label
                                aria-label=format!("label of example {}", i + 1)
                                on:change=move |ev| {
                                    let v = event_target_value(&ev);
                                    edit(i, Box::new(move |r| r.label = v.clone()))
                                }/></td>
                            <td><input type="text" class="example-text" prop:value=ex.text
                                aria-label=format!("text of example {}", i + 1)
                                on:change=move |ev| {
                                    let v = event_target_value(&ev);
                                    edit(i, Box::new(move |r| r.text = v.clone()))
                                }/></td>
                            <td><button class="secondary remove-example" title="Remove this example"
                                on:click=move |_| {
                                    state.examples.update(|rows| { rows.remove(i); });
                                    state.preset.set(String::new());
                                    state.forget_results();
                                }>"×"</button></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// `label,text` lines (or JSONL) pasted in, added after the rows there are.
#[component]
fn Paste() -> impl IntoView {
    let state = expect_context::<ClassifyState>();
    let text = RwSignal::new(String::new());
    let add = move |_| match examples::parse(&text.get_untracked(), "") {
        Ok(rows) => {
            state.examples.update(|e| e.extend(rows));
            state.preset.set(String::new());
            state.forget_results();
            text.set(String::new());
        }
        // The paste stays in the box, to be mended.
        Err(why) => state.problem.set(Some(why)),
    };
    view! {
        <details class="paste">
            <summary>"Paste examples"</summary>
            <textarea id="paste-examples" rows="4" prop:value=text
                placeholder="spam,WIN a FREE cruise now!!!\nham,See you at the meeting at 3."
                on:input=move |ev| text.set(event_target_value(&ev))></textarea>
            <button class="secondary" id="paste-add" on:click=add>"Add these rows"</button>
        </details>
    }
}

/// A CSV or JSONL file replaces the examples.
#[component]
fn Import() -> impl IntoView {
    let state = expect_context::<ClassifyState>();
    let picked = move |ev: leptos::ev::Event| {
        let Some(file) = picked_file(&ev) else { return };
        spawn_local(async move {
            let name = file.name();
            let Some(text) = file_text(&file).await else {
                state
                    .problem
                    .set(Some(format!("{name} could not be read as text.")));
                return;
            };
            match examples::parse(&text, &name) {
                Ok(rows) => state.set_examples(rows, ""),
                Err(why) => state
                    .problem
                    .set(Some(format!("{name}: {why} Nothing was changed."))),
            }
        });
    };
    view! {
        <label class="button secondary">
            "Import CSV or JSONL…"
            <input id="import-examples" type="file" accept=".csv,.jsonl,.txt,.json" class="visually-hidden"
                on:change=picked/>
        </label>
    }
}
