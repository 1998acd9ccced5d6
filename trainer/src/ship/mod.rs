//! `train ship`: puts a trained pair into `static/models/` together with what
//! was measured on it — the files the page loads, a fixed held-out sample
//! for the quality-floor tests, and `manifest.json` (name, arch, parameters,
//! file sizes, sha256, recipe, seed, scores, floors).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use protocol::Arch;
use serde_json::{json, Value};

use crate::data::{self, TaskExample};
use crate::eval::{self, EvalOptions};
use crate::export;
use crate::model::ModelConfig;

/// The sample files next to the manifest: task examples, held-out text.
pub const SAMPLE: &str = "lab-sample.jsonl";
pub const TEXT_SAMPLE: &str = "lab-sample.txt";
/// Paragraphs of held-out text in [`TEXT_SAMPLE`].
const TEXT_PARAGRAPHS: usize = 12;
pub const MANIFEST: &str = "manifest.json";

pub struct ShipModel {
    /// The architecture `dir` must hold (its flag, e.g. `--t5`).
    pub arch: Arch,
    /// Folder name under `static/models/` and the catalog id, e.g. `lab-t5`.
    pub id: String,
    pub label: String,
    /// The fine-tuned output directory (`OUT/finetune`); its sibling
    /// `pretrain/` holds stage 1's recipe. None keeps the shipped model: its
    /// files and its manifest entry stay as they are.
    pub dir: Option<PathBuf>,
    /// The same fine-tuning from random initialisation (`OUT/finetune` of a
    /// `--stage finetune` run), scored beside it: what pretraining buys.
    pub scratch: Option<PathBuf>,
    pub tokenizer_json: Vec<u8>,
}

pub struct ShipOptions {
    pub models: Vec<ShipModel>,
    pub data: PathBuf,
    pub to: PathBuf,
    pub sample_per_task: usize,
    /// The out-of-distribution set (`static/models/lab-ood.jsonl`), scored
    /// whole; every `ood_every`-th example of each set joins the sample.
    pub ood: PathBuf,
    pub ood_every: usize,
    pub eval: EvalOptions,
}

/// The floor a test holds a model to on the sample: a little below what it
/// measured (0.1, or 15 % of the score if larger, rounded down to 0.05).
/// `None` when that leaves nothing a broken model could fail.
pub fn floor(score: f64) -> Option<f64> {
    let f = ((score - 0.1f64.max(0.15 * score)) * 20.0 + 1e-9).floor() / 20.0;
    (f >= 0.1).then_some(f)
}

/// The perplexity ceiling a test holds a model to: 15 % above what it
/// measured, and only where that is below a uniform guess over the
/// `vocabulary` (which an untrained model is near).
pub fn perplexity_ceiling(perplexity: f64, vocabulary: usize) -> Option<f64> {
    let ceiling = (perplexity * 1.15 * 10.0).ceil() / 10.0;
    (ceiling < vocabulary as f64).then_some(ceiling)
}

/// Every `every`-th example of each score key (task and set), in file order.
pub fn every_nth(examples: &[TaskExample], every: usize) -> Vec<TaskExample> {
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    examples
        .iter()
        .filter(|ex| {
            let n = count.entry(ex.score_key()).or_default();
            *n += 1;
            (*n - 1).is_multiple_of(every.max(1))
        })
        .cloned()
        .collect()
}

/// Scores as the manifest holds them.
pub(crate) fn scores_json(tasks: &BTreeMap<String, eval::TaskScore>) -> Value {
    tasks
        .iter()
        .map(|(t, s)| {
            let v = json!({
                "examples": s.examples,
                "exact_match": s.exact_match,
                "word_accuracy": s.word_accuracy,
                "samples": s.samples,
            });
            (t.clone(), v)
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// The first `per_task` held-out examples of each task, in file order.
pub fn sample(valid: &[TaskExample], per_task: usize) -> Vec<TaskExample> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    valid
        .iter()
        .filter(|ex| {
            let n = count.entry(ex.task.as_str()).or_default();
            *n += 1;
            *n <= per_task
        })
        .cloned()
        .collect()
}

fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// A stage's recipe without its loss curve (kept in the output directory).
fn stage_summary(recipe: &Value) -> Value {
    let mut report = recipe["report"].clone();
    if let Some(r) = report.as_object_mut() {
        r.remove("curve");
    }
    json!({
        "command": recipe["command"],
        "options": recipe["options"][recipe["stage"].as_str().unwrap_or("")],
        "report": report,
    })
}

/// The stage recipes that made the model in `dir`, earliest first: a run's
/// `--init` is followed back, and a `--stage both` run's fine-tuning comes
/// after its sibling `pretrain/`.
fn stage_recipes(dir: &Path) -> Result<Vec<Value>> {
    let mut chain = Vec::new();
    let mut next = Some(dir.to_path_buf());
    while let Some(dir) = next.take() {
        if chain.len() > 16 {
            bail!("the --init chain of {} does not end", dir.display())
        }
        let recipe = read_json(&dir.join("recipe.json"))?;
        let options = &recipe["options"];
        next = if options["stage"] == "both" && recipe["stage"] == "finetune" {
            dir.parent().map(|p| p.join("pretrain"))
        } else {
            options["init"].as_str().map(PathBuf::from)
        };
        chain.push(recipe);
    }
    chain.reverse();
    Ok(chain)
}

fn ship_model(
    m: &ShipModel,
    opts: &ShipOptions,
    sample: &[TaskExample],
    ood: &[TaskExample],
    text: &[String],
) -> Result<Value> {
    let Some(dir) = &m.dir else {
        return kept_model(&m.id, opts);
    };
    let stages = stage_recipes(dir)?;
    let (pretrains, finetunes): (Vec<&Value>, Vec<&Value>) =
        stages.iter().partition(|r| r["stage"] == "pretrain");
    let finetune = *finetunes
        .last()
        .with_context(|| format!("{} holds no fine-tuned model", dir.display()))?;
    let pretrain = pretrains.last().copied();
    // A swapped pair is refused before anything is copied over the shipped files.
    let trained: ModelConfig = serde_json::from_value(finetune["model"].clone())
        .with_context(|| format!("{}: recipe.json has no model config", dir.display()))?;
    if trained.arch() != m.arch {
        bail!(
            "{} holds a {} model, not a {}",
            dir.display(),
            trained.arch(),
            m.arch
        )
    }

    let folder = opts.to.join(&m.id);
    std::fs::create_dir_all(&folder)?;
    let mut files = Vec::new();
    for name in [export::GGUF, export::CONFIG] {
        let bytes = std::fs::read(dir.join(name))
            .with_context(|| format!("cannot read {}", dir.join(name).display()))?;
        std::fs::write(folder.join(name), &bytes)?;
        files.push(json!({
            "path": format!("{}/{name}", m.id),
            "bytes": bytes.len(),
            "sha256": data::sha256_hex(&bytes),
        }));
    }

    // Scores of the shipped files, loaded as the page loads them.
    let report = eval::evaluate(&folder, &opts.data, &m.tokenizer_json, &opts.eval)?;
    let session = eval::load_session(&folder, &m.tokenizer_json)?;
    let all = EvalOptions {
        max_per_task: usize::MAX,
        ..opts.eval.clone()
    };
    let on_sample = eval::score_tasks(&session, sample, &all)?;
    let sample_scores: BTreeMap<&String, f64> =
        on_sample.iter().map(|(t, s)| (t, s.exact_match)).collect();
    let floors: BTreeMap<&String, Option<f64>> = on_sample
        .iter()
        .map(|(t, s)| (t, floor(s.exact_match)))
        .collect();
    let sample_words: BTreeMap<&String, f64> = on_sample
        .iter()
        .map(|(t, s)| (t, s.word_accuracy))
        .collect();
    let word_floors: BTreeMap<&String, Option<f64>> = on_sample
        .iter()
        .map(|(t, s)| (t, floor(s.word_accuracy)))
        .collect();
    let sample_mean = sample_scores.values().sum::<f64>() / sample_scores.len().max(1) as f64;
    let text_ppl = eval::perplexity(&session, text, usize::MAX)?;
    let ood_scores = eval::score_tasks(&session, ood, &all)?;
    let from_scratch = match &m.scratch {
        Some(dir) => {
            crate::from_scratch::scores(dir, &opts.data, &m.tokenizer_json, ood, &opts.eval)?
        }
        None => Value::Null,
    };

    let seconds = |r: &Value| r["report"]["seconds"].as_f64().unwrap_or(0.0);
    // Every phase counts, continued runs included.
    let pre_s = pretrain.map(|_| pretrains.iter().map(|r| seconds(r)).sum::<f64>());
    let fine_s: f64 = finetunes.iter().map(|r| seconds(r)).sum();
    let earlier = |phases: &[&Value]| -> Vec<Value> {
        phases[..phases.len().saturating_sub(1)]
            .iter()
            .map(|r| stage_summary(r))
            .collect()
    };
    Ok(json!({
        "id": m.id,
        "label": m.label,
        "arch": report.arch,
        "model": finetune["model"],
        "files": files,
        "parameters": {
            "exported": finetune["parameters"]["exported"],
            "trained": finetune["parameters"]["trained"],
            "without_embeddings": finetune["parameters"]["trained_without_embeddings"],
            "note": "exported: every weight in the file (full-vocabulary embedding included); trained: with the compact vocabulary's rows; without_embeddings: neither token nor position embeddings",
        },
        "compact_vocab": finetune["compact_vocab"],
        "seed": finetune["options"]["seed"],
        "recipe": {
            // Earlier runs the last of each stage continued (`--init`), in order.
            "pretrain_phases": earlier(&pretrains),
            "pretrain": pretrain.map(stage_summary),
            "finetune_phases": earlier(&finetunes),
            "finetune": stage_summary(finetune),
        },
        "training_seconds": {
            "pretrain": pre_s,
            "finetune": fine_s,
            "total": pre_s.unwrap_or(0.0) + fine_s,
        },
        "scores": {
            "held_out": scores_json(&report.tasks),
            "mean_exact_match": report.mean_exact_match,
            "perplexity": report.perplexity,
            "out_of_distribution": scores_json(&ood_scores),
            // The same fine-tuning budget from random initialisation.
            "from_scratch": from_scratch,
        },
        "sample": {
            "exact_match": sample_scores,
            "mean_exact_match": sample_mean,
            "word_accuracy": sample_words,
            "floors": floors,
            "word_floors": word_floors,
            "mean_floor": floor(sample_mean),
            "perplexity": text_ppl,
            "perplexity_ceiling": perplexity_ceiling(text_ppl.perplexity, session.info.vocab_size),
        },
    }))
}

/// The shipped manifest's entry for `id`, as it is.
fn kept_model(id: &str, opts: &ShipOptions) -> Result<Value> {
    let manifest = read_json(&opts.to.join(MANIFEST))?;
    manifest["models"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["id"] == id)
        .cloned()
        .with_context(|| format!("the shipped manifest has no model {id} to keep"))
}

/// Copies the models, writes the sample and the manifest; returns the manifest.
pub fn ship(opts: &ShipOptions) -> Result<Value> {
    let data = data::DataDir(opts.data.clone());
    let valid = data::read_tasks(&data.tasks("valid"))?;
    let ood = data::read_tasks(&opts.ood)?;
    if ood.iter().any(|ex| ex.set.is_none()) {
        bail!("{}: every example needs its \"set\"", opts.ood.display())
    }
    let ood_sample = every_nth(&ood, opts.ood_every);
    let in_distribution = sample(&valid, opts.sample_per_task);
    let sample = [in_distribution.as_slice(), &ood_sample].concat();
    std::fs::create_dir_all(&opts.to)?;
    let mut lines = String::new();
    for ex in &sample {
        lines.push_str(&serde_json::to_string(ex)?);
        lines.push('\n');
    }
    let text: Vec<String> = data::read_paragraphs(&data.pretrain("valid"))?
        .into_iter()
        .take(TEXT_PARAGRAPHS)
        .collect();
    let text_lines = text.join("\n") + "\n";
    // A kept model's floors and perplexity ceiling were set on the samples:
    // they must not change.
    let kept: Vec<&str> = opts
        .models
        .iter()
        .filter(|m| m.dir.is_none())
        .map(|m| m.id.as_str())
        .collect();
    let unchanged = |file: &str, content: &str| {
        std::fs::read_to_string(opts.to.join(file)).ok().as_deref() == Some(content)
    };
    let samples_stay = unchanged(SAMPLE, &lines) && unchanged(TEXT_SAMPLE, &text_lines);
    if !kept.is_empty() && !samples_stay {
        bail!(
            "the samples would change, so the kept models' floors ({}) would no longer be theirs: ship every model",
            kept.join(", ")
        )
    }
    std::fs::write(opts.to.join(SAMPLE), lines)?;
    std::fs::write(opts.to.join(TEXT_SAMPLE), text_lines)?;

    let models = opts
        .models
        .iter()
        .map(|m| ship_model(m, opts, &sample, &ood, &text))
        .collect::<Result<Vec<_>>>()?;
    let data_manifest = read_json(&opts.data.join("manifest.json")).ok();
    let manifest = json!({
        "generated_by": "cargo run --profile train -p trainer --bin train -- ship (trainer/src/ship.rs)",
        "data": data_manifest.as_ref().map(|d| json!({
            "seed": d["seed"],
            "sources": d["sources"],
            "files": d["files"],
        })),
        "sample": {
            "file": SAMPLE,
            "per_task": opts.sample_per_task,
            "examples": sample.len(),
            "out_of_distribution": {
                "file": opts.ood.file_name().and_then(|n| n.to_str()),
                "examples": ood.len(),
                "in_sample": ood_sample.len(),
                "every": opts.ood_every,
            },
            "text": TEXT_SAMPLE,
            "text_paragraphs": text.len(),
            "scoring": "greedy output, trimmed, equal to the target (accuracy for spam/ham)",
        },
        "eval": {
            "max_per_task": opts.eval.max_per_task,
            "perplexity_tokens": opts.eval.perplexity_tokens,
        },
        "models": models,
    });
    std::fs::write(
        opts.to.join(MANIFEST),
        serde_json::to_string_pretty(&manifest)? + "\n",
    )?;
    Ok(manifest)
}

#[cfg(test)]
mod tests;
