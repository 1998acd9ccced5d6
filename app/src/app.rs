use leptos::prelude::*;

use crate::lab::Lab;
use crate::model_panel::ModelPanel;
use crate::persist;
use crate::playground::Playground;
use crate::status::StatusBar;
use crate::tokenizer_panel::TokenizerPanel;

#[component]
pub fn App() -> impl IntoView {
    let lab = Lab::new();
    provide_context(lab);
    let autoload = persist::restore(lab);
    lab.autoload.set(autoload);
    persist::keep_saved(lab);
    lab.connect();
    lab.load_tasks();
    lab.load_catalog();
    // Projector mode and theme live on <html>, so the whole page follows.
    Effect::new(move |_| {
        let projector = lab.projector.get();
        let theme = lab.theme.get();
        if let Some(root) = document().document_element() {
            let _ = root.class_list().toggle_with_force("projector", projector);
            let _ = match theme.as_str() {
                "" => root.remove_attribute("data-theme"),
                t => root.set_attribute("data-theme", t),
            };
        }
    });
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
    let lab = expect_context::<Lab>();
    move || {
        lab.error.get().map(|message| {
            view! {
                <div id="error" class="error" role="alert">
                    <span>{message}</span>
                    <button class="dismiss" on:click=move |_| lab.error.set(None)>"Dismiss"</button>
                </div>
            }
        })
    }
}

/// Share link, projector mode and theme.
#[component]
fn Toolbar() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let (link, set_link) = signal(String::new());
    view! {
        <div class="row toolbar">
            <button id="share" class="secondary" on:click=move |_| set_link.set(persist::share_url(lab))>
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
                <input id="projector" type="checkbox" prop:checked=move || lab.projector.get()
                    on:change=move |ev| lab.projector.set(event_target_checked(&ev))/>
                "Projector mode"
            </label>
            <select id="theme" on:change=move |ev| lab.theme.set(event_target_value(&ev))>
                <option value="" selected=move || lab.theme.get().is_empty()>"System theme"</option>
                <option value="light" selected=move || lab.theme.get() == "light">"Light"</option>
                <option value="dark" selected=move || lab.theme.get() == "dark">"Dark"</option>
            </select>
        </div>
    }
}
