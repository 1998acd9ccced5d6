//! A whole training run: data → compact vocabulary → model → stages →
//! exported files and a recipe.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use candle_core::quantized::GgmlDType;
use candle_nn::VarMap;
use serde::Serialize;

use crate::corpus::{build_vocab, load_corpus};
use crate::data::{self, DataDir, FileRecord, TaskExample};
use crate::export::{self, TrainerState};
use crate::init::seeded_var_builder;
use crate::model::{Batch, Batcher, Model, ModelConfig, Source};
use crate::sources::{finetune_source, mix, pretrain_source, text_examples};
use crate::train::{run_stage, StageOptions, StageReport};
use crate::vocab::{CompactVocab, Mapper};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Pretrain,
    Finetune,
    Both,
}

#[derive(Clone, Debug, Serialize)]
pub struct RunOptions {
    pub model: ModelConfig,
    pub stage: Stage,
    pub data: PathBuf,
    pub out: PathBuf,
    pub tokenizer: PathBuf,
    /// Continue from a trainer output directory (its checkpoint and vocabulary).
    pub init: Option<PathBuf>,
    pub seed: u64,
    /// GPT-2: tokens per pretraining sequence; T5: encoder tokens per example.
    pub sequence_length: usize,
    /// Fine-tuning rows hold several examples up to this many tokens
    /// (T5: encoder tokens; its decoder gets half); 1 = one example per row.
    pub pack: usize,
    pub pretrain: StageOptions,
    pub finetune: StageOptions,
    /// Cap on the compact vocabulary (most frequent ids); rarer ids share `w_other`.
    pub max_vocab: Option<usize>,
    /// Fine-tuning also draws this many pretraining-text examples per task
    /// example (short windows, the stage-1 objective), against forgetting.
    pub mix_text: f64,
    #[serde(serialize_with = "dtype_name")]
    pub export_dtype: GgmlDType,
    pub valid_batches: usize,
}

fn dtype_name<S: serde::Serializer>(d: &GgmlDType, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(worker::weights::dtype_name(*d))
}

#[derive(Clone, Debug, Serialize)]
struct Recipe<'a> {
    command: Vec<String>,
    stage: &'static str,
    options: &'a RunOptions,
    model: &'a ModelConfig,
    compact_vocab: VocabRecord,
    parameters: Parameters,
    data: Vec<FileRecord>,
    examples: usize,
    skipped_examples: usize,
    tokenize_seconds: f64,
    report: &'a StageReport,
    gguf_bytes: u64,
    candle: &'static str,
}

#[derive(Clone, Debug, Serialize)]
struct VocabRecord {
    used: usize,
    unused_sharing_w_other: usize,
    rows: usize,
    full: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct Parameters {
    pub trained: usize,
    pub trained_without_embeddings: usize,
    pub exported: usize,
}

pub fn parameters(config: &ModelConfig, vocab: &CompactVocab) -> Parameters {
    let body = config.body_parameters();
    Parameters {
        trained: body + config.embedding_parameters(vocab.rows()),
        trained_without_embeddings: body,
        exported: body + config.embedding_parameters(vocab.full_size),
    }
}

/// The first `n` batches of a source, in file order, corruption seeded fixed.
fn valid_batches(
    source: Source,
    opts: &RunOptions,
    stage: Stage,
    mapper: &Mapper,
) -> Result<Vec<Batch>> {
    let batch_size = match stage {
        Stage::Pretrain => opts.pretrain.batch_size,
        _ => opts.finetune.batch_size,
    };
    let n = opts.valid_batches.min(source.len().div_ceil(batch_size));
    let mut b = Batcher::new(source, batch_size, capacity(opts, stage), 1234, false)?;
    (0..n).map(|_| Ok(b.next_batch(mapper)?)).collect()
}

/// Tokens per packed row (GPT-2 or T5 encoder, T5 decoder). Pretraining
/// examples are a row each (`--seq`); fine-tuning rows hold several short
/// examples (`--pack`), so a long example does not pad a whole batch.
fn capacity(opts: &RunOptions, stage: Stage) -> (usize, usize) {
    let tokens = match stage {
        Stage::Pretrain => opts.sequence_length,
        _ => opts.pack,
    };
    match &opts.model {
        ModelConfig::Gpt2(c) => (tokens.min(c.n_positions), 0),
        ModelConfig::T5(_) => (tokens, tokens / 2),
    }
}

/// Builds the model: fresh from the seed, or from `init`'s checkpoint.
pub fn build_model(
    config: &ModelConfig,
    vocab: &CompactVocab,
    seed: u64,
    checkpoint: Option<&Path>,
) -> Result<(VarMap, Model)> {
    let mut varmap = VarMap::new();
    let model = config.build(seeded_var_builder(&varmap, seed), vocab)?;
    if let Some(path) = checkpoint {
        varmap
            .load(path)
            .with_context(|| format!("cannot load the checkpoint {}", path.display()))?;
    }
    Ok((varmap, model))
}

/// Loads a trainer output directory: its state, variables and model.
pub fn load_trained(dir: &Path) -> Result<(TrainerState, VarMap, Model)> {
    let state = export::read_state(dir)?;
    let (varmap, model) = build_model(
        &state.model,
        &state.vocab,
        0,
        Some(&dir.join(export::CHECKPOINT)),
    )?;
    Ok((state, varmap, model))
}

/// Runs the requested stages; returns the output directories written.
pub fn run(
    opts: &RunOptions,
    command: &[String],
    log: &mut dyn FnMut(&str),
) -> Result<Vec<PathBuf>> {
    let tokenizer = worker::session::tokenizer_from_bytes(
        &std::fs::read(&opts.tokenizer)
            .with_context(|| format!("cannot read {}", opts.tokenizer.display()))?,
    )?;
    let corpus = load_corpus(opts, &tokenizer)?;
    log(&format!("tokenized the data in {:.1}s", corpus.seconds));
    let wants_pretrain = opts.stage != Stage::Finetune;
    let wants_finetune = opts.stage != Stage::Pretrain;
    if wants_pretrain && corpus.pretrain_train.is_none() {
        bail!(
            "no {}",
            DataDir(opts.data.clone()).pretrain("train").display()
        )
    }
    if wants_finetune && corpus.tasks_train.is_none() {
        bail!("no {}", DataDir(opts.data.clone()).tasks("train").display())
    }

    let (state, checkpoint) = match &opts.init {
        Some(dir) => {
            let state = export::read_state(dir)?;
            if state.model.arch() != opts.model.arch() {
                bail!("{} holds a {} model", dir.display(), state.model.arch())
            }
            (state, Some(dir.join(export::CHECKPOINT)))
        }
        None => (
            TrainerState {
                model: opts.model.clone(),
                vocab: build_vocab(opts, &corpus)?,
            },
            None,
        ),
    };
    let vocab = &state.vocab;
    let config = &state.model;
    let p = parameters(config, vocab);
    log(&format!(
        "{}: compact vocabulary {} of {} ids (+ w_other for {}); parameters trained {} ({} without embeddings), exported {}",
        config.arch(),
        vocab.used(),
        vocab.full_size,
        vocab.unused(),
        p.trained,
        p.trained_without_embeddings,
        p.exported
    ));
    let (varmap, model) = build_model(config, vocab, opts.seed, checkpoint.as_deref())?;
    let mapper = Mapper::new(vocab);
    let mut written = Vec::new();

    let mut stages = Vec::new();
    if wants_pretrain {
        stages.push(Stage::Pretrain);
    }
    if wants_finetune {
        stages.push(Stage::Finetune);
    }
    for (n, stage) in stages.into_iter().enumerate() {
        let (name, stage_opts, source, valid, skipped) = match stage {
            Stage::Pretrain => {
                let train = corpus.pretrain_train.as_deref().unwrap_or_default();
                let valid = match &corpus.pretrain_valid {
                    Some(v) => {
                        valid_batches(pretrain_source(opts, v)?, opts, Stage::Pretrain, &mapper)?
                    }
                    None => Vec::new(),
                };
                (
                    "pretrain",
                    &opts.pretrain,
                    pretrain_source(opts, train)?,
                    valid,
                    0,
                )
            }
            _ => {
                let (mut source, skipped) =
                    finetune_source(opts, corpus.tasks_train.as_deref().unwrap_or_default());
                if opts.mix_text > 0.0 {
                    let text = corpus.pretrain_train.as_deref().with_context(|| {
                        format!(
                            "--mix-text needs {}",
                            DataDir(opts.data.clone()).pretrain("train").display()
                        )
                    })?;
                    let n = (source.len() as f64 * opts.mix_text).round() as usize;
                    source = mix(source, text_examples(opts, text, n)?)?;
                    log(&format!(
                        "fine-tuning mixes in {n} pretraining-text examples"
                    ));
                }
                let valid = match &corpus.tasks_valid {
                    Some(v) => {
                        valid_batches(finetune_source(opts, v).0, opts, Stage::Finetune, &mapper)?
                    }
                    None => Vec::new(),
                };
                ("finetune", &opts.finetune, source, valid, skipped)
            }
        };
        let examples = source.len();
        log(&format!(
            "stage {name}: {examples} examples ({skipped} too long, skipped), batch {}",
            stage_opts.batch_size
        ));
        // Each stage draws its own batches from the seed.
        let mut batcher = Batcher::new(
            source,
            stage_opts.batch_size,
            capacity(opts, stage),
            opts.seed.wrapping_add(n as u64 + 1),
            true,
        )?;
        let report = run_stage(
            &model,
            &varmap,
            vocab,
            &mut batcher,
            &valid,
            stage_opts,
            log,
        )?;
        let dir = opts.out.join(name);
        let bytes = export::export(&dir, &varmap, config, vocab, opts.export_dtype)?;
        let recipe = Recipe {
            command: command.to_vec(),
            stage: name,
            options: opts,
            model: config,
            compact_vocab: VocabRecord {
                used: vocab.used(),
                unused_sharing_w_other: vocab.unused(),
                rows: vocab.rows(),
                full: vocab.full_size,
            },
            parameters: p.clone(),
            data: corpus.files.clone(),
            examples,
            skipped_examples: skipped,
            tokenize_seconds: corpus.seconds,
            report: &report,
            gguf_bytes: bytes,
            candle: "0.11.1",
        };
        std::fs::write(
            dir.join("recipe.json"),
            serde_json::to_string_pretty(&recipe)? + "\n",
        )?;
        log(&format!("wrote {} ({bytes} bytes of GGUF)", dir.display()));
        written.push(dir);
    }
    Ok(written)
}

/// Valid-set task examples, tokenized as in training (for `eval`).
pub fn valid_tasks(data: &Path) -> Result<Vec<TaskExample>> {
    data::read_tasks(&DataDir(data.to_path_buf()).tasks("valid"))
}
