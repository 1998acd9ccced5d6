//! What pretraining buys: a model fine-tuned like a shipped one, but from
//! random weights, scored the same way (held-out tasks, perplexity, the
//! out-of-distribution set) for the manifest's `scores.from_scratch`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use protocol::Arch;
use serde_json::{json, Value};

use crate::data::TaskExample;
use crate::eval::{self, EvalOptions};

/// The fine-tuning phases that made `dir`, earliest first. Each must be a
/// `--stage finetune` run, and the first one from random initialisation
/// (a later phase continues the one before with `--init`).
pub fn phases(dir: &Path) -> Result<Vec<Value>> {
    let mut chain = Vec::new();
    let mut next = Some(dir.to_path_buf());
    while let Some(dir) = next.take() {
        if chain.len() > 16 {
            bail!("the --init chain of {} does not end", dir.display())
        }
        let path = dir.join("recipe.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let recipe: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        if recipe["stage"] != "finetune" || recipe["options"]["stage"] != "finetune" {
            bail!(
                "{} is not a fine-tuning run from random initialisation (it has a pretraining stage)",
                dir.display()
            )
        }
        next = recipe["options"]["init"].as_str().map(PathBuf::from);
        chain.push(recipe);
    }
    chain.reverse();
    Ok(chain)
}

/// `scores.from_scratch` for the model in `dir`.
pub fn scores(
    dir: &Path,
    data: &Path,
    tokenizer_json: &[u8],
    ood: &[TaskExample],
    opts: &EvalOptions,
) -> Result<Value> {
    let phases = phases(dir)?;
    let report = eval::evaluate(dir, data, tokenizer_json, opts)?;
    let session = eval::load_session(dir, tokenizer_json)?;
    let all = EvalOptions {
        max_per_task: usize::MAX,
        ..opts.clone()
    };
    let seconds: f64 = phases
        .iter()
        .filter_map(|r| r["report"]["seconds"].as_f64())
        .sum();
    let steps: u64 = phases
        .iter()
        .filter_map(|r| r["report"]["steps"].as_u64())
        .sum();
    Ok(json!({
        "held_out": crate::ship::scores_json(&report.tasks),
        "mean_exact_match": report.mean_exact_match,
        "perplexity": report.perplexity,
        "out_of_distribution": crate::ship::scores_json(&eval::score_tasks(&session, ood, &all)?),
        "finetune_phases": phases.iter().map(|r| json!({
            "command": r["command"],
            "steps": r["report"]["steps"],
            "seconds": r["report"]["seconds"],
        })).collect::<Vec<_>>(),
        "finetune_steps": steps,
        "training_seconds": seconds,
    }))
}

/// Writes `scores.from_scratch` of each `(arch, run, tokenizer)` into the
/// manifest at `path`, beside the shipped model of that architecture.
pub fn into_manifest(
    path: &Path,
    runs: &[(Arch, PathBuf, Vec<u8>)],
    data: &Path,
    ood: &Path,
    opts: &EvalOptions,
) -> Result<()> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut manifest: Value = serde_json::from_slice(&text)?;
    let ood = crate::data::read_tasks(ood)?;
    for (arch, dir, tokenizer) in runs {
        let scores = scores(dir, data, tokenizer, &ood, opts)?;
        eprintln!(
            "{arch:?} from scratch: held-out mean exact match {}",
            scores["mean_exact_match"]
        );
        let model = manifest["models"]
            .as_array_mut()
            .and_then(|ms| ms.iter_mut().find(|m| m["arch"] == arch.as_str()))
            .with_context(|| format!("{} has no {arch:?}", path.display()))?;
        model["scores"]["from_scratch"] = scores;
    }
    std::fs::write(path, serde_json::to_string_pretty(&manifest)? + "\n")?;
    Ok(())
}
