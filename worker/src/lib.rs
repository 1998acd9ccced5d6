//! The model runtime of Pretrain Lab. It compiles natively (tests, the `lab`
//! CLI) and to wasm32 (the Web Worker in `src/bin/worker.rs`).

pub mod answers;
pub mod attention_maps;
pub mod batch;
pub mod capture;
pub mod classify;
pub mod expected;
pub mod features;
pub mod generation;
pub mod gguf_header;
pub mod gpt2;
pub mod head;
pub mod kernels;
pub mod memory;
pub mod nn;
pub mod random_models;
pub mod sampling;
pub mod session;
pub mod t5;
pub mod tokenizer_check;
pub mod weights;

#[cfg(target_arch = "wasm32")]
pub mod web;

/// An error as a sentence for people: without the backtrace candle attaches
/// when `RUST_BACKTRACE` is set.
pub fn plain_error(e: &candle_core::Error) -> String {
    match e {
        candle_core::Error::WithBacktrace { inner, .. } => plain_error(inner),
        other => other.to_string(),
    }
}

/// The Web Worker's entry point: the `main` of both worker builds (SIMD128
/// and relaxed SIMD). Natively there is no worker.
pub fn worker_main() {
    #[cfg(target_arch = "wasm32")]
    web::start();
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("the model worker runs in a browser; natively, use the `lab` command");
}
