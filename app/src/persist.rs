//! The user's set-up survives a reload (localStorage) and travels in links:
//! a shared link restores model, task, prompt and settings for a whole class.

use leptos::prelude::*;
use protocol::GenerationSettings;
use serde::{Deserialize, Serialize};
use web_sys::UrlSearchParams;

use crate::classify::state::ClassifyState;
use crate::compare::state::CompareState;
use crate::models::Models;
use crate::prefs::Prefs;
use crate::views::View;

const STORAGE_KEY: &str = "pretrain-lab/v1";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    pub prompt: String,
    pub task: String,
    pub settings: GenerationSettings,
    pub weights_url: String,
    pub config_url: String,
    pub tokenizer_url: String,
    #[serde(default)]
    pub projector: bool,
    #[serde(default)]
    pub theme: String,
    #[serde(default)]
    pub hub: String,
    /// A pair task's second text.
    #[serde(default)]
    pub second: String,
    /// The Compare view's text and task.
    #[serde(default)]
    pub compare_text: String,
    #[serde(default)]
    pub compare_task: String,
}

fn snapshot(models: Models, compare: CompareState, prefs: Prefs) -> Saved {
    let play = models.playground;
    Saved {
        second: play.second.get(),
        compare_text: compare.text.get(),
        compare_task: compare.task.get(),
        prompt: play.prompt.get(),
        task: play.task.get(),
        settings: play.settings.get(),
        weights_url: models.weights_url.get(),
        config_url: models.config_url.get(),
        tokenizer_url: models.tokenizer_url.get(),
        projector: prefs.projector.get(),
        theme: prefs.theme.get(),
        hub: models.hub.get(),
    }
}

fn apply(models: Models, compare: CompareState, prefs: Prefs, saved: Saved) {
    let play = models.playground;
    play.second.set(saved.second);
    compare.text.set(saved.compare_text);
    compare.task.set(saved.compare_task);
    play.prompt.set(saved.prompt);
    play.task.set(saved.task);
    play.settings.set(saved.settings.clamped());
    models.weights_url.set(saved.weights_url);
    models.config_url.set(saved.config_url);
    models.tokenizer_url.set(saved.tokenizer_url);
    prefs.projector.set(saved.projector);
    prefs.theme.set(saved.theme);
    models.hub.set(saved.hub);
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Restores from the page's link if it carries a set-up, else from this
/// browser's storage, else the defaults. True when the link names a model,
/// which the page then loads as soon as the worker is ready.
pub fn restore(models: Models, compare: CompareState, prefs: Prefs) -> bool {
    // No model named: the catalog's default is loaded once the catalog is in.
    let defaults = Saved {
        prompt: "Hello world".into(),
        ..Default::default()
    };
    let stored = storage()
        .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten())
        .and_then(|json| serde_json::from_str::<Saved>(&json).ok());
    let base = stored.unwrap_or(defaults);
    match from_link(&base) {
        Some((linked, has_model)) => {
            apply(models, compare, prefs, linked);
            has_model
        }
        None => {
            apply(models, compare, prefs, base);
            false
        }
    }
}

/// Saves the set-up whenever it changes.
pub fn keep_saved(models: Models, compare: CompareState, prefs: Prefs) {
    Effect::new(move |_| {
        let saved = snapshot(models, compare, prefs);
        if let (Some(storage), Ok(json)) = (storage(), serde_json::to_string(&saved)) {
            let _ = storage.set_item(STORAGE_KEY, &json);
        }
    });
}

/// A share link, and a sentence when part of the set-up cannot travel.
pub struct Shared {
    pub url: String,
    pub note: Option<String>,
}

/// A link that opens this page in `view` with the current set-up. A model
/// from a local file has no address another browser can open: the link
/// leaves it out (and says so), opening with the page's default models.
pub fn share_url(
    models: Models,
    compare: CompareState,
    classify: ClassifyState,
    view: View,
) -> Shared {
    let play = models.playground;
    let s = play.settings.get_untracked();
    let local = play
        .active_model_untracked()
        .is_some_and(|m| m.spec.weights_url.starts_with("blob:"));
    let note = local.then(|| {
        "Local files can't be shared: the link leaves the model out and opens with the \
         default models."
            .to_string()
    });
    let Some(location) = web_sys::window().map(|w| w.location()) else {
        return Shared {
            url: String::new(),
            note,
        };
    };
    let (Ok(origin), Ok(path), Ok(params)) = (
        location.origin(),
        location.pathname(),
        UrlSearchParams::new(),
    ) else {
        return Shared {
            url: String::new(),
            note,
        };
    };
    params.append("view", view.as_str());
    if !local {
        for (key, value) in [
            ("model", models.weights_url.get_untracked()),
            ("config", models.config_url.get_untracked()),
            ("tokenizer", models.tokenizer_url.get_untracked()),
        ] {
            params.append(key, &value);
        }
    }
    for (key, value) in [
        ("task", play.task.get_untracked()),
        ("prompt", play.prompt.get_untracked()),
        ("second", play.second.get_untracked()),
        ("max", s.max_new_tokens.to_string()),
        ("temperature", s.temperature.to_string()),
        ("top_k", s.top_k.to_string()),
        ("top_p", s.top_p.to_string()),
        ("repeat_penalty", s.repeat_penalty.to_string()),
        ("seed", s.seed.to_string()),
        ("compare_task", compare.task.get_untracked()),
        ("compare_text", compare.text.get_untracked()),
    ] {
        params.append(key, &value);
    }
    classify.share_params(&params);
    // A class's mirror travels with the link; the public hub is the default.
    let hub = models.hub.get_untracked();
    if !hub.trim().is_empty() {
        params.append("hub", &hub);
    }
    let url = format!("{origin}{path}?{}", String::from(params.to_string()));
    Shared { url, note }
}

/// The set-up a shared link carries, on top of `base` for what it omits, and
/// whether it names a model.
fn from_link(base: &Saved) -> Option<(Saved, bool)> {
    let search = web_sys::window()?.location().search().ok()?;
    let params = UrlSearchParams::new_with_str(&search).ok()?;
    params
        .get("model")
        .or_else(|| params.get("prompt"))
        .or_else(|| params.get("compare_text"))?;
    let text = |key: &str, default: &str| params.get(key).unwrap_or_else(|| default.to_string());
    let d = &base.settings;
    let num = |key: &str, default: f64| {
        params
            .get(key)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(default)
    };
    let settings = GenerationSettings {
        max_new_tokens: num("max", d.max_new_tokens as f64) as usize,
        temperature: num("temperature", d.temperature),
        top_k: num("top_k", d.top_k as f64) as usize,
        top_p: num("top_p", d.top_p),
        repeat_penalty: num("repeat_penalty", d.repeat_penalty as f64) as f32,
        seed: num("seed", d.seed as f64) as u64,
        ..d.clone()
    }
    .clamped();
    let has_model = params.get("model").is_some_and(|m| !m.is_empty());
    let linked = Saved {
        prompt: text("prompt", &base.prompt),
        task: text("task", &base.task),
        settings,
        weights_url: text("model", &base.weights_url),
        config_url: text("config", if has_model { "" } else { &base.config_url }),
        tokenizer_url: text("tokenizer", &base.tokenizer_url),
        projector: base.projector,
        theme: base.theme.clone(),
        hub: text("hub", &base.hub),
        second: text("second", &base.second),
        compare_text: text("compare_text", &base.compare_text),
        compare_task: text("compare_task", &base.compare_task),
    };
    Some((linked, has_model))
}
