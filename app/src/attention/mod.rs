//! Attention maps: for a run, the probability each token (row) gives every
//! token it may look at (column), by layer and head or averaged over heads,
//! beside a diagram of the mask that decides what it may look at.

use leptos::prelude::*;
use protocol::attention::{AttentionKind, AttentionMap};

mod heatmap;
pub mod state;

use heatmap::Heatmap;
use state::AttentionState;

/// The pickers, the map and the mask diagram for the maps shown.
#[component]
pub fn AttentionMaps() -> impl IntoView {
    let attention = expect_context::<AttentionState>();
    move || {
        // Once per answer: the maps themselves are read in place below.
        let (request, arch, model, note, kinds) = attention.shown.with(|s| {
            s.as_ref().map(|s| {
                let kinds: Vec<AttentionKind> = s.maps.iter().map(|m| m.kind).collect();
                (s.request, s.arch, s.model.clone(), s.note.clone(), kinds)
            })
        })?;
        Some(view! {
            <div id="attention" class="attention" data-request=request.to_string()
                data-arch=arch.as_str()>
                <h3>{format!("Attention of {model}")}</h3>
                {note.map(|n| view! { <p class="notice" id="attention-note">{n}</p> })}
                <div class="row" role="group" aria-label="Which attention">
                    {kinds.into_iter().enumerate().map(|(i, kind)| view! {
                        <button class="secondary" data-kind=kind.as_str()
                            class:active=move || attention.kind.get() == i
                            aria-pressed=move || (attention.kind.get() == i).to_string()
                            on:click=move |_| { attention.kind.set(i); attention.layer.set(0); }>
                            {kind.label()}
                        </button>
                    }).collect_view()}
                </div>
                <div class="row">
                    <label class="inline">"Layer"
                        <select id="attention-layer" on:change=move |ev| {
                            attention.layer.set(event_target_value(&ev).parse().unwrap_or(0))
                        }>
                            {move || (0..attention.shape().0).map(|l| view! {
                                <option value=l.to_string() selected=move || attention.layer.get() == l>{l + 1}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label class="inline">"Head"
                        <select id="attention-head" on:change=move |ev| {
                            attention.head.set(event_target_value(&ev).parse().ok())
                        }>
                            <option value="mean" selected=move || attention.head.get().is_none()>"mean of all heads"</option>
                            {move || (0..attention.shape().1).map(|h| view! {
                                <option value=h.to_string() selected=move || attention.head.get() == Some(h)>{h + 1}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <HoverValue/>
                </div>
                <div class="attention-body">
                    {move || attention.drawn().map(|drawn| {
                        let kind = drawn.kind;
                        view! { <Heatmap drawn=drawn/><MaskDiagram kind=kind/> }
                    })}
                </div>
            </div>
        })
    }
}

/// The value under the pointer, with its two tokens.
#[component]
fn HoverValue() -> impl IntoView {
    let attention = expect_context::<AttentionState>();
    let text = move || {
        let (q, k, v) = attention.hover.get()?;
        let names = attention.shown.with(|s| {
            let map: &AttentionMap = s.as_ref()?.maps.get(attention.kind.get())?;
            Some((map.queries.get(q)?.clone(), map.keys.get(k)?.clone()))
        })?;
        Some(format!("{:?} → {:?}: {v:.3}", names.0, names.1))
    };
    view! {
        <span id="attention-value" class="mono">
            {move || text().unwrap_or_else(|| "Point at a cell to read its value.".to_string())}
        </span>
    }
}

/// What each kind of attention may look at: a lower triangle (causal), a
/// full square (bidirectional) or a full rectangle (cross-attention).
#[component]
fn MaskDiagram(kind: AttentionKind) -> impl IntoView {
    let (shape, caption) = match kind {
        AttentionKind::Causal => ("M0 0 L0 60 L60 60 Z", "Each token sees itself and the ones before it: prompt and answer share one causal stack."),
        AttentionKind::Encoder => ("M0 0 L60 0 L60 60 L0 60 Z", "Every input token sees every other: the encoder reads in both directions."),
        AttentionKind::Decoder => ("M0 0 L0 60 L60 60 Z", "Each answer token sees the answer so far, like GPT-2, but not the input: that comes through cross-attention."),
        AttentionKind::Cross => ("M0 0 L90 0 L90 40 L0 40 Z", "Every answer token sees every encoded input token: the rectangle GPT-2 has no counterpart for."),
    };
    let cross = kind == AttentionKind::Cross;
    view! {
        <figure class="mask" data-kind=kind.as_str()>
            <svg viewBox="-2 -2 94 64" width="94" height="64" role="img" aria-label="mask shape">
                <rect x="0" y="0" width=if cross { "90" } else { "60" } height=if cross { "40" } else { "60" } class="mask-frame"/>
                <path d=shape class="mask-fill"/>
            </svg>
            <figcaption>{caption}</figcaption>
        </figure>
    }
}
