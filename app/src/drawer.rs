//! The model manager as a drawer every view can open: the first screen is
//! a working demo, and the catalog, addresses, local files and cache are one
//! click away. It stays in the page while closed, so a download keeps going.

use leptos::prelude::*;

use crate::model_panel::ModelPanel;
use crate::models::Models;

/// The header's button that opens and closes the drawer; while a model
/// loads it says which, so a closed drawer hides nothing that is going on.
#[component]
pub fn ModelsButton() -> impl IntoView {
    let models = expect_context::<Models>();
    let open = models.drawer_open;
    let label = move || {
        let loading = models.loading.get().is_some();
        let percent = models.download.with(|d| {
            d.as_ref()
                .and_then(|d| d.total.map(|t| 100.0 * d.loaded as f64 / t.max(1) as f64))
        });
        match (loading, percent) {
            (true, Some(p)) => format!("Models · loading {} {p:.0}%", models.loading_model.get()),
            (true, None) => format!("Models · loading {}…", models.loading_model.get()),
            (false, _) => "Models".to_string(),
        }
    };
    view! {
        <button id="models-toggle" class="secondary" aria-controls="model-drawer"
            aria-expanded=move || open.get().to_string()
            on:click=move |_| open.update(|o| *o = !*o)>
            {label}
        </button>
    }
}

/// The side column holding the model manager.
#[component]
pub fn ModelDrawer() -> impl IntoView {
    let models = expect_context::<Models>();
    let open = models.drawer_open;
    view! {
        <aside id="model-drawer" class="drawer" class:open=move || open.get()
            hidden=move || !open.get() aria-label="Models">
            <button id="close-drawer" class="secondary dismiss" on:click=move |_| open.set(false)>
                "Close"
            </button>
            <ModelPanel/>
        </aside>
    }
}
