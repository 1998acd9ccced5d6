//! What a run reads: the data tokenized in full ids, and the compact
//! vocabulary built from it (with the cover words' tokens always kept).

use std::time::Instant;

use anyhow::{bail, Result};
use tokenizers::Tokenizer;

use crate::data::{self, DataDir, FileRecord, TaskExample};
use crate::model::ModelConfig;
use crate::run::RunOptions;
use crate::spans::{SpanCorruption, MAX_SENTINELS};
use crate::vocab::CompactVocab;
use crate::{gpt2, t5};

/// A task example and its ids: GPT-2 prompt / T5 source, and the target.
pub type TokenizedTask = (TaskExample, Vec<u32>, Vec<u32>);

/// Everything tokenized, in full ids.
pub struct Corpus {
    pub pretrain_train: Option<Vec<u32>>,
    pub pretrain_valid: Option<Vec<u32>>,
    pub tasks_train: Option<Vec<TokenizedTask>>,
    pub tasks_valid: Option<Vec<TokenizedTask>>,
    /// Ids of `tasks/cover.txt`'s words, as they appear after a space: every
    /// word of the task lists can be written, even one no example uses.
    pub cover: Vec<u32>,
    pub files: Vec<FileRecord>,
    pub seconds: f64,
}

/// Task examples in the ids training uses (and `eval` must reproduce).
pub fn tokenize_tasks(
    tokenizer: &Tokenizer,
    arch: &ModelConfig,
    tasks: Vec<TaskExample>,
) -> Result<Vec<TokenizedTask>> {
    tasks
        .into_iter()
        .map(|ex| {
            let (mut source, mut target) = match arch {
                ModelConfig::Gpt2(_) => (
                    data::encode(tokenizer, &ex.gpt2_prompt())?,
                    data::encode(tokenizer, &ex.gpt2_target())?,
                ),
                ModelConfig::T5(_) => (
                    data::encode(tokenizer, &ex.source())?,
                    data::encode(tokenizer, ex.target.trim())?,
                ),
            };
            match arch {
                ModelConfig::Gpt2(_) => target.push(gpt2::EOS),
                ModelConfig::T5(_) => {
                    source.push(t5::EOS);
                    target.push(t5::EOS);
                }
            }
            Ok((ex, source, target))
        })
        .collect()
}

pub fn load_corpus(opts: &RunOptions, tokenizer: &Tokenizer) -> Result<Corpus> {
    let started = Instant::now();
    let dir = DataDir(opts.data.clone());
    let separator = match opts.model {
        // Documents are separated by <|endoftext|> as in GPT-2's training.
        ModelConfig::Gpt2(_) => Some(gpt2::EOS),
        // T5 packs text without separators (EOS ends each corrupted example).
        ModelConfig::T5(_) => None,
    };
    let mut files = Vec::new();
    let mut text = |split: &str| -> Result<Option<Vec<u32>>> {
        let path = dir.pretrain(split);
        if !path.exists() {
            return Ok(None);
        }
        files.push(data::file_record(&path)?);
        let paragraphs = data::read_paragraphs(&path)?;
        Ok(Some(data::token_stream(tokenizer, &paragraphs, separator)?))
    };
    let pretrain_train = text("train")?;
    let pretrain_valid = text("valid")?;
    let mut tasks = |split: &str| -> Result<Option<Vec<TokenizedTask>>> {
        let path = dir.tasks(split);
        if !path.exists() {
            return Ok(None);
        }
        files.push(data::file_record(&path)?);
        Ok(Some(tokenize_tasks(
            tokenizer,
            &opts.model,
            data::read_tasks(&path)?,
        )?))
    };
    let tasks_train = tasks("train")?;
    let tasks_valid = tasks("valid")?;
    let mut cover = Vec::new();
    if dir.cover().exists() {
        files.push(data::file_record(&dir.cover())?);
        let text = std::fs::read_to_string(dir.cover())?;
        for word in text.split_whitespace() {
            // GPT-2 sees a word after a space as " word"; T5's pieces start with "▁" anyway.
            let spaced = match opts.model {
                ModelConfig::Gpt2(_) => format!(" {word}"),
                ModelConfig::T5(_) => word.to_string(),
            };
            cover.extend(data::encode(tokenizer, &spaced)?);
        }
        cover.sort_unstable();
        cover.dedup();
    }
    Ok(Corpus {
        pretrain_train,
        pretrain_valid,
        tasks_train,
        tasks_valid,
        cover,
        files,
        seconds: started.elapsed().as_secs_f64(),
    })
}

pub fn span_corruption() -> SpanCorruption {
    SpanCorruption {
        first_sentinel: t5::FIRST_SENTINEL,
        eos: t5::EOS,
        ..Default::default()
    }
}

/// Specials every model needs rows for, and the id counts of the training data.
pub fn build_vocab(opts: &RunOptions, corpus: &Corpus) -> Result<CompactVocab> {
    let full = opts.model.full_vocab();
    let mut counts = vec![0u64; full];
    let mut count = |ids: &[u32]| -> Result<()> {
        for &id in ids {
            match counts.get_mut(id as usize) {
                Some(c) => *c += 1,
                None => {
                    bail!("the tokenizer gave id {id}, beyond the model's vocabulary of {full}")
                }
            }
        }
        Ok(())
    };
    if let Some(s) = &corpus.pretrain_train {
        count(s)?;
    }
    for (_, a, b) in corpus.tasks_train.iter().flatten() {
        count(a)?;
        count(b)?;
    }
    let mut specials: Vec<u32> = match opts.model {
        ModelConfig::Gpt2(_) => vec![gpt2::EOS],
        ModelConfig::T5(_) => {
            let sc = span_corruption();
            let raw = sc.raw_length(opts.sequence_length);
            let (_, spans) = sc.counts(raw);
            let mut s = vec![t5::PAD, t5::EOS];
            s.extend((0..spans.min(MAX_SENTINELS)).map(|i| sc.sentinel(i)));
            s
        }
    };
    let cover: Vec<u32> = corpus
        .cover
        .iter()
        .copied()
        .filter(|id| !specials.contains(id))
        .collect();
    specials.extend(cover);
    Ok(CompactVocab::from_counts(
        &counts,
        &specials,
        full,
        opts.max_vocab,
    )?)
}
