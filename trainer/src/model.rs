//! Either model, its batches and its loss.

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;
use protocol::Arch;
use serde::{Deserialize, Serialize};

pub use crate::batch::{lm_batch, seq2seq_batch, Batch, LmExample, Seq2SeqExample};
use crate::init::Normal;
use crate::spans::SpanCorruption;
use crate::vocab::{full_vocab_loss, CompactVocab, Mapper};
use crate::{gpt2, t5};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "arch", rename_all = "lowercase")]
pub enum ModelConfig {
    Gpt2(gpt2::Config),
    T5(t5::Config),
}

impl ModelConfig {
    pub fn arch(&self) -> Arch {
        match self {
            Self::Gpt2(_) => Arch::Gpt2,
            Self::T5(_) => Arch::T5,
        }
    }

    pub fn full_vocab(&self) -> usize {
        match self {
            Self::Gpt2(c) => c.vocab_size,
            Self::T5(c) => c.vocab_size,
        }
    }

    pub fn width(&self) -> usize {
        match self {
            Self::Gpt2(c) => c.n_embd,
            Self::T5(c) => c.d_model,
        }
    }

    pub fn hf_json(&self) -> serde_json::Value {
        match self {
            Self::Gpt2(c) => c.hf_json(),
            Self::T5(c) => c.hf_json(),
        }
    }

    pub fn body_parameters(&self) -> usize {
        match self {
            Self::Gpt2(c) => c.body_parameters(),
            Self::T5(c) => c.body_parameters(),
        }
    }

    /// Position embeddings count as embeddings, not as the body.
    pub fn embedding_parameters(&self, rows: usize) -> usize {
        match self {
            Self::Gpt2(c) => rows * c.n_embd + c.n_positions * c.n_embd,
            Self::T5(c) => rows * c.d_model,
        }
    }

    pub fn build(&self, vb: VarBuilder, vocab: &CompactVocab) -> Result<Model> {
        Ok(match self {
            Self::Gpt2(c) => Model::Gpt2(gpt2::Gpt2::load(vb, c, vocab)?),
            Self::T5(c) => Model::T5(t5::T5::load(vb, c, vocab)?),
        })
    }
}

pub enum Model {
    Gpt2(gpt2::Gpt2),
    T5(t5::T5),
}

impl Model {
    /// Hidden states `[targets, width]` at the batch's loss positions.
    pub fn hidden(&self, batch: &Batch) -> Result<Tensor> {
        match (self, batch) {
            (
                Model::Gpt2(m),
                Batch::Lm {
                    ids,
                    positions,
                    bias,
                    at,
                    ..
                },
            ) => m.hidden_at(ids, positions, bias, at),
            (
                Model::T5(m),
                Batch::Seq2Seq {
                    input,
                    encoder_bias,
                    decoder_input,
                    decoder_bias,
                    cross_bias,
                    at,
                    ..
                },
            ) => m.hidden_at(
                input,
                encoder_bias,
                decoder_input,
                decoder_bias,
                cross_bias,
                at,
            ),
            _ => candle_core::bail!("the batch does not fit the model"),
        }
    }

    pub fn head(&self) -> (&Tensor, Option<&Tensor>) {
        match self {
            Model::Gpt2(m) => m.head(),
            Model::T5(m) => m.head(),
        }
    }

    /// Compact logits `[targets, rows]` at the batch's loss positions.
    pub fn logits(&self, batch: &Batch) -> Result<Tensor> {
        let (table, bias) = self.head();
        let logits = self.hidden(batch)?.matmul(&table.t()?)?;
        match bias {
            Some(b) => logits.broadcast_add(b),
            None => Ok(logits),
        }
    }

    /// The loss tensor (fused head) and the full-vocabulary mean loss per target token.
    pub fn loss(&self, batch: &Batch, vocab: &CompactVocab) -> Result<(Tensor, f64)> {
        let targets = match batch {
            Batch::Lm { targets, .. } | Batch::Seq2Seq { targets, .. } => targets,
        };
        let (table, bias) = self.head();
        let (loss, compact) =
            crate::fused::cross_entropy(&self.hidden(batch)?, table, bias, targets)?;
        Ok((loss, full_vocab_loss(compact, targets, vocab)))
    }
}

/// Where a stage's examples come from.
pub enum Source {
    Lm(Vec<LmExample>),
    /// Raw text windows, corrupted afresh each time they are drawn.
    Spans(Vec<Vec<u32>>, SpanCorruption),
    Seq2Seq(Vec<Seq2SeqExample>),
}

impl Source {
    pub fn len(&self) -> usize {
        match self {
            Self::Lm(v) => v.len(),
            Self::Spans(v, _) => v.len(),
            Self::Seq2Seq(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Minibatches in a seeded random order, reshuffled each epoch.
pub struct Batcher {
    source: Source,
    order: Vec<usize>,
    next: usize,
    batch_size: usize,
    /// Tokens per packed row: (GPT-2 / T5 encoder, T5 decoder).
    capacity: (usize, usize),
    rng: Normal,
    shuffle: bool,
    pub epochs: usize,
}

impl Batcher {
    pub fn new(
        source: Source,
        batch_size: usize,
        capacity: (usize, usize),
        seed: u64,
        shuffle: bool,
    ) -> Result<Self> {
        if source.is_empty() || batch_size == 0 {
            candle_core::bail!("no training examples (or a zero batch size)")
        }
        let order = (0..source.len()).collect();
        let mut b = Self {
            source,
            order,
            next: 0,
            batch_size,
            capacity,
            rng: Normal::new(seed),
            shuffle,
            epochs: 0,
        };
        if shuffle {
            b.rng.shuffle(&mut b.order);
        }
        Ok(b)
    }

    pub fn examples(&self) -> usize {
        self.source.len()
    }

    pub fn next_batch(&mut self, mapper: &Mapper) -> Result<Batch> {
        let mut picked = Vec::with_capacity(self.batch_size);
        while picked.len() < self.batch_size.min(self.order.len()) {
            if self.next == self.order.len() {
                self.next = 0;
                self.epochs += 1;
                if self.shuffle {
                    self.rng.shuffle(&mut self.order);
                }
            }
            picked.push(self.order[self.next]);
            self.next += 1;
        }
        match &self.source {
            Source::Lm(v) => {
                let ex: Vec<&LmExample> = picked.iter().map(|&i| &v[i]).collect();
                lm_batch(&ex, mapper, self.capacity.0)
            }
            Source::Seq2Seq(v) => {
                let ex: Vec<&Seq2SeqExample> = picked.iter().map(|&i| &v[i]).collect();
                seq2seq_batch(&ex, mapper, self.capacity)
            }
            Source::Spans(windows, corruption) => {
                let mut ex = Vec::with_capacity(picked.len());
                for &i in &picked {
                    let c = corruption.corrupt(&windows[i], &mut self.rng)?;
                    ex.push(Seq2SeqExample {
                        input: c.input,
                        target: c.target,
                    });
                }
                let refs: Vec<&Seq2SeqExample> = ex.iter().collect();
                seq2seq_batch(&refs, mapper, self.capacity)
            }
        }
    }
}
