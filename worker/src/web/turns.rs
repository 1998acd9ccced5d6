//! Long requests (loads, generations, features, sweeps) take turns: one runs,
//! the later ones wait in the order they came, and the page is told so
//! ([`Event::Queued`], then [`Event::Running`]). Without this, two
//! generations would interleave their tokens silently, and a load would
//! replace a model in the middle of a sweep's batches.

use std::cell::RefCell;
use std::collections::VecDeque;

use js_sys::{Function, Promise};
use protocol::{Event, RequestId};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use super::post;

#[derive(Default)]
struct Turns {
    running: Option<RequestId>,
    waiting: VecDeque<(RequestId, Function)>,
}

thread_local! {
    static TURNS: RefCell<Turns> = RefCell::new(Turns::default());
}

/// The running request's turn: dropping it (however the request ends)
/// starts the next one.
pub(super) struct Turn;

impl Drop for Turn {
    fn drop(&mut self) {
        let next = TURNS.with(|t| {
            let mut turns = t.borrow_mut();
            let next = turns.waiting.pop_front();
            turns.running = next.as_ref().map(|(id, _)| *id);
            next
        });
        if let Some((id, start)) = next {
            post(&Event::Running { id });
            let _ = start.call0(&JsValue::UNDEFINED);
        }
    }
}

/// Waits until request `id` may run.
pub(super) async fn take(id: RequestId) -> Turn {
    let mut waiting = None;
    let promise = Promise::new(&mut |resolve, _| {
        TURNS.with(|t| {
            let mut turns = t.borrow_mut();
            match turns.running {
                None => turns.running = Some(id),
                Some(running) => {
                    // The request just ahead in the line.
                    waiting = Some(turns.waiting.back().map_or(running, |(ahead, _)| *ahead));
                    turns.waiting.push_back((id, resolve));
                }
            }
        })
    });
    if let Some(behind) = waiting {
        post(&Event::Queued { id, behind });
        let _ = JsFuture::from(promise).await;
    }
    Turn
}
