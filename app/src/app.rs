use leptos::prelude::*;

use crate::model_panel::ModelPanel;
use crate::models::Models;
use crate::persist;
use crate::playground::state::PlaygroundState;
use crate::playground::Playground;
use crate::prefs::Prefs;
use crate::status::StatusBar;
use crate::tokenizer_panel::{TokenizerPanel, Tokens};
use crate::worker_link::Link;

#[component]
pub fn App() -> impl IntoView {
    // Small contexts, each owning its part of the worker's events.
    let link = Link::new();
    let playground = PlaygroundState::new(link, RwSignal::new(Vec::new()));
    let models = Models::new(link, playground);
    let tokens = Tokens::new(link);
    let prefs = Prefs::new();
    provide_context(link);
    provide_context(playground);
    provide_context(models);
    provide_context(tokens);
    provide_context(prefs);

    let autoload = persist::restore(models, prefs);
    models.autoload.set(autoload);
    persist::keep_saved(models, prefs);
    prefs.apply_to_page();
    link.connect(
        move |event| {
            models.on_event(&event);
            playground.on_event(&event);
            tokens.on_event(&event);
        },
        move || {
            models.worker_died();
            playground.worker_died();
        },
    );
    playground.load_tasks();
    models.load_catalog();
    // Esc stops a run wherever the focus is, as the hint says.
    let esc = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" && playground.generating() {
            playground.stop();
        }
    });
    std::mem::forget(esc);
    view! {
        <header>
            <h1>"Pretrain Lab"</h1>
            <p class="tagline">"Pretrained Transformers in your browser: nothing leaves this page."</p>
            <StatusBar/>
            <Toolbar/>
        </header>
        <ErrorBanner/>
        <main>
            <ModelPanel/>
            <Playground/>
            <TokenizerPanel/>
        </main>
    }
}

/// Worker errors as plain sentences; the rest of the page stays usable.
#[component]
fn ErrorBanner() -> impl IntoView {
    let link = expect_context::<Link>();
    move || {
        link.error.get().map(|message| {
            view! {
                <div id="error" class="error" role="alert">
                    <span>{message}</span>
                    <button class="dismiss" on:click=move |_| link.error.set(None)>"Dismiss"</button>
                </div>
            }
        })
    }
}

/// Share link, projector mode and theme.
#[component]
fn Toolbar() -> impl IntoView {
    let models = expect_context::<Models>();
    let prefs = expect_context::<Prefs>();
    let (link, set_link) = signal(String::new());
    view! {
        <div class="row toolbar">
            <button id="share" class="secondary" on:click=move |_| set_link.set(persist::share_url(models))>
                "Share link"
            </button>
            <Show when=move || !link.get().is_empty()>
                <input id="share-url" type="text" readonly prop:value=link
                    on:focus=move |ev| {
                        use wasm_bindgen::JsCast;
                        if let Some(input) = ev.target()
                            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                            input.select();
                        }
                    }/>
            </Show>
            <label class="inline">
                <input id="projector" type="checkbox" prop:checked=move || prefs.projector.get()
                    on:change=move |ev| prefs.projector.set(event_target_checked(&ev))/>
                "Projector mode"
            </label>
            <select id="theme" on:change=move |ev| prefs.theme.set(event_target_value(&ev))>
                <option value="" selected=move || prefs.theme.get().is_empty()>"System theme"</option>
                <option value="light" selected=move || prefs.theme.get() == "light">"Light"</option>
                <option value="dark" selected=move || prefs.theme.get() == "dark">"Dark"</option>
            </select>
        </div>
    }
}
