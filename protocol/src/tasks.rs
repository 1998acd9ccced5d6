//! The task prefixes (T5) and prompt formats (GPT-2) of `static/tasks.json`:
//! data that the page shows and the worker and `lab` use for label words.

use serde::{Deserialize, Serialize};

use crate::Arch;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tasks {
    pub t5: Vec<Task>,
    pub gpt2: Vec<Task>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub label: String,
    /// T5: text put before the input ("translate English to German: ").
    #[serde(default)]
    pub prefix: Option<String>,
    /// T5 pair tasks: text put between the two inputs (" sentence2: ").
    #[serde(default)]
    pub second: Option<String>,
    /// GPT-2: the prompt with `{text}` where the input goes.
    #[serde(default)]
    pub template: Option<String>,
    pub max_new_tokens: usize,
    /// Classification tasks: the words the model answers with.
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub stop: Vec<String>,
    #[serde(default)]
    pub example: String,
    #[serde(default)]
    pub example_second: Option<String>,
}

impl Tasks {
    pub fn from_json(json: &str) -> Result<Self, String> {
        serde_json::from_str(json).map_err(|e| format!("tasks.json is malformed: {e}"))
    }

    /// The tasks written in `arch`'s form (T5 prefixes or GPT-2 formats).
    pub fn of(&self, arch: Arch) -> &[Task] {
        match arch {
            Arch::T5 => &self.t5,
            Arch::Gpt2 => &self.gpt2,
        }
    }

    pub fn find(&self, arch: Arch, id: &str) -> Option<&Task> {
        self.of(arch).iter().find(|t| t.id == id)
    }
}

impl Task {
    /// The model input for `text` (and `second` for pair tasks).
    pub fn render(&self, text: &str, second: Option<&str>) -> String {
        if let Some(template) = &self.template {
            return template.replace("{text}", text);
        }
        let mut out = format!("{}{text}", self.prefix.as_deref().unwrap_or(""));
        if let (Some(sep), Some(second)) = (&self.second, second) {
            out.push_str(sep);
            out.push_str(second);
        }
        out
    }
}

impl Task {
    /// The prompt for this task made from `prompt`, which may be wrapped in
    /// the task `old` (of either family): the old wrapping comes off and
    /// this task's goes on, the user's own text stays. An empty prompt gets
    /// this task's example.
    pub fn rewrap(&self, old: Option<&Task>, prompt: &str) -> String {
        let text = match old.and_then(|t| t.strip(prompt)) {
            Some(inner) => inner,
            None if prompt.trim().is_empty() => self.example.as_str(),
            None => prompt,
        };
        let second = self
            .example_second
            .as_deref()
            .filter(|_| text == self.example);
        self.render(text, second)
    }

    /// The user's text inside a prompt made by [`Task::render`], if it is one.
    pub fn strip<'a>(&self, prompt: &'a str) -> Option<&'a str> {
        if let Some(template) = &self.template {
            let (before, after) = template.split_once("{text}")?;
            return prompt.strip_prefix(before)?.strip_suffix(after);
        }
        prompt.strip_prefix(self.prefix.as_deref()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_file_parses_and_renders() {
        let json = include_str!("../../static/tasks.json");
        let tasks = Tasks::from_json(json).unwrap();
        let de = tasks.find(Arch::T5, "translate_de").unwrap();
        assert_eq!(
            de.render("The house is wonderful.", None),
            "translate English to German: The house is wonderful."
        );
        let rte = tasks.find(Arch::T5, "rte").unwrap();
        assert_eq!(
            rte.render("A.", Some("B.")),
            "rte sentence1: A. sentence2: B."
        );
        let tldr = tasks.find(Arch::Gpt2, "tldr").unwrap();
        assert_eq!(tldr.render("Text.", None), "Text.\n\nTL;DR:");
        assert!(tasks.t5.len() >= 8 && tasks.gpt2.len() >= 4);
        assert_eq!(tldr.strip("Text.\n\nTL;DR:"), Some("Text."));
        assert_eq!(de.strip("translate English to German: Hi"), Some("Hi"));
        assert_eq!(de.strip("summarize: Hi"), None);
        // A T5 prefix becomes the GPT-2 format of the same task and back.
        let (t5_fr, gpt2_fr) = (
            tasks.find(Arch::T5, "translate_fr").unwrap(),
            tasks.find(Arch::Gpt2, "translate_fr").unwrap(),
        );
        let there = gpt2_fr.rewrap(Some(t5_fr), "translate English to French: Hi");
        assert_eq!(there, "English: Hi\nFrench:");
        assert_eq!(
            t5_fr.rewrap(Some(gpt2_fr), &there),
            "translate English to French: Hi"
        );
        assert_eq!(
            de.rewrap(Some(tldr), "Hi"),
            "translate English to German: Hi"
        );
        assert_eq!(
            rte.rewrap(None, " "),
            rte.render(&rte.example, rte.example_second.as_deref())
        );
    }
}
