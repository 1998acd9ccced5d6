//! The one Web Worker that runs the models. Requests go out typed, events
//! come back typed; if the worker dies the page is told and a new one starts.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use leptos::prelude::*;
use protocol::{Event, Request, RequestId};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker};

thread_local! {
    static WORKER: RefCell<Option<Worker>> = const { RefCell::new(None) };
    static NEXT_ID: Cell<RequestId> = const { Cell::new(1) };
}

#[derive(Clone, Debug, PartialEq)]
pub enum WorkerStatus {
    Starting,
    Ready {
        simd: bool,
        relaxed_simd: bool,
        version: String,
    },
    /// Crashed; the sentence says why. A new worker is being started.
    Restarting(String),
}

/// The worker as the page sees it, and the one error banner every view
/// writes its failures to.
#[derive(Clone, Copy)]
pub struct Link {
    pub status: RwSignal<WorkerStatus>,
    /// A failure as a sentence; the rest of the page stays usable.
    pub error: RwSignal<Option<String>>,
    /// Long requests waiting for the running one to finish (the worker runs
    /// them one at a time, in order).
    pub waiting: RwSignal<Vec<RequestId>>,
}

impl Link {
    pub fn new() -> Self {
        Self {
            status: RwSignal::new(WorkerStatus::Starting),
            error: RwSignal::new(None),
            waiting: RwSignal::new(Vec::new()),
        }
    }

    pub fn ready(self) -> bool {
        matches!(self.status.get_untracked(), WorkerStatus::Ready { .. })
    }

    /// Posts `request`; a message the browser refuses becomes the banner's
    /// sentence and `false`, so the caller can undo what it set up.
    pub fn send(self, request: &Request) -> bool {
        match post(request) {
            Ok(()) => true,
            Err(why) => {
                self.error.set(Some(format!(
                    "The page could not reach the model worker: {why}"
                )));
                false
            }
        }
    }

    /// Starts the worker. `on_event` gets each event after the link has
    /// noted what it owns; `on_death` runs when the worker crashed, before
    /// a new one starts with the same handlers.
    pub fn connect(self, on_event: impl Fn(Event) + 'static, on_death: impl Fn() + 'static) {
        self.start_with(Rc::new(on_event), Rc::new(on_death));
    }

    fn start_with(self, on_event: Rc<dyn Fn(Event)>, on_death: Rc<dyn Fn()>) {
        let events = on_event.clone();
        start(
            move |event| {
                match &event {
                    Event::Ready {
                        simd,
                        relaxed_simd,
                        version,
                    } => self.status.set(WorkerStatus::Ready {
                        simd: *simd,
                        relaxed_simd: *relaxed_simd,
                        version: version.clone(),
                    }),
                    Event::Error { message, .. } => self.error.set(Some(message.clone())),
                    Event::Queued { id, .. } => self.waiting.update(|w| w.push(*id)),
                    Event::Running { id } => self.waiting.update(|w| w.retain(|x| x != id)),
                    _ => {}
                }
                events(event);
            },
            move |why| {
                self.status.set(WorkerStatus::Restarting(why.clone()));
                self.waiting.set(Vec::new());
                // A wasm allocation that fails ends in an `unreachable` trap.
                let memory = if why.contains("unreachable") || why.contains("memory") {
                    " It may have run out of memory: a smaller or more quantized model fits better."
                } else {
                    ""
                };
                self.error.set(Some(format!(
                    "The model worker crashed ({why}). A new one started: the models it held \
                     load again, and your text is as you left it.{memory}"
                )));
                on_death();
                self.start_with(on_event.clone(), on_death.clone());
            },
        );
    }
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
fn start(on_event: impl Fn(Event) + 'static, on_death: impl Fn(String) + 'static) {
    if let Some(old) = WORKER.with(|w| w.borrow_mut().take()) {
        old.terminate();
    }
    let worker = match worker_script().and_then(|url| Worker::new(&url)) {
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

/// The worker's script: a blob that loads trunk's worker build by its full
/// address. A worker started from a blob keeps the page's
/// Content-Security-Policy (one started from a file would have none), so
/// its downloads are held to the same `connect-src` as the page.
fn worker_script() -> Result<String, JsValue> {
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let base = window
        .document()
        .and_then(|d| d.base_uri().ok().flatten())
        .ok_or_else(|| JsValue::from_str("the page has no address"))?;
    let build = worker_build(&window);
    let at = |file: &str| web_sys::Url::new_with_base(file, &base).map(|u| u.href());
    let script = format!(
        "self.pretrainLabPage = {base:?}; importScripts({:?}); wasm_bindgen({:?});",
        at(&format!("{build}.js"))?,
        at(&format!("{build}_bg.wasm"))?
    );
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/javascript");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(
        &js_sys::Array::of1(&JsValue::from_str(&script)),
        &options,
    )?;
    web_sys::Url::create_object_url_with_blob(&blob)
}

/// Which worker build to load, as `static/simd-check.js` chose it: the
/// relaxed-SIMD one where the browser validates relaxed SIMD, else the
/// SIMD128 one.
fn worker_build(window: &web_sys::Window) -> &'static str {
    let chosen = js_sys::Reflect::get(window, &"pretrainLabWorkerBuild".into())
        .ok()
        .and_then(|v| v.as_string());
    match chosen.as_deref() {
        Some("worker_relaxed") => "worker_relaxed",
        _ => "worker",
    }
}

fn post(request: &Request) -> Result<(), String> {
    let value = serde_wasm_bindgen::to_value(request).map_err(|e| e.to_string())?;
    WORKER.with(|w| match w.borrow().as_ref() {
        Some(worker) => worker.post_message(&value).map_err(|e| format!("{e:?}")),
        None => Err("it is not running".to_string()),
    })
}
