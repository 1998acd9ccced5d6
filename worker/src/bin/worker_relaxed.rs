//! The Web Worker built with the `relaxed-simd` feature; the page loads this
//! build where relaxed SIMD validates (`static/simd-check.js`).

fn main() {
    worker::worker_main();
}
