//! Minibatches in compact ids: GPT-2 sequences and T5 pairs packed into
//! rows, with the attention biases that keep each example to itself.

use candle_core::{Device, Result, Tensor};

use crate::nn::MASKED;
use crate::vocab::Mapper;
use crate::{gpt2, t5};

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
