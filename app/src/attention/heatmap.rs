//! One attention map as an SVG grid: a row per query token, a column per
//! key token, darker for more attention. Each cell carries its value, so
//! the pointer (and a test) can read what is drawn.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::state::{AttentionState, Drawn};

/// Room for the grid; cells shrink with longer inputs, down to 3 px.
const GRID_PX: f64 = 560.0;
/// Token labels are drawn when cells are at least this tall.
const LABEL_MIN_CELL: f64 = 11.0;
const LABEL_PX: f64 = 110.0;

#[component]
pub fn Heatmap(drawn: Drawn) -> impl IntoView {
    let attention = expect_context::<AttentionState>();
    let Drawn {
        kind,
        queries,
        keys,
        grid,
        layer,
        head,
    } = drawn;
    let (nq, nk) = (queries.len(), keys.len());
    let cell = (GRID_PX / nq.max(nk) as f64).clamp(3.0, 28.0);
    let labels = cell >= LABEL_MIN_CELL;
    let margin = if labels { LABEL_PX } else { 0.0 };
    let (width, height) = (margin + cell * nk as f64, margin + cell * nq as f64);
    let cells = grid
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let (q, k) = (i / nk, i % nk);
            view! {
                <rect class="cell" x=margin + cell * k as f64 y=margin + cell * q as f64
                    width=cell height=cell fill-opacity=v.to_string()
                    data-q=q.to_string() data-k=k.to_string() data-v=v.to_string()/>
            }
        })
        .collect_view();
    let text = |s: &str| s.replace('\n', "↵");
    let row_labels = labels.then(|| {
        queries.iter().enumerate().map(|(q, t)| view! {
            <text x=margin - 4.0 y=margin + cell * (q as f64 + 0.7) text-anchor="end" class="tick">{text(t)}</text>
        }).collect_view()
    });
    let column_labels = labels.then(|| {
        keys.iter().enumerate().map(|(k, t)| {
            let x = margin + cell * (k as f64 + 0.7);
            view! {
                <text x=x y=margin - 4.0 transform=format!("rotate(-60 {x} {})", margin - 4.0) class="tick">{text(t)}</text>
            }
        }).collect_view()
    });
    // One listener for the whole grid: the cell under the pointer says
    // which it is.
    let over = move |ev: leptos::ev::MouseEvent| {
        let cell = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .filter(|e| e.has_attribute("data-v"));
        fn read<T: std::str::FromStr>(e: &web_sys::Element, name: &str) -> Option<T> {
            e.get_attribute(name).and_then(|v| v.parse().ok())
        }
        attention.hover.set(cell.and_then(|e| {
            Some((
                read(&e, "data-q")?,
                read(&e, "data-k")?,
                read(&e, "data-v")?,
            ))
        }));
    };
    let head_name = head.map(|h| h.to_string()).unwrap_or_else(|| "mean".into());
    view! {
        <svg id="attention-map" class="heatmap" data-kind=kind.as_str() data-layer=layer.to_string()
            data-head=head_name data-queries=nq.to_string() data-keys=nk.to_string()
            width=width height=height viewBox=format!("0 0 {width} {height}")
            on:mouseover=over on:mouseleave=move |_| attention.hover.set(None)>
            {row_labels}
            {column_labels}
            {cells}
        </svg>
    }
}
