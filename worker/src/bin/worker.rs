//! The Web Worker's entry point (trunk builds it with `data-type="worker"`).

fn main() {
    worker::worker_main();
}
