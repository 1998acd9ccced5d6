use leptos::prelude::*;

use leptos_router::components::Router;

use crate::attention::state::AttentionState;
use crate::batch::state::BatchState;
use crate::classify::state::ClassifyState;
use crate::compare::state::CompareState;
use crate::drawer::{ModelDrawer, ModelsButton};
use crate::models::Models;
use crate::persist;
use crate::playground::state::PlaygroundState;
use crate::prefs::Prefs;
use crate::status::StatusBar;
use crate::threads::{Threads, ThreadsToggle};
use crate::tokenizer_panel::Tokens;
use crate::views::{current_view, CurrentView, Tabs};
use crate::worker_link::Link;

#[component]
pub fn App() -> impl IntoView {
    // Small contexts, each owning its part of the worker's events.
    let link = Link::new();
    let playground = PlaygroundState::new(link, RwSignal::new(Vec::new()));
    let models = Models::new(link, playground);
    let tokens = Tokens::new(link);
    let compare = CompareState::new(link, models.held, playground.tasks);
    let attention = AttentionState::new(link);
    let batch = BatchState::new(link, models.held, playground.tasks);
    provide_context(batch);
    let classify = ClassifyState::new(link, models.held, playground.tasks);
    provide_context(classify);
    let prefs = Prefs::new();
    let threads = Threads::new(link);
    provide_context(threads);
    provide_context(attention);
    provide_context(link);
    provide_context(compare);
    provide_context(playground);
    provide_context(models);
    provide_context(tokens);
    provide_context(prefs);

    let autoload = persist::restore(models, compare, prefs);
    models.autoload.set(autoload);
    persist::keep_saved(models, compare, prefs);
    let linked_examples = classify.restore();
    classify.keep_saved();
    prefs.apply_to_page();
    link.connect(
        move |event| {
            models.on_event(&event);
            playground.on_event(&event);
            tokens.on_event(&event);
            compare.on_event(&event);
            attention.on_event(&event);
            batch.on_event(&event);
            classify.on_event(&event);
            threads.on_event(&event);
        },
        move || {
            models.worker_died();
            playground.worker_died();
            compare.worker_died();
            attention.worker_died();
            batch.worker_died();
            classify.worker_died();
        },
    );
    playground.load_tasks();
    models.load_catalog();
    classify.load_presets(linked_examples);
    // Esc stops a run wherever the focus is, as the hints say; with nothing
    // running it closes the model drawer.
    let esc = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() != "Escape" {
            return;
        }
        if playground.generating() {
            playground.stop();
        } else if compare.running() {
            compare.stop();
        } else if classify.busy() {
            classify.cancel();
        } else {
            models.drawer_open.set(false);
        }
    });
    std::mem::forget(esc);
    view! {
        <Router>
            <header>
                <h1>"Pretrain Lab"</h1>
                <p class="tagline">"Pretrained Transformers in your browser: nothing leaves this page."</p>
                <StatusBar/>
                <Toolbar/>
                <div class="row nav">
                    <Tabs/>
                    <ModelsButton/>
                </div>
            </header>
            <ErrorBanner/>
            <div class="layout">
                <main>
                    <CurrentView/>
                </main>
                <ModelDrawer/>
            </div>
        </Router>
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

/// Share link, projector mode, theme and threads.
#[component]
fn Toolbar() -> impl IntoView {
    let models = expect_context::<Models>();
    let compare = expect_context::<CompareState>();
    let classify = expect_context::<ClassifyState>();
    let prefs = expect_context::<Prefs>();
    let view = current_view();
    let (link, set_link) = signal(String::new());
    let (note, set_note) = signal(None::<String>);
    let share = move |_| {
        let shared = persist::share_url(models, compare, classify, view.get_untracked());
        set_link.set(shared.url);
        set_note.set(shared.note);
    };
    view! {
        <div class="row toolbar">
            <button id="share" class="secondary" on:click=share>
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
            {move || note.get().map(|n| view! { <span id="share-note" class="notice">{n}</span> })}
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
            <ThreadsToggle/>
        </div>
    }
}
