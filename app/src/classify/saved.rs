//! The Classify view survives a reload (its own localStorage entry: example
//! sets can be large) and travels in share links: the preset and the
//! settings, not the user's own examples.

use leptos::prelude::*;
use protocol::classify::{HeadSettings, Pooling};
use protocol::examples::Example;
use protocol::Arch;
use serde::{Deserialize, Serialize};
use web_sys::UrlSearchParams;

use super::state::ClassifyState;

const STORAGE_KEY: &str = "pretrain-lab/classify/v1";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Saved {
    examples: Vec<Example>,
    preset: String,
    arch: Option<Arch>,
    layer: Option<usize>,
    pooling: Option<Pooling>,
    settings: HeadSettings,
    test_fraction: f64,
    probe: String,
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

impl ClassifyState {
    fn snapshot(self) -> Saved {
        Saved {
            examples: self.examples.get(),
            preset: self.preset.get(),
            arch: self.arch.get(),
            layer: self.layer.get(),
            pooling: self.pooling.get(),
            settings: self.settings.get(),
            test_fraction: self.test_fraction.get(),
            probe: self.probe.get(),
        }
    }

    /// Restores this browser's examples and settings, then what a shared
    /// link says on top. Returns the preset the link names, to be opened
    /// once the preset list is in.
    pub fn restore(self) -> Option<String> {
        let stored = storage()
            .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten())
            .and_then(|json| serde_json::from_str::<Saved>(&json).ok());
        if let Some(saved) = stored {
            self.examples.set(saved.examples);
            self.preset.set(saved.preset);
            self.arch.set(saved.arch);
            self.layer.set(saved.layer);
            self.pooling.set(saved.pooling);
            self.settings.set(saved.settings.clamped());
            self.test_fraction.set(saved.test_fraction.clamp(0.05, 0.9));
            self.probe.set(saved.probe);
        }
        let search = web_sys::window()?.location().search().ok()?;
        let params = UrlSearchParams::new_with_str(&search).ok()?;
        let get = |key: &str| params.get(key).filter(|v| !v.is_empty());
        if let Some(arch) = get("head_arch").and_then(|a| a.parse::<Arch>().ok()) {
            self.arch.set(Some(arch));
        }
        if let Some(layer) = get("head_layer") {
            self.layer.set(layer.parse().ok());
        }
        if let Some(pooling) = get("head_pooling") {
            self.pooling.set(Pooling::named(&pooling));
        }
        let num = |key: &str| get(key).and_then(|v| v.parse::<f64>().ok());
        self.settings.update(|s| {
            if let Some(h) = num("head_hidden") {
                s.hidden = Some(h as usize).filter(|&h| h > 0);
            }
            if let Some(l2) = num("head_l2") {
                s.l2 = l2 as f32;
            }
            if let Some(seed) = num("head_seed") {
                s.seed = seed as u64;
            }
            *s = s.clone().clamped();
        });
        if let Some(t) = num("head_test") {
            self.test_fraction.set(t.clamp(0.05, 0.9));
        }
        get("examples")
    }

    /// Saves the examples and settings whenever they change.
    pub fn keep_saved(self) {
        Effect::new(move |_| {
            let saved = self.snapshot();
            if let (Some(storage), Ok(json)) = (storage(), serde_json::to_string(&saved)) {
                let _ = storage.set_item(STORAGE_KEY, &json);
            }
        });
    }

    /// The view's part of a share link: the preset (own examples stay in
    /// this browser) and the head's settings.
    pub fn share_params(self, params: &UrlSearchParams) {
        let s = self.settings.get_untracked();
        let preset = self.preset.get_untracked();
        if !preset.is_empty() {
            params.append("examples", &preset);
        }
        if let Some(model) = untrack(|| self.model()) {
            params.append("head_arch", model.info.arch.as_str());
        }
        if let Some((layer, pooling)) = untrack(|| self.cell()) {
            params.append("head_layer", &layer.to_string());
            params.append("head_pooling", pooling.as_str());
        }
        params.append("head_hidden", &s.hidden.unwrap_or(0).to_string());
        params.append("head_l2", &s.l2.to_string());
        params.append("head_seed", &s.seed.to_string());
        params.append("head_test", &self.test_fraction.get_untracked().to_string());
    }
}
