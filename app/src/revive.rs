//! After the worker crashed: the new worker loads again what the old one
//! held, one model at a time (the playground's first, so it takes the
//! playground again), from the browser's cache or the page's own files. A
//! model from a local file cannot come back: its address died with the load.

use leptos::prelude::*;
use protocol::ModelSpec;

use crate::models::Models;

/// A model to load again, and whether it takes the playground.
pub type Revival = (ModelSpec, bool);

impl Models {
    /// Notes what the dying worker held; says which models cannot return.
    pub(crate) fn remember_for_revival(self) {
        let playground = self.playground.arch.get_untracked();
        let mut held = self.held.get_untracked();
        held.sort_by_key(|m| Some(m.info.arch) != playground);
        let (local, again): (Vec<_>, Vec<_>) = held
            .into_iter()
            .partition(|m| m.spec.weights_url.starts_with("blob:"));
        let again: Vec<Revival> = again
            .into_iter()
            .map(|m| {
                let takes = Some(m.info.arch) == playground;
                (m.spec, takes)
            })
            .collect();
        self.revive.set_value(again);
        if !local.is_empty() {
            let names: Vec<String> = local.into_iter().map(|m| m.spec.name).collect();
            self.notice.set(Some(format!(
                "{} came from your disk: choose the file again to load it.",
                names.join(" and ")
            )));
        }
    }

    /// Loads the next model to revive, once nothing else loads.
    pub(crate) fn revive_next(self) {
        if !self.link.ready() || self.loading.get_untracked().is_some() {
            return;
        }
        let next = self
            .revive
            .try_update_value(|queue| (!queue.is_empty()).then(|| queue.remove(0)));
        if let Some(Some((spec, takes_playground))) = next {
            self.send_load(spec, takes_playground);
        }
    }
}
