//! How the page looks: projector mode and theme, on `<html>` so the whole
//! page follows.

use leptos::prelude::*;

#[derive(Clone, Copy)]
pub struct Prefs {
    /// Large type and high contrast, for a classroom projector.
    pub projector: RwSignal<bool>,
    /// "light", "dark", or "" to follow the system.
    pub theme: RwSignal<String>,
}

impl Prefs {
    pub fn new() -> Self {
        Self {
            projector: RwSignal::new(false),
            theme: RwSignal::new(String::new()),
        }
    }

    /// Keeps `<html>`'s class and theme attribute in step with the signals.
    pub fn apply_to_page(self) {
        Effect::new(move |_| {
            let projector = self.projector.get();
            let theme = self.theme.get();
            if let Some(root) = document().document_element() {
                let _ = root.class_list().toggle_with_force("projector", projector);
                let _ = match theme.as_str() {
                    "" => root.remove_attribute("data-theme"),
                    t => root.set_attribute("data-theme", t),
                };
            }
        });
    }
}
