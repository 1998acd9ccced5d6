//! Example sets the page ships (`presets/index.json`, built by
//! `scripts/data/presets.py`): one click fills the table with real data.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos::task::spawn_local;
use protocol::examples;
use serde::Deserialize;

use super::state::ClassifyState;
use crate::fetch::fetch_text;

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Preset {
    pub id: String,
    pub label: String,
    pub file: String,
    pub source: String,
    pub licence: String,
    pub counts: BTreeMap<String, usize>,
    /// The lab task whose label words answer this preset as text.
    pub task: Option<String>,
}

impl ClassifyState {
    /// Reads the preset list, then `then` (a preset to open, or none).
    pub fn load_presets(self, open: Option<String>) {
        spawn_local(async move {
            match fetch_text("presets/index.json").await {
                Ok(json) => match serde_json::from_str::<Vec<Preset>>(&json) {
                    Ok(list) => self.presets.set(list),
                    Err(e) => self
                        .problem
                        .set(Some(format!("The preset list is malformed: {e}"))),
                },
                Err(e) => self
                    .problem
                    .set(Some(format!("The preset list did not load ({e})."))),
            }
            // A first visit starts with the spam preset; a link may name another.
            let first_visit = self.examples.with_untracked(Vec::is_empty);
            let wanted = open.or_else(|| first_visit.then(|| "spam".to_string()));
            if let Some(id) = wanted {
                self.use_preset(&id).await;
            }
        });
    }

    /// Replaces the examples with a preset's.
    pub async fn use_preset(self, id: &str) {
        let Some(preset) = self
            .presets
            .with_untracked(|p| p.iter().find(|p| p.id == id).cloned())
        else {
            self.problem
                .set(Some(format!("There is no preset {id:?}.")));
            return;
        };
        let loaded = fetch_text(&preset.file)
            .await
            .and_then(|text| examples::parse(&text, &preset.file));
        match loaded {
            Ok(rows) => self.set_examples(rows, &preset.id),
            Err(e) => self.problem.set(Some(format!(
                "The preset {} did not load: {e}",
                preset.label
            ))),
        }
    }
}

/// A preset picker and where its data comes from.
#[component]
pub fn PresetPicker() -> impl IntoView {
    let state = expect_context::<ClassifyState>();
    let chosen = move || {
        let id = state.preset.get();
        state
            .presets
            .with(|p| p.iter().find(|p| p.id == id).cloned())
    };
    view! {
        <div class="row">
            <label for="preset">"Example set"</label>
            <select id="preset" on:change=move |ev| {
                let id = event_target_value(&ev);
                if !id.is_empty() {
                    spawn_local(async move { state.use_preset(&id).await });
                }
            }>
                <option value="" selected=move || state.preset.get().is_empty()>"(your own examples)"</option>
                {move || state.presets.get().into_iter().map(|p| {
                    let id = p.id.clone();
                    view! {
                        <option value=p.id.clone() selected=move || state.preset.get() == id>{p.label.clone()}</option>
                    }
                }).collect_view()}
            </select>
            {move || chosen().map(|p| view! {
                <span class="hint" id="preset-source">{format!("{} — {}", p.source, p.licence)}</span>
            })}
        </div>
    }
}
