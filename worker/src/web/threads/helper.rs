//! The helper's side of the second thread: it takes the matrix halves it is
//! sent, says "ready", then blocks on the control array and does each job
//! until the primary says quit.

use std::collections::HashMap;

use js_sys::{Array, Atomics, Float32Array, Int32Array, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::MessageEvent;

use super::{
    js, spin, COMMAND, CONTROL_BYTES, DATA_FLOATS, DONE, FAILED, ID_HIGH, ID_LOW, MATMUL, QUIT,
    ROWS, SEQ,
};
use crate::kernels::QuantMatrix;

/// True in the helper worker (its script says so before the wasm starts).
pub fn is_helper() -> bool {
    Reflect::get(&js_sys::global(), &"pretrainLabHelper".into())
        .map(|v| v.is_truthy())
        .unwrap_or(false)
}

/// The helper: each message brings the control buffer and matrix parts; it
/// answers "ready" (or why not) and serves jobs until told to quit.
pub fn serve() {
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|e: MessageEvent| {
        let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
        match take_parts(&e.data()) {
            Ok((control, data, parts)) => {
                // The job number is read before "ready": once the primary
                // has that, its next job may come at any moment.
                let seen = Atomics::load(&control, SEQ).unwrap_or_default();
                let _ = scope.post_message(&"ready".into());
                if let Err(why) = serve_jobs(&control, &data, &parts, seen) {
                    web_sys::console::error_1(&format!("helper: {why}").into());
                }
            }
            Err(why) => {
                let _ = scope.post_message(&why.into());
            }
        }
    });
    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    // A message it cannot read (no shared memory here) gets an answer too.
    let unreadable = Closure::<dyn FnMut(MessageEvent)>::new(|_: MessageEvent| {
        let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
        let _ = scope.post_message(&"the helper could not read its matrices".into());
    });
    scope.set_onmessageerror(Some(unreadable.as_ref().unchecked_ref()));
    unreadable.forget();
    let _ = scope.post_message(&"started".into());
}

type Parts = HashMap<u64, QuantMatrix>;

fn take_parts(message: &JsValue) -> std::result::Result<(Int32Array, Float32Array, Parts), String> {
    let buffer = Reflect::get(message, &"control".into()).map_err(js)?;
    let list: Array = Reflect::get(message, &"parts".into())
        .map_err(js)?
        .dyn_into()
        .map_err(js)?;
    let mut parts = HashMap::new();
    for bytes in list.iter() {
        let bytes = js_sys::Uint8Array::new(&bytes).to_vec();
        let (matrix, _) = QuantMatrix::from_part(&bytes).map_err(|e| e.to_string())?;
        parts.insert(matrix.id(), matrix);
    }
    let control = Int32Array::new_with_byte_offset_and_length(&buffer, 0, CONTROL_BYTES / 4);
    let data =
        Float32Array::new_with_byte_offset_and_length(&buffer, CONTROL_BYTES, DATA_FLOATS as u32);
    Ok((control, data, parts))
}

/// Waits for jobs and does them, until the primary says quit.
fn serve_jobs(
    control: &Int32Array,
    data: &Float32Array,
    parts: &Parts,
    mut seen: i32,
) -> std::result::Result<(), String> {
    loop {
        let seq = spin(control, SEQ, |seq| seq != seen)?;
        if seq == seen {
            Atomics::wait(control, SEQ, seen).map_err(js)?;
            continue;
        }
        seen = seq;
        let command = Atomics::load(control, COMMAND).map_err(js)?;
        if command == MATMUL {
            let failed = helper_job(control, data, parts).is_err();
            Atomics::store(control, FAILED, failed as i32).map_err(js)?;
        }
        Atomics::store(control, DONE, seq).map_err(js)?;
        Atomics::notify(control, DONE).map_err(js)?;
        if command == QUIT {
            return Ok(());
        }
    }
}

// Never inlined into the loop above, which runs for good once entered: the
// browser optimizes a hot wasm function for its next call, so the work must
// be a fresh call each job (inlined, it would stay baseline code).
#[inline(never)]
fn helper_job(
    control: &Int32Array,
    data: &Float32Array,
    parts: &Parts,
) -> std::result::Result<(), String> {
    let low = Atomics::load(control, ID_LOW).map_err(js)? as u32 as u64;
    let high = Atomics::load(control, ID_HIGH).map_err(js)? as u32 as u64;
    let rows = Atomics::load(control, ROWS).map_err(js)? as usize;
    let w = parts.get(&(high << 32 | low)).ok_or("no such matrix")?;
    let mut xs = vec![0f32; rows * w.in_dim()];
    data.subarray(0, xs.len() as u32).copy_to(&mut xs);
    let ys = w.matmul(&xs, rows).map_err(|e| e.to_string())?;
    let at = xs.len() as u32;
    data.subarray(at, at + ys.len() as u32).copy_from(&ys);
    Ok(())
}
