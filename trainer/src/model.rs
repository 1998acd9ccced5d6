//! Either model, its batches and its loss.

use candle_core::{Device, Result, Tensor};
use candle_nn::VarBuilder;
use protocol::Arch;
use serde::{Deserialize, Serialize};

use crate::init::Normal;
use crate::nn::MASKED;
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
/// Rows may hold several examples ("packing"): the attention biases keep
/// each example to itself, so a packed row computes what its examples
/// would alone, with far fewer (and larger) attention matmuls.
pub enum Batch {
    Lm {
        ids: Tensor,
        /// Position of each token within its own example, `[b * t]`.
        positions: Tensor,
        /// `[b, 1, t, t]`: causal within an example, masked across.
        bias: Tensor,
        at: Vec<u32>,
        targets: Vec<u32>,
        tokens: usize,
    },
    Seq2Seq {
        input: Tensor,
        /// `[b, 1, s, s]`: within an example, padding masked.
        encoder_bias: Tensor,
        decoder_input: Tensor,
        /// `[b, 1, t, t]`: causal within an example.
        decoder_bias: Tensor,
        /// `[b, 1, t, s]`: a target attends to its own input only.
        cross_bias: Tensor,
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

/// Splits examples (in order) into rows: a row takes examples while both of
/// their lengths fit its capacities; a longer example gets a row of its own.
fn pack(lengths: &[(usize, usize)], capacity: (usize, usize)) -> Vec<Vec<usize>> {
    let mut rows: Vec<Vec<usize>> = Vec::new();
    let mut used = (usize::MAX, usize::MAX);
    for (i, &(a, b)) in lengths.iter().enumerate() {
        let fits = used.0.saturating_add(a) <= capacity.0 && used.1.saturating_add(b) <= capacity.1;
        match rows.last_mut() {
            Some(row) if fits => {
                row.push(i);
                used = (used.0 + a, used.1 + b);
            }
            _ => {
                rows.push(vec![i]);
                used = (a, b);
            }
        }
    }
    rows
}

/// Padding has no segment.
const NO_SEGMENT: usize = usize::MAX;

/// `[b, 1, q, k]` additive bias: 0 where query segment = key segment (and,
/// if `causal`, key ≤ query), [`MASKED`] elsewhere. A padding query sees
/// itself only, so no row is fully masked.
fn segment_bias(
    queries: &[Vec<usize>],
    keys: &[Vec<usize>],
    causal: bool,
    device: &Device,
) -> Result<Tensor> {
    let (q, k) = (queries[0].len(), keys[0].len());
    let mut out = Vec::with_capacity(queries.len() * q * k);
    for (qs, ks) in queries.iter().zip(keys) {
        for (i, &a) in qs.iter().enumerate() {
            for (j, &b) in ks.iter().enumerate() {
                let visible = if a == NO_SEGMENT {
                    i == j
                } else {
                    a == b && (!causal || j <= i)
                };
                out.push(if visible { 0.0 } else { MASKED });
            }
        }
    }
    Tensor::from_vec(out, (queries.len(), 1, q, k), device)
}

/// GPT-2 batch, packed into rows of up to `capacity` tokens and right padded.
pub fn lm_batch(examples: &[&LmExample], mapper: &Mapper, capacity: usize) -> Result<Batch> {
    if examples.iter().any(|e| e.tokens.len() < 2) {
        candle_core::bail!("GPT-2 examples need at least 2 tokens")
    }
    let lengths: Vec<(usize, usize)> = examples.iter().map(|e| (e.tokens.len() - 1, 0)).collect();
    let rows = pack(&lengths, (capacity, 0));
    let t = rows
        .iter()
        .map(|r| r.iter().map(|&i| lengths[i].0).sum::<usize>())
        .max()
        .unwrap_or(0);
    let pad = mapper.map(gpt2::EOS)?;
    let (mut ids, mut positions, mut segments) = (Vec::new(), Vec::new(), Vec::new());
    let (mut at, mut targets, mut tokens) = (Vec::new(), Vec::new(), 0);
    for (r, row) in rows.iter().enumerate() {
        let mut seg = Vec::with_capacity(t);
        for (k, &i) in row.iter().enumerate() {
            let e = examples[i];
            let compact = map_all(mapper, &e.tokens)?;
            let n = compact.len() - 1;
            for p in e.loss_from.max(1) - 1..n {
                at.push((r * t + seg.len() + p) as u32);
                targets.push(compact[p + 1]);
            }
            ids.extend_from_slice(&compact[..n]);
            positions.extend(0..n as u32);
            seg.extend(std::iter::repeat_n(k, n));
            tokens += n;
        }
        let fill = t - seg.len();
        ids.extend(std::iter::repeat_n(pad, fill));
        positions.extend(std::iter::repeat_n(0, fill));
        seg.extend(std::iter::repeat_n(NO_SEGMENT, fill));
        segments.push(seg);
    }
    let b = rows.len();
    Ok(Batch::Lm {
        ids: Tensor::from_vec(ids, (b, t), &Device::Cpu)?,
        positions: Tensor::from_vec(positions, b * t, &Device::Cpu)?,
        bias: segment_bias(&segments, &segments, true, &Device::Cpu)?,
        at,
        targets,
        tokens,
    })
}

/// T5 batch, packed into rows of up to `capacity` (encoder, decoder) tokens
/// and right padded: each example's decoder reads `[PAD] + target[..-1]`.
pub fn seq2seq_batch(
    examples: &[&Seq2SeqExample],
    mapper: &Mapper,
    capacity: (usize, usize),
) -> Result<Batch> {
    if examples
        .iter()
        .any(|e| e.input.is_empty() || e.target.is_empty())
    {
        candle_core::bail!("T5 examples need an input and a target")
    }
    let lengths: Vec<(usize, usize)> = examples
        .iter()
        .map(|e| (e.input.len(), e.target.len()))
        .collect();
    let rows = pack(&lengths, capacity);
    let width = |f: fn(&(usize, usize)) -> usize| {
        rows.iter()
            .map(|r| r.iter().map(|&i| f(&lengths[i])).sum::<usize>())
            .max()
            .unwrap_or(0)
    };
    let (s, t) = (width(|l| l.0), width(|l| l.1));
    let pad = mapper.map(t5::PAD)?;
    let (mut input, mut dec, mut enc_segs, mut dec_segs) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut at, mut targets, mut tokens) = (Vec::new(), Vec::new(), 0);
    for (r, row) in rows.iter().enumerate() {
        let (mut es, mut ds) = (Vec::with_capacity(s), Vec::with_capacity(t));
        for (k, &i) in row.iter().enumerate() {
            let x = map_all(mapper, &examples[i].input)?;
            let y = map_all(mapper, &examples[i].target)?;
            input.extend_from_slice(&x);
            es.extend(std::iter::repeat_n(k, x.len()));
            for (p, &target) in y.iter().enumerate() {
                at.push((r * t + ds.len() + p) as u32);
                targets.push(target);
            }
            dec.push(pad);
            dec.extend_from_slice(&y[..y.len() - 1]);
            ds.extend(std::iter::repeat_n(k, y.len()));
            tokens += x.len() + y.len();
        }
        input.extend(std::iter::repeat_n(pad, s - es.len()));
        dec.extend(std::iter::repeat_n(pad, t - ds.len()));
        es.resize(s, NO_SEGMENT);
        ds.resize(t, NO_SEGMENT);
        enc_segs.push(es);
        dec_segs.push(ds);
    }
    let b = rows.len();
    let cpu = &Device::Cpu;
    Ok(Batch::Seq2Seq {
        input: Tensor::from_vec(input, (b, s), cpu)?,
        encoder_bias: segment_bias(&enc_segs, &enc_segs, false, cpu)?,
        decoder_input: Tensor::from_vec(dec, (b, t), cpu)?,
        decoder_bias: segment_bias(&dec_segs, &dec_segs, true, cpu)?,
        cross_bias: segment_bias(&dec_segs, &enc_segs, false, cpu)?,
        at,
        targets,
        tokens,
    })
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
