//! The worker's own kernels, for the browser: where candle's generic code
//! is slow in wasm. Natively candle's kernels stay in use; ours run there
//! only in tests, through portable code with the same results.
//!
//! - [`matmul`]: q8_0 and q4_0 weights times activations (every `Linear`,
//!   the tied output layers, token lookups), its dot products in `dot`
//!   (SIMD128) and `relaxed` (relaxed SIMD's int8 dot product);
//! - [`gelu`]: GPT-2's tanh GELU, four values at a time;
//! - `split`: a matrix's rows cut in two, for a second thread.

mod dot;
pub mod gelu;
pub mod matmul;
#[cfg(all(target_arch = "wasm32", feature = "relaxed-simd"))]
mod relaxed;
mod split;

pub use gelu::gelu_tanh;
pub use matmul::QuantMatrix;

/// Whether the models use these kernels (q8_0 and q4_0 matmuls, GELU):
/// in the browser, where it is faster than candle's kernels, unless the
/// build sets `LAB_CANDLE_KERNELS` (the benchmark's "before" page).
pub const IN_USE: bool =
    cfg!(target_arch = "wasm32") && option_env!("LAB_CANDLE_KERNELS").is_none();

/// A packed matrix, noted so that a second thread can get its half.
pub fn packed(matrix: QuantMatrix) -> std::sync::Arc<QuantMatrix> {
    let matrix = std::sync::Arc::new(matrix);
    #[cfg(target_arch = "wasm32")]
    crate::web::threads::register(&matrix);
    matrix
}

/// `w`'s matmul, shared with the second thread when it runs.
pub fn matmul(w: &QuantMatrix, xs: &[f32], m: usize) -> candle_core::Result<Vec<f32>> {
    #[cfg(target_arch = "wasm32")]
    return crate::web::threads::matmul(w, xs, m);
    #[cfg(not(target_arch = "wasm32"))]
    w.matmul(xs, m)
}
