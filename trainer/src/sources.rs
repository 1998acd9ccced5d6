//! The examples a stage trains on: pretraining windows, the task examples
//! that fit the model, and pretraining text mixed into fine-tuning.

use anyhow::{bail, Result};

use crate::corpus::{span_corruption, TokenizedTask};
use crate::model::{LmExample, ModelConfig, Seq2SeqExample, Source};
use crate::run::RunOptions;

/// Non-overlapping windows of `len` tokens (the last partial one dropped).
fn windows(stream: &[u32], len: usize) -> Vec<Vec<u32>> {
    stream.chunks_exact(len).map(<[u32]>::to_vec).collect()
}

pub(crate) fn pretrain_source(opts: &RunOptions, stream: &[u32]) -> Result<Source> {
    Ok(match &opts.model {
        ModelConfig::Gpt2(c) => {
            let len = (opts.sequence_length + 1).min(c.n_positions + 1);
            // Overlap by one token so every token is a target once.
            let examples: Vec<LmExample> = stream
                .windows(len)
                .step_by(len - 1)
                .map(|w| LmExample {
                    tokens: w.to_vec(),
                    loss_from: 1,
                })
                .collect();
            if examples.is_empty() {
                bail!("the pretraining text has fewer than {len} tokens")
            }
            Source::Lm(examples)
        }
        ModelConfig::T5(_) => {
            let sc = span_corruption();
            let w = windows(stream, sc.raw_length(opts.sequence_length));
            if w.is_empty() {
                bail!("the pretraining text is too short for one T5 example")
            }
            Source::Spans(w, sc)
        }
    })
}

/// Task examples that fit the model; returns how many were too long.
pub(crate) fn finetune_source(opts: &RunOptions, tasks: &[TokenizedTask]) -> (Source, usize) {
    let mut skipped = 0;
    match &opts.model {
        ModelConfig::Gpt2(c) => {
            let mut v = Vec::new();
            for (_, prompt, target) in tasks {
                if prompt.is_empty() || prompt.len() + target.len() > c.n_positions + 1 {
                    skipped += 1;
                    continue;
                }
                v.push(LmExample {
                    tokens: [prompt.as_slice(), target].concat(),
                    loss_from: prompt.len(),
                });
            }
            (Source::Lm(v), skipped)
        }
        ModelConfig::T5(c) => {
            let mut v = Vec::new();
            for (_, source, target) in tasks {
                if source.len() > c.max_input_length || target.len() > c.max_target_length {
                    skipped += 1;
                    continue;
                }
                v.push(Seq2SeqExample {
                    input: source.clone(),
                    target: target.clone(),
                });
            }
            (Source::Seq2Seq(v), skipped)
        }
    }
}

/// Tokens of pretraining text in one example mixed into fine-tuning: short,
/// like the task examples it shares packed rows with.
const MIXED_TEXT_TOKENS: usize = 64;

/// `n` pretraining-text examples spread evenly over `stream`, for mixing into
/// fine-tuning: GPT-2 windows with the next-token loss, T5 windows corrupted
/// once (seeded) into span-corruption pairs.
pub(crate) fn text_examples(opts: &RunOptions, stream: &[u32], n: usize) -> Result<Source> {
    let sc = span_corruption();
    let len = match opts.model {
        ModelConfig::Gpt2(_) => MIXED_TEXT_TOKENS + 1,
        ModelConfig::T5(_) => sc.raw_length(MIXED_TEXT_TOKENS),
    };
    let available = stream.len() / len;
    if n > available {
        bail!("--mix-text wants {n} text windows of {len} tokens; the text has {available}")
    }
    let stride = available.checked_div(n).unwrap_or(1).max(1);
    let windows = stream.chunks_exact(len).step_by(stride).take(n);
    let mut rng = crate::init::Normal::new(opts.seed.wrapping_add(99));
    Ok(match opts.model {
        ModelConfig::Gpt2(_) => Source::Lm(
            windows
                .map(|w| LmExample {
                    tokens: w.to_vec(),
                    loss_from: 1,
                })
                .collect(),
        ),
        ModelConfig::T5(_) => Source::Seq2Seq(
            windows
                .map(|w| {
                    let c = sc.corrupt(w, &mut rng)?;
                    Ok(Seq2SeqExample {
                        input: c.input,
                        target: c.target,
                    })
                })
                .collect::<Result<_>>()?,
        ),
    })
}

/// Appends `extra`'s examples to `source` (both of the same kind).
pub(crate) fn mix(source: Source, extra: Source) -> Result<Source> {
    Ok(match (source, extra) {
        (Source::Lm(mut a), Source::Lm(b)) => {
            a.extend(b);
            Source::Lm(a)
        }
        (Source::Seq2Seq(mut a), Source::Seq2Seq(b)) => {
            a.extend(b);
            Source::Seq2Seq(a)
        }
        _ => bail!("cannot mix examples of different kinds"),
    })
}
