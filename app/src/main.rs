//! Pretrain Lab's page: Leptos components that talk to the model worker.

mod app;
mod attention;
mod batch;
mod classify;
mod compare;
mod download;
mod drawer;
mod fetch;
mod lessons;
mod local_files;
mod model_cache;
mod model_panel;
mod models;
mod persist;
mod playground;
mod prefs;
mod revive;
mod start_up;
mod status;
mod threads;
mod tokenizer_panel;
mod views;
mod worker_link;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
