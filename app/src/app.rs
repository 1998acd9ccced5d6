use leptos::prelude::*;

use crate::lab::Lab;
use crate::model_panel::ModelPanel;
use crate::playground::Playground;
use crate::status::StatusBar;
use crate::tokenizer_panel::TokenizerPanel;

#[component]
pub fn App() -> impl IntoView {
    let lab = Lab::new();
    provide_context(lab);
    lab.connect();
    lab.load_tasks();
    view! {
        <header>
            <h1>"Pretrain Lab"</h1>
            <p class="tagline">"Pretrained Transformers in your browser: nothing leaves this page."</p>
            <StatusBar/>
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
