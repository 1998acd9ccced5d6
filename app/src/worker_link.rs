//! The one Web Worker that runs the models. Requests go out typed, events
//! come back typed; if the worker dies the page is told and a new one starts.

use std::cell::{Cell, RefCell};

use protocol::{Event, Request, RequestId};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker};

thread_local! {
    static WORKER: RefCell<Option<Worker>> = const { RefCell::new(None) };
    static NEXT_ID: Cell<RequestId> = const { Cell::new(1) };
}

/// A fresh id for a request.
pub fn next_id() -> RequestId {
    NEXT_ID.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    })
}

/// Starts (or restarts) the worker; `on_event` receives its events, `on_death`
/// a sentence when it crashes.
pub fn start(on_event: impl Fn(Event) + 'static, on_death: impl Fn(String) + 'static) {
    if let Some(old) = WORKER.with(|w| w.borrow_mut().take()) {
        old.terminate();
    }
    // trunk's loader shim starts the Rust worker (see index.html).
    let worker = match Worker::new("./worker_loader.js") {
        Ok(w) => w,
        Err(e) => {
            on_death(format!(
                "the browser refused to start the model worker: {e:?}"
            ));
            return;
        }
    };
    let onmessage = Closure::<dyn Fn(MessageEvent)>::new(move |ev: MessageEvent| {
        match serde_wasm_bindgen::from_value::<Event>(ev.data()) {
            Ok(event) => on_event(event),
            Err(e) => web_sys::console::error_1(&format!("unreadable worker event: {e}").into()),
        }
    });
    let onerror = Closure::<dyn Fn(ErrorEvent)>::new(move |ev: ErrorEvent| {
        ev.prevent_default();
        on_death(ev.message());
    });
    worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
    onmessage.forget();
    onerror.forget();
    WORKER.with(|w| *w.borrow_mut() = Some(worker));
}

pub fn send(request: &Request) {
    let Ok(value) = serde_wasm_bindgen::to_value(request) else {
        return;
    };
    WORKER.with(|w| {
        if let Some(worker) = w.borrow().as_ref() {
            let _ = worker.post_message(&value);
        }
    });
}
