use leptos::prelude::*;

use crate::lab::{Lab, WorkerStatus};

/// Whether the model worker runs and was built with wasm SIMD.
#[component]
pub fn StatusBar() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let ready = move || matches!(lab.worker.get(), WorkerStatus::Ready { .. });
    let simd = move || matches!(lab.worker.get(), WorkerStatus::Ready { simd: true, .. });
    let text = move || match lab.worker.get() {
        WorkerStatus::Starting => "Starting the model worker…".to_string(),
        WorkerStatus::Ready {
            simd: true,
            version,
        } => {
            format!("Model worker ready (v{version}) · WebAssembly SIMD on")
        }
        WorkerStatus::Ready {
            simd: false,
            version,
        } => {
            format!("Model worker ready (v{version}) · built without SIMD: slower")
        }
        WorkerStatus::Restarting(why) => format!("Model worker crashed ({why}); restarting…"),
    };
    view! {
        <p id="worker-status" class="status" data-ready=move || ready().to_string()
            data-simd=move || simd().to_string()>
            {text}
        </p>
    }
}
