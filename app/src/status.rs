use leptos::prelude::*;

use crate::worker_link::{Link, WorkerStatus};

/// Whether the model worker runs, and which of its builds: wasm SIMD, with
/// relaxed SIMD's int8 dot products where the browser has them.
#[component]
pub fn StatusBar() -> impl IntoView {
    let link = expect_context::<Link>();
    let ready = move || matches!(link.status.get(), WorkerStatus::Ready { .. });
    let simd = move || matches!(link.status.get(), WorkerStatus::Ready { simd: true, .. });
    let relaxed = move || {
        matches!(
            link.status.get(),
            WorkerStatus::Ready {
                relaxed_simd: true,
                ..
            }
        )
    };
    let text = move || match link.status.get() {
        WorkerStatus::Starting => "Starting the model worker…".to_string(),
        WorkerStatus::Ready {
            simd: true,
            relaxed_simd: true,
            version,
        } => {
            format!("Model worker ready (v{version}) · WebAssembly SIMD on, relaxed SIMD too")
        }
        WorkerStatus::Ready {
            simd: true,
            version,
            ..
        } => {
            format!("Model worker ready (v{version}) · WebAssembly SIMD on")
        }
        WorkerStatus::Ready {
            simd: false,
            version,
            ..
        } => {
            format!("Model worker ready (v{version}) · built without SIMD: slower")
        }
        WorkerStatus::Restarting(why) => format!("Model worker crashed ({why}); restarting…"),
    };
    let waiting = move || link.waiting.with(Vec::len);
    let queue = move || match waiting() {
        0 => String::new(),
        1 => " · 1 request waits for the running one to finish".to_string(),
        n => format!(" · {n} requests wait for the running one to finish"),
    };
    view! {
        <p id="worker-status" class="status" data-ready=move || ready().to_string()
            data-simd=move || simd().to_string() data-relaxed-simd=move || relaxed().to_string()
            data-waiting=move || waiting().to_string()>
            {text}{queue}
        </p>
    }
}
