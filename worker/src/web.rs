//! The Web Worker: receives [`Request`]s from the page, answers with
//! [`Event`]s. Long work is async and yields between tokens, so a Cancel
//! posted by the page is seen before the next token is computed.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use js_sys::{Promise, Reflect};
use protocol::{Event, GenerationSettings, HeldModel, ModelRef, Request, RequestId};
use tokenizers::Tokenizer;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{DedicatedWorkerGlobalScope, MessageChannel, MessageEvent};

use crate::generation::Generation;
use crate::session::{tokenizer_from_bytes, Session};
use download::{fetch_bytes, LoadFailure};

mod cache;
mod classify;
mod download;
mod load;
pub mod threads;
mod turns;

/// A loaded model and what the page is told about it.
struct Held {
    session: Rc<Session>,
    about: HeldModel,
}

#[derive(Default)]
struct State {
    /// One model per architecture, in the order they were loaded.
    held: Vec<Held>,
    tokenizers: HashMap<String, Rc<Tokenizer>>,
    cancelled: HashSet<RequestId>,
    features: Option<classify::HeldFeatures>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// True once if the page cancelled `id` (the mark is taken away).
fn take_cancel(id: RequestId) -> bool {
    STATE.with(|s| s.borrow_mut().cancelled.remove(&id))
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(event: &Event) {
    match serde_wasm_bindgen::to_value(event) {
        Ok(value) => {
            if let Err(e) = scope().post_message(&value) {
                web_sys::console::error_2(&"worker: postMessage failed".into(), &e);
            }
        }
        Err(e) => web_sys::console::error_1(&format!("worker: cannot encode {e}").into()),
    }
}

fn js_error(e: JsValue) -> String {
    e.as_string()
        .or_else(|| {
            Reflect::get(&e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| format!("{e:?}"))
}

/// Installs the message handler and tells the page the worker is ready.
pub fn start() {
    if threads::is_helper() {
        return threads::serve();
    }
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(|event: MessageEvent| {
        match serde_wasm_bindgen::from_value::<Request>(event.data()) {
            Ok(request) => handle(request),
            Err(e) => post(&Event::Error {
                id: None,
                message: format!("the worker got a message it does not understand: {e}"),
            }),
        }
    });
    scope().set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();
    post(&Event::Ready {
        simd: cfg!(target_feature = "simd128"),
        relaxed_simd: cfg!(feature = "relaxed-simd"),
        version: env!("CARGO_PKG_VERSION").to_string(),
    });
}

fn handle(request: Request) {
    match request {
        Request::Hello => post(&Event::Ready {
            simd: cfg!(target_feature = "simd128"),
            relaxed_simd: cfg!(feature = "relaxed-simd"),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }),
        Request::Cancel { id } => STATE.with(|s| {
            s.borrow_mut().cancelled.insert(id);
        }),
        Request::Tokenize {
            id,
            tokenizer_url,
            text,
        } => spawn_local(async move {
            if let Err(message) = tokenize(id, &tokenizer_url, &text).await {
                post(&Event::Error {
                    id: Some(id),
                    message,
                });
            }
        }),
        Request::Load { id, model } => spawn_local(async move {
            let _turn = turns::take(id).await;
            match load::load(id, model).await {
                Ok(()) => {}
                Err(LoadFailure::Cancelled) => post(&Event::LoadCancelled { id }),
                Err(LoadFailure::Failed(message)) => post(&Event::Error {
                    id: Some(id),
                    message,
                }),
            }
            STATE.with(|s| s.borrow_mut().cancelled.remove(&id));
        }),
        Request::ListCache { id } => spawn_local(async move {
            post(&cache::contents(id, false).await);
        }),
        Request::ClearCache { id } => spawn_local(async move {
            post(&cache::contents(id, true).await);
        }),
        Request::Features { id, model, texts } => spawn_local(async move {
            let _turn = turns::take(id).await;
            let outcome = classify::features(id, model, texts).await;
            STATE.with(|s| s.borrow_mut().cancelled.remove(&id));
            report_failure(id, outcome);
        }),
        Request::TrainHead {
            id,
            features,
            layer,
            pooling,
            set,
            settings,
        } => report_failure(
            id,
            classify::train_head(id, features, layer, pooling, set, settings),
        ),
        Request::Sweep {
            id,
            features,
            set,
            settings,
        } => spawn_local(async move {
            let _turn = turns::take(id).await;
            let outcome = classify::sweep(id, features, set, settings).await;
            STATE.with(|s| s.borrow_mut().cancelled.remove(&id));
            report_failure(id, outcome);
        }),
        Request::Classify { id, model, .. }
        | Request::Attention { id, model, .. }
        | Request::Batch { id, model, .. }
        | Request::Predict { id, model, .. }
        | Request::LabelAnswers { id, model, .. } => answer(id, model, &request),
        Request::SetThreads { id, threads } => spawn_local(async move {
            let _turn = turns::take(id).await;
            post(&threads::set(id, threads).await);
        }),
        Request::Generate {
            id,
            model,
            prompt,
            settings,
        } => spawn_local(async move {
            let _turn = turns::take(id).await;
            if let Err(message) = generate(id, model, &prompt, settings).await {
                post(&Event::Error {
                    id: Some(id),
                    message,
                });
            }
        }),
    }
}

/// Tells the page of a request's failure, as a sentence.
fn report_failure(id: RequestId, outcome: Result<(), String>) {
    if let Err(message) = outcome {
        post(&Event::Error {
            id: Some(id),
            message,
        });
    }
}

/// Answers request `id` at once from the held model `model`: the event
/// [`crate::answers::answer`] makes, or its failure as a sentence.
fn answer(id: RequestId, model: ModelRef, request: &Request) {
    let event =
        held_session(model).and_then(|session| match crate::answers::answer(&session, request) {
            Some(event) => event.map_err(|e| crate::plain_error(&e)),
            None => Err("the worker cannot answer this request at once".into()),
        });
    post(&event.unwrap_or_else(|message| Event::Error {
        id: Some(id),
        message,
    }));
}

/// The held model `model` names. One that a newer load replaced is refused:
/// the request was meant for the model the page showed when it was sent.
fn held_session(model: ModelRef) -> Result<Rc<Session>, String> {
    STATE.with(|s| {
        let state = s.borrow();
        let held = state
            .held
            .iter()
            .find(|h| h.about.info.arch == model.arch)
            .ok_or_else(|| format!("no {} model is loaded: load one first", model.arch))?;
        if held.about.load != model.load {
            return Err(format!(
                "the {} model changed to {} while this request was on its way: run it again",
                model.arch, held.about.info.name
            ));
        }
        Ok(held.session.clone())
    })
}

async fn tokenizer(url: &str) -> Result<Rc<Tokenizer>, String> {
    if let Some(t) = STATE.with(|s| s.borrow().tokenizers.get(url).cloned()) {
        return Ok(t);
    }
    let bytes = fetch_bytes(url).await?;
    let t = Rc::new(tokenizer_from_bytes(&bytes).map_err(|e| crate::plain_error(&e))?);
    STATE.with(|s| s.borrow_mut().tokenizers.insert(url.to_string(), t.clone()));
    Ok(t)
}

async fn tokenize(id: RequestId, url: &str, text: &str) -> Result<(), String> {
    let tokenizer = tokenizer(url).await?;
    let encoding = tokenizer.encode(text, true).map_err(|e| e.to_string())?;
    post(&Event::Tokenized {
        id,
        ids: encoding.get_ids().to_vec(),
        tokens: encoding.get_tokens().to_vec(),
    });
    Ok(())
}

async fn generate(
    id: RequestId,
    model: ModelRef,
    prompt: &str,
    settings: GenerationSettings,
) -> Result<(), String> {
    let session = held_session(model)?;
    if prompt.trim().is_empty() {
        return Err("the prompt is empty: type something first".into());
    }
    let prompt_ids = session.encode(prompt).map_err(|e| crate::plain_error(&e))?;
    let shared_before = threads::in_use().1;
    let mut runner = session.runner();
    let mut generation = Generation::start(
        &mut runner,
        &session.tokenizer,
        prompt_ids,
        settings.clone(),
    )
    .map_err(|e| crate::plain_error(&e))?;
    post(&Event::Started {
        id,
        model: session.info.name.clone(),
        prompt_ids: generation.prompt_ids().to_vec(),
        settings,
    });
    loop {
        // Let queued messages (Cancel) run before computing the next token.
        yield_to_event_loop().await;
        if take_cancel(id) {
            generation.cancel();
        }
        match generation
            .next_token()
            .map_err(|e| crate::plain_error(&e))?
        {
            Some(step) => post(&Event::Token { id, step }),
            None => break,
        }
    }
    STATE.with(|s| s.borrow_mut().cancelled.remove(&id));
    let mut stats = generation.stats().clone();
    (stats.threads, stats.shared_matmuls) = threads::in_use();
    stats.shared_matmuls = stats.shared_matmuls.saturating_sub(shared_before);
    post(&Event::Done {
        id,
        reason: generation
            .finished()
            .unwrap_or(protocol::StopReason::MaxTokens),
        stats,
    });
    Ok(())
}

/// A MessageChannel round trip: unlike `setTimeout` it is not clamped to 4 ms.
async fn yield_to_event_loop() {
    let Ok(channel) = MessageChannel::new() else {
        return;
    };
    let promise = Promise::new(&mut |resolve, _| {
        channel.port1().set_onmessage(Some(&resolve));
    });
    let _ = channel.port2().post_message(&JsValue::UNDEFINED);
    let _ = JsFuture::from(promise).await;
    channel.port1().set_onmessage(None);
}
