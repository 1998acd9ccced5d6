//! The opt-in second thread: a checkbox, and what the worker says it uses.

use leptos::prelude::*;
use protocol::{Event, Request};

use crate::worker_link::{next_id, Link};

#[derive(Clone, Copy)]
pub struct Threads {
    link: Link,
    /// The user asked for two threads.
    pub wanted: RwSignal<bool>,
    /// What the worker last said it runs on.
    pub in_use: RwSignal<u32>,
    /// Why it runs on fewer than asked, as a sentence.
    pub note: RwSignal<Option<String>>,
}

impl Threads {
    pub fn new(link: Link) -> Self {
        Self {
            link,
            wanted: RwSignal::new(false),
            in_use: RwSignal::new(1),
            note: RwSignal::new(None),
        }
    }

    pub fn ask(self, two: bool) {
        self.wanted.set(two);
        self.link.send(&Request::SetThreads {
            id: next_id(),
            threads: if two { 2 } else { 1 },
        });
    }

    pub fn on_event(self, event: &Event) {
        match event {
            // A new worker (first, or after a crash) starts on one thread.
            Event::Ready { .. } => {
                self.in_use.set(1);
                if self.wanted.get_untracked() {
                    self.ask(true);
                }
            }
            Event::Threads { threads, note, .. } => {
                self.in_use.set(*threads);
                self.note.set(note.clone());
                if *threads < 2 {
                    self.wanted.set(false);
                }
            }
            _ => {}
        }
    }
}

/// Whether the page may share memory with its workers (COOP and COEP).
fn isolated() -> bool {
    js_sys::Reflect::get(&window(), &"crossOriginIsolated".into())
        .map(|v| v.is_truthy())
        .unwrap_or(false)
}

#[component]
pub fn ThreadsToggle() -> impl IntoView {
    let threads = expect_context::<Threads>();
    let title = if isolated() {
        "Experimental: a second worker computes half of each large matrix product. \
         Long prompts on the larger hub models run about a fifth faster; the small lab \
         models run slower with it (see docs/speed.md). Half again the memory."
    } else {
        "Two threads need the page served cross-origin isolated (COOP and COEP headers)."
    };
    view! {
        <label class="inline" title=title>
            <input id="threads" type="checkbox" disabled=!isolated()
                data-threads=move || threads.in_use.get().to_string()
                prop:checked=move || threads.wanted.get()
                on:change=move |ev| threads.ask(event_target_checked(&ev))/>
            "Two threads"
        </label>
        {move || threads.note.get().map(|n| view! { <span id="threads-note" class="notice">{n}</span> })}
    }
}
