//! Evaluation through the worker's own path — `Session::load` on the
//! exported files, greedy decoding with `worker::generation` as the page
//! does — so the numbers are those of the files users get.
//!
//! - Tasks: per-task exact match of the greedy output (trimmed) against the
//!   target (for label tasks this is accuracy). Generation stops at EOS or
//!   at the page's token limit for the task (`lab_<task>` in
//!   `static/tasks.json`), so these are the answers the page gives; a task
//!   the page lacks (the tests' tiny ones) stops at the target's length + 8.
//! - Perplexity: GPT-2 next-token perplexity on `pretrain/valid.txt`
//!   (windows of the context length); T5 the perplexity of its span-corruption
//!   targets on the same text (fixed seed), as T5 has no next-token objective.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use candle_core::{Device, Tensor, D};
use protocol::manifest::Tally;
use protocol::tasks::Tasks;
use protocol::{Arch, GenerationSettings};
use serde::Serialize;
use worker::generation::Generation;
use worker::gpt2::Capture;
use worker::session::{Model, ModelFiles, Session};

use crate::data::{self, TaskExample};
use crate::init::Normal;
use crate::spans::SpanCorruption;
use crate::{export, t5};

#[derive(Clone, Debug, Default, Serialize)]
pub struct TaskScore {
    pub examples: usize,
    pub exact_match: f64,
    /// Mean share of the target's words in place (`protocol::manifest::word_accuracy`).
    pub word_accuracy: f64,
    /// A few (input, target, output) triples to look at.
    pub samples: Vec<(String, String, String)>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Perplexity {
    pub objective: &'static str,
    pub tokens: usize,
    pub mean_nll: f64,
    pub perplexity: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub model: String,
    pub arch: Arch,
    pub tasks: BTreeMap<String, TaskScore>,
    /// Mean of the per-task exact matches.
    pub mean_exact_match: Option<f64>,
    pub perplexity: Option<Perplexity>,
    pub seconds: f64,
}

#[derive(Clone, Debug)]
pub struct EvalOptions {
    pub max_per_task: usize,
    pub perplexity_tokens: usize,
    pub samples: usize,
    /// The page's task list, whose `lab_<task>` entries set each task's
    /// token limit.
    pub page_tasks: Option<Tasks>,
}

impl EvalOptions {
    /// Tokens the page lets the model write for `ex`.
    fn max_new_tokens(&self, session: &Session, ex: &TaskExample, target: &str) -> Result<usize> {
        let page = self.page_tasks.as_ref();
        let id = format!("lab_{}", ex.task);
        Ok(match page.and_then(|t| t.find(session.info.arch, &id)) {
            Some(task) => task.max_new_tokens,
            None => data::encode(&session.tokenizer, target)?.len() + 8,
        })
    }
}

/// `static/tasks.json`, the task list the page shows.
pub fn page_tasks(path: &Path) -> Result<Tasks> {
    let json =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Tasks::from_json(&json).map_err(anyhow::Error::msg)
}

/// Loads `dir/model.gguf` + `dir/config.json` as users' files are loaded.
pub fn load_session(dir: &Path, tokenizer_json: &[u8]) -> Result<Session> {
    let weights = std::fs::read(dir.join(export::GGUF))
        .with_context(|| format!("cannot read {}", dir.join(export::GGUF).display()))?;
    let config = std::fs::read_to_string(dir.join(export::CONFIG)).ok();
    Ok(Session::load(ModelFiles {
        name: &dir.display().to_string(),
        weights: &weights,
        config_json: config.as_deref(),
        tokenizer_json,
        quantize_to: None,
    })?)
}

/// The prompt a task example gets at inference, as in training.
pub fn prompt(session: &Session, ex: &TaskExample) -> String {
    match session.model {
        Model::Gpt2(_) => ex.gpt2_prompt(),
        Model::T5(_) => ex.source(),
    }
}

/// The greedy output for one prompt, as the page would produce it.
pub fn greedy(session: &Session, prompt: &str, max_new_tokens: usize) -> Result<String> {
    let ids = session.encode(prompt)?;
    let mut runner = session.runner();
    let settings = GenerationSettings {
        max_new_tokens,
        temperature: 0.0,
        top_alternatives: 0,
        ..Default::default()
    };
    let mut generation = Generation::start(&mut runner, &session.tokenizer, ids, settings)?;
    while generation.next_token()?.is_some() {}
    Ok(generation.text().trim().to_string())
}

pub fn score_tasks(
    session: &Session,
    tasks: &[TaskExample],
    opts: &EvalOptions,
) -> Result<BTreeMap<String, TaskScore>> {
    let mut tally = Tally::default();
    let mut samples: BTreeMap<String, Vec<(String, String, String)>> = BTreeMap::new();
    for ex in tasks {
        let key = ex.score_key();
        if tally.examples(&key) >= opts.max_per_task {
            continue;
        }
        let target = ex.target.trim();
        let max_new_tokens = opts.max_new_tokens(session, ex, target)?;
        let output = greedy(session, &prompt(session, ex), max_new_tokens)?;
        tally.add(&key, &output, target);
        let kept = samples.entry(key).or_default();
        if kept.len() < opts.samples {
            kept.push((prompt(session, ex), target.to_string(), output));
        }
    }
    let measured = tally.measured();
    Ok(measured
        .exact_match
        .iter()
        .map(|(task, &exact_match)| {
            let score = TaskScore {
                examples: tally.examples(task),
                exact_match,
                word_accuracy: measured.word_accuracy[task],
                samples: samples.remove(task).unwrap_or_default(),
            };
            (task.clone(), score)
        })
        .collect())
}

/// Sum of `-log p(target)` over positions, from full-vocabulary logits `[t, V]`.
fn nll(logits: &Tensor, targets: &[u32]) -> Result<f64> {
    let log_probs = candle_nn::ops::log_softmax(logits, D::Minus1)?;
    let idx = Tensor::from_vec(targets.to_vec(), (targets.len(), 1), &Device::Cpu)?;
    let picked: Vec<f32> = log_probs.gather(&idx, 1)?.flatten_all()?.to_vec1()?;
    Ok(-picked.iter().map(|&x| x as f64).sum::<f64>())
}

pub fn perplexity(
    session: &Session,
    paragraphs: &[String],
    max_tokens: usize,
) -> Result<Perplexity> {
    let (mut total, mut count) = (0f64, 0usize);
    let objective = match &session.model {
        Model::Gpt2(m) => {
            let stream =
                data::token_stream(&session.tokenizer, paragraphs, Some(crate::gpt2::EOS))?;
            let len = m.config.n_positions + 1;
            for w in stream.windows(len.min(stream.len())).step_by(len - 1) {
                if count >= max_tokens || w.len() < 2 {
                    break;
                }
                let input = Tensor::new(&w[..w.len() - 1], &Device::Cpu)?.unsqueeze(0)?;
                let out = m.forward(&input, None, &mut m.new_cache(), Capture::default())?;
                total += nll(&out.logits.squeeze(0)?, &w[1..])?;
                count += w.len() - 1;
            }
            "next-token"
        }
        Model::T5(m) => {
            let sc = SpanCorruption {
                first_sentinel: t5::FIRST_SENTINEL,
                eos: t5::EOS,
                ..Default::default()
            };
            let stream = data::token_stream(&session.tokenizer, paragraphs, None)?;
            let mut rng = Normal::new(1234);
            // 128-token inputs; a shorter text is one example.
            let raw = sc.raw_length(128).min(stream.len()).max(2);
            for w in stream.chunks_exact(raw) {
                if count >= max_tokens {
                    break;
                }
                let c = sc.corrupt(w, &mut rng)?;
                let input = Tensor::new(c.input.as_slice(), &Device::Cpu)?.unsqueeze(0)?;
                let encoded = m.encode(&input, None, Capture::default())?;
                let mut dec = vec![m.config.decoder_start()];
                dec.extend_from_slice(&c.target[..c.target.len() - 1]);
                let dec = Tensor::new(dec.as_slice(), &Device::Cpu)?.unsqueeze(0)?;
                let out = m.decode(&dec, &encoded, &mut m.new_cache(), Capture::default())?;
                total += nll(&out.logits.squeeze(0)?, &c.target)?;
                count += c.target.len();
            }
            "span-corruption"
        }
    };
    if count == 0 {
        anyhow::bail!("the validation text is too short to measure perplexity")
    }
    let mean_nll = total / count as f64;
    Ok(Perplexity {
        objective,
        tokens: count,
        mean_nll,
        perplexity: mean_nll.exp(),
    })
}

/// The whole evaluation of one exported model directory.
pub fn evaluate(
    dir: &Path,
    data_dir: &Path,
    tokenizer_json: &[u8],
    opts: &EvalOptions,
) -> Result<Report> {
    let started = Instant::now();
    let session = load_session(dir, tokenizer_json)?;
    let data = data::DataDir(data_dir.to_path_buf());
    let tasks_path = data.tasks("valid");
    let tasks = if tasks_path.exists() {
        score_tasks(&session, &data::read_tasks(&tasks_path)?, opts)?
    } else {
        BTreeMap::new()
    };
    let text_path = data.pretrain("valid");
    let perplexity = if text_path.exists() && opts.perplexity_tokens > 0 {
        Some(perplexity(
            &session,
            &data::read_paragraphs(&text_path)?,
            opts.perplexity_tokens,
        )?)
    } else {
        None
    };
    let mean_exact_match = (!tasks.is_empty())
        .then(|| tasks.values().map(|s| s.exact_match).sum::<f64>() / tasks.len() as f64);
    Ok(Report {
        model: dir.display().to_string(),
        arch: session.info.arch,
        tasks,
        mean_exact_match,
        perplexity,
        seconds: started.elapsed().as_secs_f64(),
    })
}
