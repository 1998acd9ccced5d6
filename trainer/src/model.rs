//! Either model, its batches and its loss.

use candle_core::{Device, Result, Tensor};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

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
    pub fn arch(&self) -> &'static str {
        match self {
            Self::Gpt2(_) => "gpt2",
            Self::T5(_) => "t5",
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

/// One GPT-2 training sequence (full ids): the loss covers the tokens from
/// `loss_from` on (1 = every next-token prediction).
#[derive(Clone, Debug, PartialEq)]
pub struct LmExample {
    pub tokens: Vec<u32>,
    pub loss_from: usize,
}

/// One T5 pair (full ids), both ending with EOS.
#[derive(Clone, Debug, PartialEq)]
pub struct Seq2SeqExample {
    pub input: Vec<u32>,
    pub target: Vec<u32>,
}

/// A minibatch in compact ids, with the flat positions the loss covers.
pub enum Batch {
    Lm {
        ids: Tensor,
        at: Vec<u32>,
        targets: Vec<u32>,
        tokens: usize,
    },
    Seq2Seq {
        input: Tensor,
        mask_bias: Tensor,
        decoder_input: Tensor,
        at: Vec<u32>,
        targets: Vec<u32>,
        tokens: usize,
    },
}

impl Batch {
    /// Real (not padding) tokens the model reads.
    pub fn tokens(&self) -> usize {
        match self {
            Self::Lm { tokens, .. } | Self::Seq2Seq { tokens, .. } => *tokens,
        }
    }

    pub fn targets(&self) -> usize {
        match self {
            Self::Lm { targets, .. } | Self::Seq2Seq { targets, .. } => targets.len(),
        }
    }
}

fn map_all(mapper: &Mapper, ids: &[u32]) -> Result<Vec<u32>> {
    ids.iter().map(|&i| mapper.map(i)).collect()
}

/// Right-padded GPT-2 batch (padding never attends backwards into real tokens
/// and is never a loss position).
pub fn lm_batch(examples: &[&LmExample], mapper: &Mapper) -> Result<Batch> {
    let t = examples.iter().map(|e| e.tokens.len()).max().unwrap_or(0);
    if t < 2 {
        candle_core::bail!("GPT-2 examples need at least 2 tokens")
    }
    let t = t - 1;
    let pad = mapper.map(gpt2::EOS)?;
    let (mut ids, mut at, mut targets, mut tokens) = (Vec::new(), Vec::new(), Vec::new(), 0);
    for (row, e) in examples.iter().enumerate() {
        let compact = map_all(mapper, &e.tokens)?;
        let n = compact.len() - 1;
        ids.extend_from_slice(&compact[..n]);
        ids.extend(std::iter::repeat_n(pad, t - n));
        tokens += n;
        for p in e.loss_from.max(1) - 1..n {
            at.push((row * t + p) as u32);
            targets.push(compact[p + 1]);
        }
    }
    let ids = Tensor::from_vec(ids, (examples.len(), t), &Device::Cpu)?;
    Ok(Batch::Lm {
        ids,
        at,
        targets,
        tokens,
    })
}

/// Right-padded T5 batch: the decoder reads `[PAD] + target[..-1]`.
pub fn seq2seq_batch(examples: &[&Seq2SeqExample], mapper: &Mapper) -> Result<Batch> {
    let s = examples.iter().map(|e| e.input.len()).max().unwrap_or(0);
    let t = examples.iter().map(|e| e.target.len()).max().unwrap_or(0);
    if s == 0 || t == 0 {
        candle_core::bail!("T5 examples need an input and a target")
    }
    let pad = mapper.map(t5::PAD)?;
    let (mut input, mut mask, mut dec, mut at, mut targets, mut tokens) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        0,
    );
    for (row, e) in examples.iter().enumerate() {
        let x = map_all(mapper, &e.input)?;
        let y = map_all(mapper, &e.target)?;
        input.extend_from_slice(&x);
        input.extend(std::iter::repeat_n(pad, s - x.len()));
        let mut m = vec![1f32; x.len()];
        m.resize(s, 0.0);
        mask.push(m);
        dec.push(pad);
        dec.extend_from_slice(&y[..y.len() - 1]);
        dec.extend(std::iter::repeat_n(pad, t - y.len()));
        for (p, &target) in y.iter().enumerate() {
            at.push((row * t + p) as u32);
            targets.push(target);
        }
        tokens += x.len() + y.len();
    }
    let b = examples.len();
    Ok(Batch::Seq2Seq {
        input: Tensor::from_vec(input, (b, s), &Device::Cpu)?,
        mask_bias: t5::key_mask_bias(&mask, &Device::Cpu)?,
        decoder_input: Tensor::from_vec(dec, (b, t), &Device::Cpu)?,
        at,
        targets,
        tokens,
    })
}

impl Model {
    /// Hidden states `[targets, width]` at the batch's loss positions.
    pub fn hidden(&self, batch: &Batch) -> Result<Tensor> {
        match (self, batch) {
            (Model::Gpt2(m), Batch::Lm { ids, at, .. }) => m.hidden_at(ids, at),
            (
                Model::T5(m),
                Batch::Seq2Seq {
                    input,
                    mask_bias,
                    decoder_input,
                    at,
                    ..
                },
            ) => m.hidden_at(input, mask_bias, decoder_input, at),
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
    rng: Normal,
    shuffle: bool,
    pub epochs: usize,
}

impl Batcher {
    pub fn new(source: Source, batch_size: usize, seed: u64, shuffle: bool) -> Result<Self> {
        if source.is_empty() || batch_size == 0 {
            candle_core::bail!("no training examples (or a zero batch size)")
        }
        let order = (0..source.len()).collect();
        let mut b = Self {
            source,
            order,
            next: 0,
            batch_size,
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
                lm_batch(&ex, mapper)
            }
            Source::Seq2Seq(v) => {
                let ex: Vec<&Seq2SeqExample> = picked.iter().map(|&i| &v[i]).collect();
                seq2seq_batch(&ex, mapper)
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
                seq2seq_batch(&refs, mapper)
            }
        }
    }
}
