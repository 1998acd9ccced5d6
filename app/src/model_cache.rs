use leptos::prelude::*;

use crate::model_panel::bytes;
use crate::models::Models;

/// The model files this browser keeps, and a button to forget them all.
#[component]
pub fn ModelCache() -> impl IntoView {
    let models = expect_context::<Models>();
    let files = move || models.cache.get().map(|c| c.files).unwrap_or_default();
    let summary = move || {
        let files = files();
        let total: u64 = files.iter().map(|f| f.bytes).sum();
        match files.len() {
            0 => "No model files are cached in this browser.".to_string(),
            n => format!("{n} model files cached in this browser, {}.", bytes(total)),
        }
    };
    view! {
        <div id="model-cache" class="cache" data-files=move || files().len().to_string()
            data-version=move || models.cache_version.get().to_string()>
            // Folded: the list grows as models load in the background, and
            // must not push the playground down under the user's pointer.
            <details>
                <summary>{summary}</summary>
                <ul>
                    {move || files().into_iter().map(|f| {
                        let name = f.url.rsplit('/').next().unwrap_or(&f.url).to_string();
                        view! { <li data-url=f.url.clone() title=f.url.clone()>{format!("{name} — {}", bytes(f.bytes))}</li> }
                    }).collect_view()}
                </ul>
            </details>
            {move || models.cache.get().and_then(|c| c.note).map(|n| view! { <p class="notice">{n}</p> })}
            <button id="clear-cache" class="secondary" on:click=move |_| models.clear_cache()
                disabled=move || files().is_empty()>
                "Clear cached models"
            </button>
        </div>
    }
}
