//! The Web Worker's entry point (trunk builds it with `data-type="worker"`).

#[cfg(target_arch = "wasm32")]
fn main() {
    worker::web::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the model worker runs in a browser; natively, use the `lab` command");
}
