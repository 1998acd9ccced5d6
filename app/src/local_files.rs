//! Models from the user's own disk: a file picker and drag-and-drop. The
//! files become object URLs that the worker fetches like any other address,
//! so they take exactly the path downloaded models take (but are not cached).

use leptos::prelude::*;
use protocol::ModelSpec;
use wasm_bindgen::JsCast;
use web_sys::{File, FileList};

use crate::models::Models;

/// Which role each chosen file plays.
#[derive(Default)]
struct Chosen {
    weights: Vec<File>,
    config: Option<File>,
    tokenizer: Option<File>,
}

fn sort_files(list: &FileList) -> Chosen {
    let mut chosen = Chosen::default();
    for i in 0..list.length() {
        let Some(file) = list.get(i) else { continue };
        let name = file.name().to_lowercase();
        if name.ends_with(".gguf") || name.ends_with(".safetensors") {
            chosen.weights.push(file);
        } else if name.ends_with(".json") && name.contains("tokenizer") {
            chosen.tokenizer = Some(file);
        } else if name.ends_with(".json") {
            chosen.config = Some(file);
        }
    }
    chosen
}

fn load_files(models: Models, list: &FileList) {
    let chosen = sort_files(list);
    let weights = match chosen.weights.as_slice() {
        [one] => one.clone(),
        [] => {
            models.link.error.set(Some(
                "None of those files is a model: choose a .gguf or .safetensors file (with its config.json or tokenizer.json if it needs them).".into(),
            ));
            return;
        }
        _ => {
            models.link.error.set(Some(
                "Choose one model file at a time (one .gguf or .safetensors).".into(),
            ));
            return;
        }
    };
    let mut urls = Vec::new();
    let mut url_of = |file: &File| {
        let url = web_sys::Url::create_object_url_with_blob(file).ok()?;
        urls.push(url.clone());
        Some(url)
    };
    let Some(weights_url) = url_of(&weights) else {
        models
            .link
            .error
            .set(Some("The browser would not open that file.".into()));
        return;
    };
    let spec = ModelSpec {
        name: weights.name(),
        weights_url,
        config_url: chosen.config.as_ref().and_then(&mut url_of),
        tokenizer_url: chosen.tokenizer.as_ref().and_then(&mut url_of),
        weights_bytes: None,
        weights_sha256: None,
    };
    let id = models.load(spec);
    models
        .local_urls
        .update_value(|all| all.extend(urls.into_iter().map(|u| (id, u))));
}

#[component]
pub fn LocalFiles() -> impl IntoView {
    let models = expect_context::<Models>();
    let (over, set_over) = signal(false);
    let picked = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        if let Some(list) = input.files() {
            load_files(models, &list);
        }
        // Choosing the same file again must fire `change` again.
        input.set_value("");
    };
    let dropped = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        set_over.set(false);
        if let Some(list) = ev.data_transfer().and_then(|d| d.files()) {
            load_files(models, &list);
        }
    };
    view! {
        <div id="drop-zone" class="drop-zone" class:over=over
            on:dragover=move |ev: leptos::ev::DragEvent| { ev.prevent_default(); set_over.set(true); }
            on:dragleave=move |_| set_over.set(false)
            on:drop=dropped>
            <label>
                "Your own model: drop a .gguf (with its config.json / tokenizer.json) here, or "
                <input id="local-files" type="file" multiple accept=".gguf,.safetensors,.json"
                    on:change=picked/>
            </label>
        </div>
    }
}
