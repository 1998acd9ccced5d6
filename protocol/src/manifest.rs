//! The lab models' manifest (`static/models/manifest.json`, written by
//! `train ship`): the files that ship and the quality floors every test,
//! native or in the browser, holds each model to on the fixed sample.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::Arch;

/// The label under which a mean-score floor is reported.
pub const MEAN: &str = "mean";

#[derive(Clone, Debug, Deserialize)]
pub struct Manifest {
    pub sample: SampleFiles,
    pub models: Vec<ManifestModel>,
}

/// The fixed held-out sample next to the manifest.
#[derive(Clone, Debug, Deserialize)]
pub struct SampleFiles {
    /// Task examples, one JSON object a line.
    pub file: String,
    pub examples: usize,
    /// Held-out paragraphs for the perplexity ceiling.
    pub text: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ManifestModel {
    /// Folder under `static/models/` and catalog id, e.g. `lab-t5`.
    pub id: String,
    pub arch: Arch,
    /// The trainer's model config.
    pub model: serde_json::Value,
    pub files: Vec<ShippedFile>,
    pub parameters: Parameters,
    pub sample: SampleScores,
    /// The page's name for it ("Lab T5").
    #[serde(default)]
    pub label: String,
    /// Scores on the held-out examples, measured when it shipped.
    pub scores: Scores,
    pub training_seconds: TrainingSeconds,
    /// How it was trained: each stage's commands and reports.
    #[serde(default)]
    pub recipe: Option<Recipe>,
}

impl ManifestModel {
    /// Fine-tuning steps over all its phases, when the recipe records them.
    pub fn finetune_steps(&self) -> Option<usize> {
        let recipe = self.recipe.as_ref()?;
        let earlier: usize = recipe.finetune_phases.iter().map(|p| p.report.steps).sum();
        Some(earlier + recipe.finetune.as_ref()?.report.steps)
    }
}

/// The trainer's record of a shipped model's training (only what the page reads).
#[derive(Clone, Debug, Deserialize)]
pub struct Recipe {
    /// The last fine-tuning phase, the one whose checkpoint shipped.
    #[serde(default)]
    pub finetune: Option<RecipeStage>,
    /// The fine-tuning phases before it, oldest first.
    #[serde(default)]
    pub finetune_phases: Vec<RecipeStage>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RecipeStage {
    pub report: StageReport,
}

#[derive(Clone, Debug, Deserialize)]
pub struct StageReport {
    pub steps: usize,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Scores {
    /// Task id (without the `lab_` of `tasks.json`) -> its scores.
    pub held_out: BTreeMap<String, TaskScore>,
    pub mean_exact_match: f64,
    /// [`score_key`] ("reverse (sentences)") -> scores on the
    /// out-of-distribution set: what a class types.
    #[serde(default)]
    pub out_of_distribution: BTreeMap<String, TaskScore>,
    /// The same fine-tuning from random initialisation.
    #[serde(default)]
    pub from_scratch: Option<ScratchScores>,
    #[serde(default)]
    pub perplexity: Option<Perplexity>,
}

/// Held-out perplexity of the pretraining objective on the addresses'
/// held-out paragraphs: how much of its pretraining a model kept.
#[derive(Clone, Debug, Deserialize)]
pub struct Perplexity {
    /// "span-corruption" (T5) or "next-token" (GPT-2).
    pub objective: String,
    pub perplexity: f64,
}

/// A model fine-tuned on the same data, but from random weights instead
/// of the pretrained checkpoint.
#[derive(Clone, Debug, Deserialize)]
pub struct ScratchScores {
    pub held_out: BTreeMap<String, TaskScore>,
    pub mean_exact_match: f64,
    #[serde(default)]
    pub out_of_distribution: BTreeMap<String, TaskScore>,
    /// Its fine-tuning steps over all phases.
    #[serde(default)]
    pub finetune_steps: Option<usize>,
    #[serde(default)]
    pub perplexity: Option<Perplexity>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct TaskScore {
    pub exact_match: f64,
    pub word_accuracy: f64,
    pub examples: usize,
}

/// Wall-clock seconds of each training stage on the trainer's machine.
#[derive(Clone, Debug, Deserialize)]
pub struct TrainingSeconds {
    pub pretrain: f64,
    pub finetune: f64,
    pub total: f64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ShippedFile {
    /// Relative to `static/models/`.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Parameters {
    pub exported: u64,
    pub trained: u64,
    pub without_embeddings: u64,
}

/// What the model measured on the sample and the floors derived from it.
#[derive(Clone, Debug, Deserialize)]
pub struct SampleScores {
    pub exact_match: BTreeMap<String, f64>,
    pub word_accuracy: BTreeMap<String, f64>,
    /// Exact match per task; `None` where the score left nothing a broken
    /// model could fail.
    pub floors: BTreeMap<String, Option<f64>>,
    /// Word accuracy per task, likewise.
    pub word_floors: BTreeMap<String, Option<f64>>,
    pub mean_floor: Option<f64>,
    /// `None` where the model measured no better than a uniform guess over
    /// its vocabulary, so an untrained model could not be told from it.
    pub perplexity_ceiling: Option<f64>,
}

/// Per-task scores of one model on the sample.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Measured {
    pub exact_match: BTreeMap<String, f64>,
    pub word_accuracy: BTreeMap<String, f64>,
}

/// Per-task running sums of one model's answers, scored as every test and
/// `train eval` score them: exact match of the trimmed answer, and
/// [`word_accuracy`].
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Per task: exact matches, words-in-place sum, examples.
    sums: BTreeMap<String, (usize, f64, usize)>,
}

impl Tally {
    pub fn add(&mut self, task: &str, output: &str, target: &str) {
        let (output, target) = (output.trim(), target.trim());
        let s = self.sums.entry(task.to_string()).or_default();
        s.0 += usize::from(output == target);
        s.1 += word_accuracy(output, target);
        s.2 += 1;
    }

    /// Examples added for `task` so far.
    pub fn examples(&self, task: &str) -> usize {
        self.sums.get(task).map_or(0, |s| s.2)
    }

    /// The per-task means.
    pub fn measured(&self) -> Measured {
        let mut m = Measured::default();
        for (task, &(right, words, all)) in &self.sums {
            let all = all.max(1) as f64;
            m.exact_match.insert(task.clone(), right as f64 / all);
            m.word_accuracy.insert(task.clone(), words / all);
        }
        m
    }
}

/// The share of the target's words that the output has at the same place,
/// over the longer of the two (extra words count against it). A partial
/// answer scores between 0 and 1 where exact match gives 0.
pub fn word_accuracy(output: &str, target: &str) -> f64 {
    let out: Vec<&str> = output.split_whitespace().collect();
    let want: Vec<&str> = target.split_whitespace().collect();
    let places = out.len().max(want.len());
    if places == 0 {
        return 1.0;
    }
    let right = out.iter().zip(&want).filter(|(a, b)| a == b).count();
    right as f64 / places as f64
}

/// What an example is scored under: its task, or "task (set)" for an
/// out-of-distribution example (`set`: "common-words", "sentences",
/// "messages"), so each set gets its own scores and floors.
pub fn score_key(task: &str, set: Option<&str>) -> String {
    match set {
        Some(set) => format!("{task} ({set})"),
        None => task.to_string(),
    }
}

/// The label of a word-accuracy floor in [`SampleScores::below`]'s answer.
pub fn words(task: &str) -> String {
    format!("{task} (words)")
}

impl Manifest {
    pub fn model(&self, id: &str) -> Option<&ManifestModel> {
        self.models.iter().find(|m| m.id == id)
    }
}

impl SampleScores {
    /// Every floor set: the tasks with an exact-match floor, those with a
    /// word-accuracy floor (as [`words`]), then [`MEAN`] if set.
    pub fn floors(&self) -> Vec<String> {
        self.below(&Measured::default())
    }

    /// The floors that `scores` falls below, in the order of
    /// [`Self::floors`]; a task with a floor but no score counts as below.
    /// The mean is the exact match's, over the tasks scored.
    pub fn below(&self, scores: &Measured) -> Vec<String> {
        fn missed(
            floors: &BTreeMap<String, Option<f64>>,
            scores: &BTreeMap<String, f64>,
            label: fn(&str) -> String,
        ) -> Vec<String> {
            floors
                .iter()
                .filter_map(|(task, floor)| {
                    let floor = (*floor)?;
                    let fails = scores.get(task).is_none_or(|&s| s < floor);
                    fails.then(|| label(task))
                })
                .collect()
        }
        let mut below = missed(&self.floors, &scores.exact_match, str::to_string);
        below.extend(missed(&self.word_floors, &scores.word_accuracy, words));
        let exact = &scores.exact_match;
        let mean = exact.values().sum::<f64>() / exact.len().max(1) as f64;
        if self
            .mean_floor
            .is_some_and(|f| exact.is_empty() || mean < f)
        {
            below.push(MEAN.into());
        }
        below
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map<T: Clone>(pairs: &[(&str, T)]) -> BTreeMap<String, T> {
        pairs
            .iter()
            .map(|(t, s)| (t.to_string(), s.clone()))
            .collect()
    }

    fn measured(exact: &[(&str, f64)], words: &[(&str, f64)]) -> Measured {
        Measured {
            exact_match: map(exact),
            word_accuracy: map(words),
        }
    }

    #[test]
    fn word_accuracy_counts_words_in_place() {
        assert_eq!(word_accuracy("c b a", "c b a"), 1.0);
        assert_eq!(word_accuracy("c x a", "c b a"), 2.0 / 3.0);
        assert_eq!(word_accuracy("b a", "c b a"), 0.0);
        // Extra words count against the answer.
        assert_eq!(word_accuracy("c b a d", "c b a"), 0.75);
        assert_eq!(word_accuracy("", "spam"), 0.0);
        assert_eq!(word_accuracy(" spam ", "spam"), 1.0);
    }

    #[test]
    fn a_tally_averages_per_task() {
        let mut t = Tally::default();
        t.add("reverse", "c b a", "c b a ");
        t.add("reverse", "c x a", "c b a");
        t.add("spam", "ham", "spam");
        assert_eq!(t.examples("reverse"), 2);
        assert_eq!(t.examples("sort"), 0);
        let m = t.measured();
        assert_eq!(m.exact_match, map(&[("reverse", 0.5), ("spam", 0.0)]));
        assert_eq!(
            m.word_accuracy,
            map(&[("reverse", (1.0 + 2.0 / 3.0) / 2.0), ("spam", 0.0)])
        );
    }

    #[test]
    fn below_lists_each_floor_missed() {
        let s = SampleScores {
            exact_match: map(&[("reverse", 0.9), ("sort", 0.0)]),
            word_accuracy: map(&[("reverse", 0.95), ("sort", 0.4)]),
            floors: map(&[("reverse", Some(0.75)), ("sort", None)]),
            word_floors: map(&[("reverse", Some(0.8)), ("sort", Some(0.3))]),
            mean_floor: Some(0.35),
            perplexity_ceiling: Some(10.0),
        };
        assert_eq!(
            s.floors(),
            ["reverse", "reverse (words)", "sort (words)", MEAN]
        );
        let good = measured(
            &[("reverse", 0.8), ("sort", 0.0)],
            &[("reverse", 0.9), ("sort", 0.3)],
        );
        assert!(s.below(&good).is_empty());
        let bad = measured(
            &[("reverse", 0.5), ("sort", 0.0)],
            &[("reverse", 0.9), ("sort", 0.2)],
        );
        assert_eq!(s.below(&bad), ["reverse", "sort (words)", MEAN]);
        // A task with a floor that was not scored fails it.
        let partial = measured(&[("sort", 1.0)], &[("sort", 1.0)]);
        assert_eq!(s.below(&partial), ["reverse", "reverse (words)"]);
    }

    #[test]
    fn the_shipped_manifest_reads() {
        let path = crate::repo_root().join("static/models/manifest.json");
        let text = std::fs::read_to_string(path).unwrap();
        let m: Manifest = serde_json::from_str(&text).unwrap();
        assert!(m.model("lab-t5").is_some() && m.model("lab-gpt2").is_some());
    }
}
