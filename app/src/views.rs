//! The page's views as tabs. The chosen view lives in the URL's `view`
//! query parameter, read through leptos_router: a static host serves one
//! file at any depth, so a query (not a path) is what every host keeps, and
//! a share link opens the view it was made from.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::classify::Classify;
use crate::compare::Compare;
use crate::lessons::Lessons;
use crate::playground::Playground;
use crate::tokenizer_panel::TokenizerPanel;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Playground,
    Compare,
    Classify,
    Lessons,
}

impl View {
    pub const ALL: [View; 4] = [
        View::Playground,
        View::Compare,
        View::Classify,
        View::Lessons,
    ];

    /// The name in the URL (`?view=compare`).
    pub fn as_str(self) -> &'static str {
        match self {
            View::Playground => "playground",
            View::Compare => "compare",
            View::Classify => "classify",
            View::Lessons => "lessons",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            View::Playground => "Playground",
            View::Compare => "Compare T5 and GPT-2",
            View::Classify => "Classification head",
            View::Lessons => "Lessons",
        }
    }

    /// The view a `view` parameter names; none or an unknown one is the
    /// playground.
    pub fn named(name: Option<&str>) -> View {
        View::ALL
            .into_iter()
            .find(|v| Some(v.as_str()) == name)
            .unwrap_or(View::Playground)
    }
}

/// The view the URL names (tracked).
pub fn current_view() -> Memo<View> {
    let query = use_query_map();
    Memo::new(move |_| query.with(|q| View::named(q.get_str("view"))))
}

/// The tab bar: links the router follows without reloading. Arrow keys,
/// Home and End move between tabs (the WAI-ARIA tabs pattern).
#[component]
pub fn Tabs() -> impl IntoView {
    let view = current_view();
    let keys = move |ev: leptos::ev::KeyboardEvent| {
        let now = View::ALL
            .iter()
            .position(|v| *v == view.get_untracked())
            .unwrap_or(0);
        let last = View::ALL.len() - 1;
        let next = match ev.key().as_str() {
            "ArrowRight" => (now + 1) % View::ALL.len(),
            "ArrowLeft" => (now + last) % View::ALL.len(),
            "Home" => 0,
            "End" => last,
            _ => return,
        };
        ev.prevent_default();
        let id = format!("tab-{}", View::ALL[next].as_str());
        if let Some(tab) = document().get_element_by_id(&id) {
            use wasm_bindgen::JsCast;
            if let Ok(tab) = tab.dyn_into::<web_sys::HtmlElement>() {
                let _ = tab.focus();
                tab.click();
            }
        }
    };
    view! {
        <nav id="tabs" class="tabs" role="tablist" aria-label="Views" on:keydown=keys>
            {View::ALL.into_iter().map(|v| {
                let selected = move || view.get() == v;
                view! {
                    <a id=format!("tab-{}", v.as_str()) role="tab" href=format!("?view={}", v.as_str())
                        class:active=selected aria-selected=move || selected().to_string()
                        tabindex=move || if selected() { "0" } else { "-1" }>
                        {v.label()}
                    </a>
                }
            }).collect_view()}
        </nav>
    }
}

/// The view the URL names, below the tabs.
#[component]
pub fn CurrentView() -> impl IntoView {
    let view = current_view();
    move || match view.get() {
        View::Playground => view! {
            <div role="tabpanel" id="view-playground" aria-labelledby="tab-playground">
                <Playground/>
                <TokenizerPanel/>
            </div>
        }
        .into_any(),
        View::Compare => view! {
            <div role="tabpanel" id="view-compare" aria-labelledby="tab-compare">
                <Compare/>
            </div>
        }
        .into_any(),
        View::Classify => view! {
            <div role="tabpanel" id="view-classify" aria-labelledby="tab-classify">
                <Classify/>
            </div>
        }
        .into_any(),
        View::Lessons => view! {
            <div role="tabpanel" id="view-lessons" aria-labelledby="tab-lessons">
                <Lessons/>
            </div>
        }
        .into_any(),
    }
}
