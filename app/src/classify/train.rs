//! One head: where it reads (layer, pooling), how it trains, what it
//! measured on the held-out rows (accuracy, confusion matrix), a typed text's
//! class probabilities, and the head as a JSON file to export or import.

use leptos::prelude::*;
use leptos::task::spawn_local;
use protocol::classify::{layer_names, HeadFile, Pooling};

use protocol::classify::{HeadReport, LabelledSet};
use protocol::{ModelRef, Request};

use super::state::{ClassifyState, Trained};
use crate::fetch::{file_text, picked_file};
use crate::worker_link;

impl ClassifyState {
    /// The trained head's probabilities for the typed text.
    pub fn predict(self) {
        let text = self.probe.get_untracked();
        let Some(trained) = self.trained.get_untracked() else {
            return;
        };
        let Some(model) = self.model_untracked() else {
            return;
        };
        if text.trim().is_empty() {
            self.prediction.set(None);
            return;
        }
        let id = worker_link::next_id();
        self.prediction
            .update(|p| *p = Some((id, p.take().map(|(_, v)| v).unwrap_or_default())));
        self.link.send(&Request::Predict {
            id,
            model: ModelRef {
                arch: model.info.arch,
                load: model.load,
            },
            head: Box::new(trained.head),
            text,
        });
    }

    /// An imported head becomes the trained one, without a report of its own.
    pub fn use_head(self, head: HeadFile) {
        let classes = head.classes.clone();
        self.layer.set(Some(head.layer));
        self.pooling.set(Some(head.pooling));
        self.arch.set(Some(head.arch));
        self.trained.set(Some(Trained {
            id: 0,
            head,
            report: HeadReport {
                train_accuracy: f32::NAN,
                test_accuracy: f32::NAN,
                confusion: Vec::new(),
                predictions: Vec::new(),
                train_ms: 0.0,
            },
            set: LabelledSet {
                classes,
                ..LabelledSet::default()
            },
        }));
        self.predict();
    }
}

#[component]
pub fn HeadPanel() -> impl IntoView {
    let state = expect_context::<ClassifyState>();
    let layers = move || {
        state
            .model()
            .map(|m| layer_names(&m.info))
            .unwrap_or_default()
    };
    let number = |ev: &leptos::ev::Event| event_target_value(ev).trim().parse::<f64>().ok();
    view! {
        <section class="panel" id="head-panel">
            <h3>"A head on one layer"</h3>
            <div class="row settings">
                <label>"Layer "
                    <select id="head-layer" on:change=move |ev| {
                        state.layer.set(event_target_value(&ev).parse().ok())
                    }>
                        {move || {
                            let now = state.cell().map(|(l, _)| l);
                            layers().into_iter().enumerate().map(|(i, name)| view! {
                                <option value=i.to_string() selected=now == Some(i)>{name}</option>
                            }).collect_view()
                        }}
                    </select>
                </label>
                <label>"Pooling "
                    <select id="head-pooling" on:change=move |ev| {
                        state.pooling.set(Pooling::named(&event_target_value(&ev)))
                    }>
                        {Pooling::ALL.into_iter().map(|p| view! {
                            <option value=p.as_str()
                                selected=move || state.cell().map(|(_, q)| q) == Some(p)>
                                {pooling_label(p)}
                            </option>
                        }).collect_view()}
                    </select>
                </label>
                <label>"Hidden units "
                    <input id="head-hidden" type="number" min="0" max="512" step="1"
                        prop:value=move || state.settings.with(|s| s.hidden.unwrap_or(0).to_string())
                        on:change=move |ev| {
                            let units = number(&ev).map(|v| v as usize).filter(|&v| v > 0);
                            state.settings.update(|s| s.hidden = units);
                        }/>
                </label>
                <label>"L2 "
                    <input id="head-l2" type="number" min="0" step="0.001"
                        prop:value=move || state.settings.with(|s| s.l2.to_string())
                        on:change=move |ev| if let Some(v) = number(&ev) {
                            state.settings.update(|s| s.l2 = v as f32);
                        }/>
                </label>
                <label>"Test share "
                    <input id="test-fraction" type="number" min="0.05" max="0.9" step="0.05"
                        prop:value=move || state.test_fraction.get().to_string()
                        on:change=move |ev| if let Some(v) = number(&ev) {
                            state.test_fraction.set(v.clamp(0.05, 0.9));
                        }/>
                </label>
            </div>
            <p class="hint">
                "GPT-2 is causal: only its last token has seen the whole input, so the last token \
                 suits it. Every T5 encoder token sees the whole input both ways, so the mean over \
                 the tokens suits it. The head is multinomial logistic regression with an L2 penalty \
                 (one hidden ReLU layer if you ask for units), trained in the worker with Adam on \
                 the training rows; the test rows are held out, the same per class."
            </p>
            <button id="train-head" on:click=move |_| state.train()
                disabled=move || state.busy() || state.model().is_none()>
                "Train the head"
            </button>
            <Report/>
            <Probe/>
            <HeadFiles/>
        </section>
    }
}

pub fn pooling_label(p: Pooling) -> &'static str {
    match p {
        Pooling::Mean => "mean over tokens",
        Pooling::First => "first token",
        Pooling::Last => "last token",
    }
}

/// Accuracy and the confusion matrix of the trained head.
#[component]
fn Report() -> impl IntoView {
    let state = expect_context::<ClassifyState>();
    move || {
        let trained = state.trained.get()?;
        let r = &trained.report;
        if r.test_accuracy.is_nan() {
            return Some(view! {
                <p id="head-report" class="notice" data-imported="true">
                    {format!("An imported head: {} at {}, {}.", trained.head.model, trained.head.layer_name,
                        pooling_label(trained.head.pooling))}
                </p>
            }.into_any());
        }
        let classes = trained.set.classes.clone();
        let tested: u32 = r.confusion.iter().flatten().sum();
        Some(view! {
            <div id="head-report" data-id=trained.id.to_string()
                data-test-accuracy=r.test_accuracy.to_string()
                data-train-accuracy=r.train_accuracy.to_string() data-tested=tested.to_string()>
                <p class="stats">
                    {format!("Held-out accuracy {:.1}% on {tested} test rows (training rows {:.1}%), \
                        trained in {:.0} ms at {}, {}.",
                        100.0 * r.test_accuracy, 100.0 * r.train_accuracy, r.train_ms,
                        trained.head.layer_name, pooling_label(trained.head.pooling))}
                </p>
                <p class="hint">"Confusion matrix: a row per true class, a column per answer of the head."</p>
                <table id="confusion" class="figures confusion">
                    <thead><tr><th></th>{classes.iter().map(|c| view! { <th>{c.clone()}</th> }).collect_view()}</tr></thead>
                    <tbody>
                        {r.confusion.iter().enumerate().map(|(t, row)| view! {
                            <tr><th>{classes.get(t).cloned().unwrap_or_default()}</th>
                                {row.iter().enumerate().map(|(p, &n)| view! {
                                    <td data-true=t.to_string() data-pred=p.to_string() data-count=n.to_string()
                                        class:diagonal=t == p>{n.to_string()}</td>
                                }).collect_view()}
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        }.into_any())
    }
}

/// A typed text's class probabilities, live, as bars.
#[component]
fn Probe() -> impl IntoView {
    let state = expect_context::<ClassifyState>();
    let bars = move || {
        let trained = state.trained.get()?;
        let (id, probs) = state.prediction.get()?;
        Some(view! {
            <div id="probe-bars" data-id=id.to_string()>
                {trained.head.classes.iter().zip(probs).map(|(class, p)| view! {
                    <div class="bar-row">
                        <span class="bar-label">{class.clone()}</span>
                        <span class="bar"><span class="fill prob-bar" data-class=class.clone() data-p=p.to_string()
                            style=format!("width: {:.1}%", 100.0 * p)></span></span>
                        <span class="bar-value">{format!("{:.1}%", 100.0 * p)}</span>
                    </div>
                }).collect_view()}
            </div>
        })
    };
    view! {
        <div class="probe">
            <label for="probe">"Try a text of your own"</label>
            <input id="probe" type="text" prop:value=move || state.probe.get()
                disabled=move || state.trained.with(Option::is_none)
                placeholder="Train a head first, then type here"
                on:input=move |ev| {
                    state.probe.set(event_target_value(&ev));
                    state.predict();
                }/>
            {bars}
        </div>
    }
}

/// The trained head as a JSON file, and a head file read back in.
#[component]
fn HeadFiles() -> impl IntoView {
    let state = expect_context::<ClassifyState>();
    let href = move || {
        let head = state.trained.get()?.head;
        let json = serde_json::to_string(&head).ok()?;
        Some(format!(
            "data:application/json;charset=utf-8,{}",
            String::from(js_sys::encode_uri_component(&json))
        ))
    };
    let picked = move |ev: leptos::ev::Event| {
        let Some(file) = picked_file(&ev) else { return };
        spawn_local(async move {
            let text = file_text(&file).await;
            match text
                .ok_or_else(|| "The file could not be read.".to_string())
                .and_then(|t| HeadFile::from_json(&t))
            {
                Ok(head) => state.use_head(head),
                Err(why) => state.problem.set(Some(format!("{}: {why}", file.name()))),
            }
        });
    };
    view! {
        <div class="row">
            {move || href().map(|href| view! {
                <a id="export-head" class="button secondary" href=href download="head.json">"Export the head (JSON)"</a>
            })}
            <label class="button secondary">
                "Import a head…"
                <input id="import-head" type="file" accept=".json" class="visually-hidden" on:change=picked/>
            </label>
        </div>
    }
}
