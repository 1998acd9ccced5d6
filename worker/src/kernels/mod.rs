//! The worker's own kernels, for the browser: where candle's generic code
//! is slow in wasm. Natively candle's kernels stay in use; ours run there
//! only in tests, through portable code with the same results.
//!
//! - [`matmul`]: q8_0 and q4_0 weights times activations (every `Linear`,
//!   the tied output layers, token lookups);
//! - [`gelu`]: GPT-2's tanh GELU, four values at a time.

pub mod gelu;
pub mod matmul;

pub use gelu::gelu_tanh;
pub use matmul::QuantMatrix;

/// Whether the models use these kernels (q8_0 and q4_0 matmuls, GELU):
/// in the browser, where it is faster than candle's kernels, unless the
/// build sets `LAB_CANDLE_KERNELS` (the benchmark's "before" page).
pub const IN_USE: bool =
    cfg!(target_arch = "wasm32") && option_env!("LAB_CANDLE_KERNELS").is_none();
