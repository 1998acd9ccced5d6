//! The opt-in second thread.
//!
//! Wasm threads proper need the standard library rebuilt with atomics
//! (nightly's `build-std`); this project builds on stable, so the second
//! thread is a second worker running the same wasm. It holds the later half
//! of the rows of every packed matrix, and each large matmul is split: the
//! activations go to it through a SharedArrayBuffer, both halves are computed
//! at once, its outputs come back the same way, and `Atomics` wakes each
//! side. A SharedArrayBuffer needs a cross-origin isolated page.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Weak};

use candle_core::Result;
use js_sys::{Array, Atomics, Float32Array, Int32Array, Promise, Reflect, SharedArrayBuffer};
use protocol::{Event, RequestId};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, Worker};

use crate::kernels::QuantMatrix;

mod helper;
pub use helper::{is_helper, serve};

// Slots of the control array.
const SEQ: u32 = 0; // the primary's job number
const DONE: u32 = 1; // the last job number the helper finished
const COMMAND: u32 = 2;
const ID_LOW: u32 = 3;
const ID_HIGH: u32 = 4;
const ROWS: u32 = 5;
const FAILED: u32 = 6;
const CONTROL_BYTES: u32 = 64;

const MATMUL: i32 = 1;
const QUIT: i32 = 2;

/// Room for one job's activations and the helper's outputs (16 MB); larger
/// jobs go through in row chunks.
const DATA_FLOATS: usize = 4 << 20;
/// Multiply-adds below which a split is not worth it: the hand-off costs
/// about a tenth of a millisecond, so one token's small matmuls (0.2 ms
/// whole) stay on one thread, while a prompt's and the output layer split.
const MIN_WORK: usize = 1 << 22;
/// How long to read a slot before sleeping on it: a sleeping thread takes
/// long to wake (a tenth of a millisecond and more in a VM), and the jobs of
/// one forward pass come well under a millisecond apart.
const SPIN_MS: f64 = 1.0;
/// A helper that has not answered by then is taken for dead.
const TIMEOUT_MS: f64 = 20_000.0;

struct Pool {
    helper: Worker,
    control: Int32Array,
    data: Float32Array,
    seq: i32,
    /// For each matrix the helper holds: the quad where its rows begin.
    parts: HashMap<u64, usize>,
    /// Matmuls split so far.
    jobs: u64,
}

thread_local! {
    static POOL: RefCell<Option<Pool>> = const { RefCell::new(None) };
    /// Every packed matrix made; those still alive are what the helper gets.
    static MATRICES: RefCell<Vec<Weak<QuantMatrix>>> = const { RefCell::new(Vec::new()) };
}

/// Notes a packed matrix, so that a helper started later gets its half.
pub fn register(matrix: &Arc<QuantMatrix>) {
    MATRICES.with(|m| {
        let mut m = m.borrow_mut();
        m.retain(|w| w.strong_count() > 0);
        m.push(Arc::downgrade(matrix));
    });
}

/// Threads in use (1 or 2) and matmuls split between them so far.
pub fn in_use() -> (u32, u64) {
    POOL.with(|p| match p.borrow().as_ref() {
        Some(pool) => (2, pool.jobs),
        None => (1, 0),
    })
}

/// `w`'s matmul, split with the helper when there is one and the work is
/// worth it. A helper that fails is dropped and the work done here.
pub fn matmul(w: &QuantMatrix, xs: &[f32], m: usize) -> Result<Vec<f32>> {
    let shared = POOL.with(|p| {
        p.borrow_mut()
            .as_mut()
            .and_then(|pool| pool.matmul(w, xs, m))
    });
    match shared {
        Some(Ok(out)) => return Ok(out),
        Some(Err(why)) => {
            stop();
            // Not an answer to any request: the page's toggle follows it.
            super::post(&Event::Threads {
                id: 0,
                threads: 1,
                note: Some(format!(
                    "The second thread stopped ({why}); the models run on one thread."
                )),
            });
        }
        None => {}
    }
    w.matmul(xs, m)
}

impl Pool {
    fn matmul(
        &mut self,
        w: &QuantMatrix,
        xs: &[f32],
        m: usize,
    ) -> Option<std::result::Result<Vec<f32>, String>> {
        let split = *self.parts.get(&w.id())?;
        let (n, cols) = (w.out_dim(), w.in_dim());
        let kept = (split * 4).min(n);
        let theirs = n - kept;
        let chunk = DATA_FLOATS / (cols + theirs);
        if m * n * cols < MIN_WORK || chunk == 0 || xs.len() != m * cols {
            return None;
        }
        let mut out = vec![0f32; m * n];
        let mut first = 0;
        while first < m {
            let rows = chunk.min(m - first);
            let xs = &xs[first * cols..(first + rows) * cols];
            if let Err(why) = self.job(w, xs, rows, split, &mut out[first * n..(first + rows) * n])
            {
                return Some(Err(why));
            }
            first += rows;
        }
        self.jobs += 1;
        Some(Ok(out))
    }

    /// One chunk of rows: the helper's columns and ours, into `out`.
    fn job(
        &mut self,
        w: &QuantMatrix,
        xs: &[f32],
        rows: usize,
        split: usize,
        out: &mut [f32],
    ) -> std::result::Result<(), String> {
        let (n, cols) = (w.out_dim(), w.in_dim());
        let kept = (split * 4).min(n);
        let theirs = n - kept;
        self.data.subarray(0, xs.len() as u32).copy_from(xs);
        let id = w.id();
        for (slot, value) in [
            (COMMAND, MATMUL),
            (ID_LOW, id as u32 as i32),
            (ID_HIGH, (id >> 32) as i32),
            (ROWS, rows as i32),
        ] {
            Atomics::store(&self.control, slot, value).map_err(js)?;
        }
        self.seq = self.seq.wrapping_add(1);
        Atomics::store(&self.control, SEQ, self.seq).map_err(js)?;
        Atomics::notify(&self.control, SEQ).map_err(js)?;
        let ours = w
            .matmul_quads(xs, rows, 0..split)
            .map_err(|e| e.to_string())?;
        self.wait_done()?;
        if Atomics::load(&self.control, FAILED).map_err(js)? != 0 {
            return Err("the helper could not compute its rows".into());
        }
        let mut helper = vec![0f32; rows * theirs];
        let at = (rows * cols) as u32;
        self.data
            .subarray(at, at + helper.len() as u32)
            .copy_to(&mut helper);
        for (r, row) in out.chunks_exact_mut(n).enumerate() {
            row[..kept].copy_from_slice(&ours[r * kept..(r + 1) * kept]);
            row[kept..].copy_from_slice(&helper[r * theirs..(r + 1) * theirs]);
        }
        Ok(())
    }

    fn wait_done(&self) -> std::result::Result<(), String> {
        loop {
            let done = spin(&self.control, DONE, |done| done == self.seq)?;
            if done == self.seq {
                return Ok(());
            }
            let woke =
                Atomics::wait_with_timeout(&self.control, DONE, done, TIMEOUT_MS).map_err(js)?;
            if woke == "timed-out" {
                return Err("the helper did not answer".into());
            }
        }
    }

    /// Asks the helper to leave its job loop, so that it reads messages again.
    fn quit(&mut self) -> std::result::Result<(), String> {
        Atomics::store(&self.control, COMMAND, QUIT).map_err(js)?;
        self.seq = self.seq.wrapping_add(1);
        Atomics::store(&self.control, SEQ, self.seq).map_err(js)?;
        Atomics::notify(&self.control, SEQ).map_err(js)?;
        self.wait_done()
    }
}

/// Reads `slot` until `wanted` holds or [`SPIN_MS`] pass: its last value.
fn spin(
    control: &Int32Array,
    slot: u32,
    wanted: impl Fn(i32) -> bool,
) -> std::result::Result<i32, String> {
    let clock = js_sys::global()
        .unchecked_into::<web_sys::WorkerGlobalScope>()
        .performance();
    let until = clock.as_ref().map_or(0.0, |c| c.now() + SPIN_MS);
    loop {
        for _ in 0..64 {
            let value = Atomics::load(control, slot).map_err(js)?;
            if wanted(value) {
                return Ok(value);
            }
        }
        if clock.as_ref().is_none_or(|c| c.now() > until) {
            return Atomics::load(control, slot).map_err(js);
        }
    }
}

fn js(e: JsValue) -> String {
    format!("{e:?}")
}

/// Drops the helper (its worker is ended).
fn stop() {
    if let Some(pool) = POOL.with(|p| p.borrow_mut().take()) {
        pool.helper.terminate();
    }
}

/// Sets the number of threads (1 or 2) and answers with what is in use.
pub async fn set(id: RequestId, threads: u32) -> Event {
    let note = if threads <= 1 {
        stop();
        None
    } else if in_use().0 == 2 {
        None
    } else {
        start().await.err()
    };
    Event::Threads {
        id,
        threads: in_use().0,
        note,
    }
}

/// After a model load: the helper gets the halves of the matrices now held.
pub async fn refresh() -> std::result::Result<(), String> {
    let Some(mut pool) = POOL.with(|p| p.borrow_mut().take()) else {
        return Ok(());
    };
    let outcome = match pool.quit() {
        Ok(()) => hand_over(&mut pool).await,
        Err(why) => Err(why),
    };
    match outcome {
        Ok(()) => POOL.with(|p| *p.borrow_mut() = Some(pool)),
        Err(_) => pool.helper.terminate(),
    }
    outcome
}

async fn start() -> std::result::Result<(), String> {
    let global = js_sys::global();
    let isolated = Reflect::get(&global, &"crossOriginIsolated".into())
        .map(|v| v.is_truthy())
        .unwrap_or(false);
    if !isolated {
        return Err(
            "A second thread needs the page served cross-origin isolated \
                    (COOP and COEP headers); it runs on one thread."
                .into(),
        );
    }
    let page = Reflect::get(&global, &"pretrainLabPage".into())
        .ok()
        .and_then(|v| v.as_string())
        .ok_or("the worker does not know the page's address")?;
    let helper = Worker::new(&helper_script(&page).map_err(js)?).map_err(js)?;
    // Messages sent before its wasm has set a handler would be lost.
    let started = next_message(&helper).await;
    if started.as_ref().ok().and_then(|s| s.as_string()).as_deref() != Some("started") {
        helper.terminate();
        return Err(format!(
            "The second thread could not start ({}); it runs on one thread.",
            started.err().unwrap_or_default()
        ));
    }
    let buffer = SharedArrayBuffer::new(CONTROL_BYTES + (DATA_FLOATS * 4) as u32);
    let mut pool = Pool {
        helper,
        control: Int32Array::new_with_byte_offset_and_length(&buffer, 0, CONTROL_BYTES / 4),
        data: Float32Array::new_with_byte_offset_and_length(
            &buffer,
            CONTROL_BYTES,
            DATA_FLOATS as u32,
        ),
        seq: 0,
        parts: HashMap::new(),
        jobs: 0,
    };
    match hand_over(&mut pool).await {
        Ok(()) => {
            POOL.with(|p| *p.borrow_mut() = Some(pool));
            Ok(())
        }
        Err(why) => {
            pool.helper.terminate();
            Err(format!(
                "The second thread could not start ({why}); it runs on one thread."
            ))
        }
    }
}

/// Sends the helper the later half of every live matrix and waits for it to
/// say it holds them (it then waits for jobs).
async fn hand_over(pool: &mut Pool) -> std::result::Result<(), String> {
    let matrices: Vec<Arc<QuantMatrix>> =
        MATRICES.with(|m| m.borrow().iter().filter_map(Weak::upgrade).collect());
    let parts = Array::new();
    pool.parts.clear();
    for w in matrices.iter().filter(|w| w.quads() >= 2) {
        let split = w.quads() / 2;
        parts.push(&js_sys::Uint8Array::from(&w.part_bytes(split)[..]));
        pool.parts.insert(w.id(), split);
    }
    let message = js_sys::Object::new();
    Reflect::set(&message, &"control".into(), &pool.control.buffer()).map_err(js)?;
    Reflect::set(&message, &"parts".into(), &parts).map_err(js)?;
    let answer = next_message(&pool.helper);
    pool.helper.post_message(&message).map_err(js)?;
    let answer = answer.await?;
    match answer.as_string() {
        Some(ready) if ready == "ready" => Ok(()),
        Some(why) => Err(why),
        None => Err("the helper answered something else".into()),
    }
}

/// The helper's next message (or its error), waited for from now on.
fn next_message(
    helper: &Worker,
) -> impl std::future::Future<Output = std::result::Result<JsValue, String>> {
    let answer = Promise::new(&mut |resolve, reject| {
        let on_message =
            Closure::once_into_js(move |e: MessageEvent| resolve.call1(&JsValue::NULL, &e.data()));
        let on_error = Closure::once_into_js(move |e: JsValue| reject.call1(&JsValue::NULL, &e));
        helper.set_onmessage(Some(on_message.unchecked_ref()));
        helper.set_onerror(Some(on_error.unchecked_ref()));
    });
    async move {
        JsFuture::from(answer).await.map_err(|e| {
            Reflect::get(&e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
                .unwrap_or_else(|| js(e))
        })
    }
}

/// The helper's script: the same worker build, told it is the helper.
fn helper_script(page: &str) -> std::result::Result<String, JsValue> {
    let at = |file: &str| web_sys::Url::new_with_base(file, page).map(|u| u.href());
    let build = if cfg!(feature = "relaxed-simd") {
        "worker_relaxed"
    } else {
        "worker"
    };
    let script = format!(
        "self.pretrainLabPage = {page:?}; self.pretrainLabHelper = true; importScripts({:?}); wasm_bindgen({:?});",
        at(&format!("{build}.js"))?,
        at(&format!("{build}_bg.wasm"))?
    );
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/javascript");
    let blob =
        web_sys::Blob::new_with_str_sequence_and_options(&Array::of1(&script.into()), &options)?;
    web_sys::Url::create_object_url_with_blob(&blob)
}
