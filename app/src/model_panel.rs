use leptos::prelude::*;

use crate::lab::Lab;

/// Models the page offers; any other URL can be typed in.
pub struct CatalogEntry {
    pub label: &'static str,
    pub weights_url: &'static str,
    pub config_url: &'static str,
    pub tokenizer_url: &'static str,
}

pub const CATALOG: &[CatalogEntry] = &[
    CatalogEntry {
        label: "Tiny GPT-2, random weights (test model, 1.7 MB, q8_0)",
        weights_url: "fixtures/gpt2-tiny-vocab/llama-q8_0.gguf",
        config_url: "",
        tokenizer_url: "tokenizers/gpt2.json",
    },
    CatalogEntry {
        label: "Tiny T5, random weights (test model, 1.1 MB, q8_0)",
        weights_url: "fixtures/t5-tiny-vocab/model-q8_0.gguf",
        config_url: "fixtures/t5-tiny-vocab/config.json",
        tokenizer_url: "tokenizers/t5.json",
    },
];

#[component]
pub fn ModelPanel() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let (weights_url, set_weights_url) = lab.weights_url.split();
    let (tokenizer_url, set_tokenizer_url) = lab.tokenizer_url.split();
    let (config_url, set_config_url) = lab.config_url.split();
    let pick = move |ev| {
        let label = event_target_value(&ev);
        if let Some(e) = CATALOG.iter().find(|e| e.label == label) {
            set_weights_url.set(e.weights_url.to_string());
            set_tokenizer_url.set(e.tokenizer_url.to_string());
            set_config_url.set(e.config_url.to_string());
        }
    };
    let load = move |_| lab.load_current();
    let loading = move || lab.loading.get().is_some();
    view! {
        <section class="panel" id="model-panel">
            <h2>"Model"</h2>
            <div class="row">
                <select id="model-select" on:change=pick>
                    {CATALOG.iter().map(|e| view! {
                        <option selected=move || lab.weights_url.get() == e.weights_url>{e.label}</option>
                    }).collect_view()}
                </select>
            </div>
            <label>"Weights (GGUF or safetensors URL)"
                <input id="weights-url" type="text" prop:value=weights_url
                    on:input=move |ev| set_weights_url.set(event_target_value(&ev))/>
            </label>
            <label>"config.json URL (only for files without one inside)"
                <input id="config-url" type="text" prop:value=config_url
                    on:input=move |ev| set_config_url.set(event_target_value(&ev))/>
            </label>
            <label>"Tokenizer URL"
                <input id="tokenizer-url" type="text" prop:value=tokenizer_url
                    on:input=move |ev| set_tokenizer_url.set(event_target_value(&ev))/>
            </label>
            <button id="load" on:click=load disabled=loading>
                {move || if loading() { "Loading…" } else { "Load model" }}
            </button>
            <DownloadProgress/>
            <ModelCard/>
        </section>
    }
}

#[component]
fn DownloadProgress() -> impl IntoView {
    let lab = expect_context::<Lab>();
    move || {
        lab.download.get().map(|d| {
            let percent = d.total.map(|t| 100.0 * d.loaded as f64 / t.max(1) as f64);
            let label = match (percent, d.total) {
                (Some(p), Some(t)) => {
                    format!("{} — {} of {} ({p:.0}%)", d.file, bytes(d.loaded), bytes(t))
                }
                _ => format!("{} — {}", d.file, bytes(d.loaded)),
            };
            view! {
                <div id="load-progress" class="progress">
                    <progress max="100" value=percent.unwrap_or(0.0)></progress>
                    <span>{label}</span>
                </div>
            }
        })
    }
}

#[component]
fn ModelCard() -> impl IntoView {
    let lab = expect_context::<Lab>();
    move || {
        lab.model.get().map(|m| {
            let types = m
                .tensor_types
                .iter()
                .map(|(t, n)| format!("{n}× {t}"))
                .collect::<Vec<_>>()
                .join(", ");
            view! {
                <dl id="model-info" class="card" data-arch=m.arch.clone()
                    data-params=m.parameters.to_string()>
                    <dt>"Loaded"</dt><dd>{m.name.clone()}</dd>
                    <dt>"Architecture"</dt><dd>{m.arch.clone()}</dd>
                    <dt>"Parameters"</dt><dd>{group_digits(m.parameters)}</dd>
                    <dt>"Shape"</dt>
                    <dd>{format!("{} layers × {} wide, vocab {}, context {}", m.layers, m.hidden_size, m.vocab_size, m.context_length)}</dd>
                    <dt>"Tensor types"</dt><dd>{types}</dd>
                </dl>
            }
        })
    }
}

pub fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MB", n as f64 / 1048576.0),
        n if n >= 1 << 10 => format!("{:.0} kB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

pub fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
