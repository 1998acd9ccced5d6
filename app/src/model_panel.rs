use leptos::prelude::*;
use protocol::catalog::{CatalogModel, Source};

use crate::local_files::LocalFiles;
use crate::model_cache::ModelCache;
use crate::models::Models;

#[component]
pub fn ModelPanel() -> impl IntoView {
    let models = expect_context::<Models>();
    let weights_url = models.weights_url;
    let (tokenizer_url, set_tokenizer_url) = models.tokenizer_url.split();
    let (config_url, set_config_url) = models.config_url.split();
    let load = move |_| models.load_current();
    view! {
        <section class="panel" id="model-panel">
            <h2>"Model"</h2>
            <CatalogList/>
            // A slot of its own height: a download starting or ending (start-up
            // loads models in the background) must not move what is below
            // under the user's pointer.
            <div class="load-status">
                <DownloadProgress/>
            </div>
            <LoadNotice/>
            <ModelCard/>
            <LocalFiles/>
            <details class="advanced" open>
                <summary>"Any model by address"</summary>
                <label>"Weights (GGUF or safetensors URL)"
                    <input id="weights-url" type="text" prop:value=weights_url
                        on:input=move |ev| models.edit_weights_url(event_target_value(&ev))/>
                </label>
                <label>"config.json URL (only for files without one inside)"
                    <input id="config-url" type="text" prop:value=config_url
                        on:input=move |ev| set_config_url.set(event_target_value(&ev))/>
                </label>
                <label>"Tokenizer URL (empty: the page's own for the model's architecture)"
                    <input id="tokenizer-url" type="text" prop:value=tokenizer_url
                        on:input=move |ev| set_tokenizer_url.set(event_target_value(&ev))/>
                </label>
                <button id="load" on:click=load>"Load model"</button>
            </details>
            <ModelCache/>
        </section>
    }
}

/// The catalog: every model with its size, type and where it comes from.
#[component]
fn CatalogList() -> impl IntoView {
    let models = expect_context::<Models>();
    let (hub, set_hub) = models.hub.split();
    let hub_placeholder = move || {
        models
            .catalog
            .with(|c| c.as_ref().map(|c| c.hub.clone()))
            .unwrap_or_default()
    };
    view! {
        <ul id="catalog" class="catalog">
            {move || models.catalog.get().map(|c| {
                c.models.into_iter().map(|m| view! { <CatalogItem model=m/> }).collect_view()
            })}
        </ul>
        <label class="hub">"Hub address (a mirror, or a class's local folder with the hub's layout)"
            <input id="hub-url" type="text" prop:value=hub placeholder=hub_placeholder
                on:change=move |ev| set_hub.set(event_target_value(&ev))/>
        </label>
    }
}

#[component]
fn CatalogItem(model: CatalogModel) -> impl IntoView {
    let models = expect_context::<Models>();
    let id = model.id.clone();
    let spec = {
        let model = model.clone();
        move || model.spec(&models.hub_url())
    };
    let cached = {
        let spec = spec.clone();
        move || {
            let spec = spec();
            models.cache.with(|c| {
                c.as_ref().is_some_and(|c| {
                    c.holds(&spec.weights_url)
                        && spec.config_url.as_ref().is_none_or(|u| c.holds(u))
                })
            })
        }
    };
    let current = {
        let spec = spec.clone();
        move || models.weights_url.get() == spec().weights_url
    };
    // Loaded in the worker: its button switches to it, nothing is fetched.
    let held = {
        let spec = spec.clone();
        move || {
            let spec = spec();
            models.held.with(|h| h.iter().any(|m| m.spec == spec))
        }
    };
    let size = format!(
        "{}{}",
        if model.exact_size { "" } else { "≈ " },
        bytes(model.bytes)
    );
    let origin = match (&model.source, &model.repo) {
        (Source::Hub, Some(repo)) => format!("hub: {repo}"),
        _ => "ships with the page".to_string(),
    };
    let cached_badge = cached.clone();
    let held_badge = held.clone();
    let held_label = held.clone();
    let held_switch = held.clone();
    view! {
        <li data-model=model.id.clone() data-cached=move || cached().to_string()
            data-held=move || held().to_string() class:current=current>
            <div class="catalog-text">
                <strong>{model.label.clone()}</strong>
                <span class="meta">
                    <span class="badge">{model.arch.as_str()}</span>
                    <span class="badge">{model.quant.clone()}</span>
                    <span class="size">{size}</span>
                    <span class="origin">{origin}</span>
                    <Show when=cached_badge>
                        <span class="badge cached">"cached"</span>
                    </Show>
                    <Show when=held_badge>
                        <span class="badge held">"loaded"</span>
                    </Show>
                </span>
                <span class="note">{model.note.clone()}</span>
            </div>
            <button class="load-model" disabled=move || held_label() && models.playground.generating()
                on:click=move |_| {
                    models.load_catalog_model(&id);
                }>
                {move || if held_switch() { "Use" } else { "Load" }}
            </button>
        </li>
    }
}

/// Bytes, percent and rate of the file coming in, with Cancel.
#[component]
fn DownloadProgress() -> impl IntoView {
    let models = expect_context::<Models>();
    move || {
        models.loading.get().map(|_| {
            let d = models.download.get().unwrap_or_default();
            let percent = d.total.map(|t| 100.0 * d.loaded as f64 / t.max(1) as f64);
            let mut label = match d.total {
                Some(t) => format!("{} of {}", bytes(d.loaded), bytes(t)),
                None => bytes(d.loaded),
            };
            if let Some(p) = percent {
                label.push_str(&format!(" ({p:.0}%)"));
            }
            if d.cached {
                label.push_str(" · from this browser's cache");
            } else if let Some(rate) = d.rate() {
                label.push_str(&format!(" · {}/s", bytes(rate as u64)));
            }
            let model = models.loading_model.get();
            let file = if d.file.is_empty() {
                format!("{model}: starting…")
            } else {
                format!("{model}: {}", d.file.rsplit('/').next().unwrap_or(&d.file))
            };
            view! {
                <div id="load-progress" class="progress" data-model=model
                    data-loaded=d.loaded.to_string()
                    data-total=d.total.map(|t| t.to_string()).unwrap_or_default()
                    data-cached=d.cached.to_string()>
                    <span class="file">{file}</span>
                    <progress max="100" value=percent.unwrap_or(0.0)></progress>
                    <span>{label}</span>
                    <button id="cancel-load" class="secondary" on:click=move |_| models.cancel_load()>
                        "Cancel"
                    </button>
                </div>
            }
        })
    }
}

#[component]
fn LoadNotice() -> impl IntoView {
    let models = expect_context::<Models>();
    move || {
        models
            .notice
            .get()
            .map(|n| view! { <p id="load-notice" class="notice">{n}</p> })
    }
}

#[component]
fn ModelCard() -> impl IntoView {
    let models = expect_context::<Models>();
    move || {
        models.playground.active_model().map(|held| {
            let m = held.info;
            let types = m
                .tensor_types
                .iter()
                .map(|(t, n)| format!("{n}× {t}"))
                .collect::<Vec<_>>()
                .join(", ");
            let files = held.files;
            let from_cache = files.iter().all(|f| f.from_cache);
            let not_stored = files.iter().filter(|f| f.not_stored.is_some()).count();
            let sources = files
                .iter()
                .map(|f| {
                    let name = f.url.rsplit('/').next().unwrap_or(&f.url).to_string();
                    let how = match (f.from_cache, f.stored, &f.not_stored) {
                        (true, _, _) => "from cache".to_string(),
                        (false, true, _) => "downloaded, now cached".to_string(),
                        (false, false, Some(why)) => format!("downloaded, not cached: {why}"),
                        (false, false, None) => "downloaded".to_string(),
                    };
                    format!("{name} ({}, {how})", bytes(f.bytes))
                })
                .collect::<Vec<_>>()
                .join("; ");
            let ready_ms = models.first_ready_ms.get().unwrap_or(0.0);
            view! {
                <dl id="model-info" class="card" data-arch=m.arch.as_str() data-name=m.name.clone()
                    data-params=m.parameters.to_string() data-memory-bytes=m.memory_bytes.to_string()
                    data-from-cache=from_cache.to_string()
                    data-not-stored=not_stored.to_string()
                    data-ready-ms=format!("{ready_ms:.0}")>
                    <dt>"In the playground"</dt><dd>{m.name.clone()}</dd>
                    <dt>"Architecture"</dt><dd>{m.arch.label()}</dd>
                    <dt>"Parameters"</dt><dd>{group_digits(m.parameters)}</dd>
                    <dt>"Shape"</dt>
                    <dd>{format!("{} layers × {} wide, vocab {}, context {}", m.layers, m.hidden_size, m.vocab_size, m.context_length)}</dd>
                    <dt>"Tensor types"</dt><dd>{types}</dd>
                    <dt>"Memory"</dt><dd>{format!("{} once built", bytes(m.memory_bytes))}</dd>
                    <dt>"Files"</dt><dd id="model-files">{sources}</dd>
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
