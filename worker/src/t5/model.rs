//! T5: an encoder that reads the whole input (bidirectional attention with
//! relative position buckets) and a decoder that writes the output one token
//! at a time (causal self-attention plus cross-attention to the encoder).
//!
//! Batches are RIGHT padded on the encoder side; the encoder mask keeps
//! padding out of both the encoder's and the decoder's cross-attention.

use std::sync::Arc;

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{Device, Module, Result, Tensor};

use super::config::Config;
use crate::capture::Capture;
use crate::gpt2::Activation;
use crate::nn::{softmax_last_dim, Linear, RmsNorm, MASKED};

/// Longest input and output, in tokens. Relative positions have no hard
/// limit, but memory does (attention is quadratic); T5 was trained on 512.
pub const MAX_LENGTH: usize = 1024;

/// transformers' `_relative_position_bucket`, in the same f32 arithmetic.
/// `relative_position` is key position minus query position.
pub fn relative_position_bucket(
    relative_position: i64,
    bidirectional: bool,
    num_buckets: usize,
    max_distance: usize,
) -> usize {
    let mut num_buckets = num_buckets as i64;
    let mut bucket = 0;
    let mut rp = relative_position;
    if bidirectional {
        num_buckets /= 2;
        if rp > 0 {
            bucket += num_buckets;
        }
        rp = rp.abs();
    } else {
        // The decoder only looks back: later keys all share bucket 0.
        rp = -rp.min(0);
    }
    let max_exact = num_buckets / 2;
    if rp < max_exact {
        bucket += rp;
    } else {
        let log_ratio = (rp as f32 / max_exact as f32).ln();
        let log_range = (max_distance as f64 / max_exact as f64).ln() as f32;
        let large = max_exact + (log_ratio / log_range * (num_buckets - max_exact) as f32) as i64;
        bucket += large.clamp(max_exact, num_buckets - 1);
    }
    bucket as usize
}

/// The learned bias per (bucket, head) that the first layer of a stack owns.
pub struct RelativeBias {
    /// `[buckets, heads]`
    table: Vec<Vec<f32>>,
    bidirectional: bool,
    max_distance: usize,
}

impl RelativeBias {
    pub fn new(table: &Tensor, bidirectional: bool, max_distance: usize) -> Result<Self> {
        Ok(Self {
            table: table.to_vec2()?,
            bidirectional,
            max_distance,
        })
    }

    /// `[1, heads, q, k]` for queries at `offset..offset + q` and keys `0..k`.
    fn bias(&self, q: usize, k: usize, offset: usize) -> Result<Tensor> {
        let heads = self.table.first().map_or(0, Vec::len);
        let mut out = vec![0f32; heads * q * k];
        for i in 0..q {
            for j in 0..k {
                let rp = j as i64 - (i + offset) as i64;
                let b = relative_position_bucket(
                    rp,
                    self.bidirectional,
                    self.table.len(),
                    self.max_distance,
                );
                let Some(row) = self.table.get(b) else {
                    candle_core::bail!("relative position bucket {b} is outside the bias table")
                };
                for (h, &v) in row.iter().enumerate() {
                    out[(h * q + i) * k + j] = v;
                }
            }
        }
        Tensor::from_vec(out, (1, heads, q, k), &Device::Cpu)
    }
}

/// T5 attention: no 1/sqrt(d) scaling (folded into the weights) and no biases.
pub struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    heads: usize,
    d_kv: usize,
}

impl Attention {
    pub fn new(q: Linear, k: Linear, v: Linear, o: Linear, cfg: &Config) -> Self {
        Self {
            q,
            k,
            v,
            o,
            heads: cfg.num_heads,
            d_kv: cfg.d_kv,
        }
    }

    /// `[b, t, inner]` -> `[b, heads, t, d_kv]`
    fn split(&self, xs: &Tensor) -> Result<Tensor> {
        let (b, t, _) = xs.dims3()?;
        xs.reshape((b, t, self.heads, self.d_kv))?
            .transpose(1, 2)?
            .contiguous()
    }

    fn keys_values(&self, source: &Tensor) -> Result<(Tensor, Tensor)> {
        Ok((
            self.split(&self.k.forward(source)?)?,
            self.split(&self.v.forward(source)?)?,
        ))
    }

    /// Attends from `xs` to keys/values `kv`; `bias` holds positions and masks.
    fn attend(
        &self,
        xs: &Tensor,
        kv: &(Tensor, Tensor),
        bias: &Tensor,
    ) -> Result<(Tensor, Tensor)> {
        let (b, t, _) = xs.dims3()?;
        let q = self.split(&self.q.forward(xs)?)?;
        let scores = q.matmul(&kv.0.t()?.contiguous()?)?.broadcast_add(bias)?;
        let probs = softmax_last_dim(&scores)?;
        let ys = probs
            .matmul(&kv.1)?
            .transpose(1, 2)?
            .reshape((b, t, self.heads * self.d_kv))?;
        Ok((self.o.forward(&ys)?, probs))
    }
}

pub struct FeedForward {
    wi: Linear,
    /// The gate's second input projection (`wi_1`) in gated variants.
    wi_gate: Option<Linear>,
    wo: Linear,
    activation: Activation,
}

impl FeedForward {
    pub fn new(wi: Linear, wi_gate: Option<Linear>, wo: Linear, activation: Activation) -> Self {
        Self {
            wi,
            wi_gate,
            wo,
            activation,
        }
    }

    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let h = self.activation.apply(&self.wi.forward(xs)?)?;
        let h = match &self.wi_gate {
            Some(gate) => (h * gate.forward(xs)?)?,
            None => h,
        };
        self.wo.forward(&h)
    }
}

pub struct Block {
    self_norm: RmsNorm,
    self_attn: Attention,
    /// Decoder blocks only.
    cross: Option<(RmsNorm, Attention)>,
    ff_norm: RmsNorm,
    ff: FeedForward,
}

impl Block {
    pub fn new(
        self_norm: RmsNorm,
        self_attn: Attention,
        cross: Option<(RmsNorm, Attention)>,
        ff_norm: RmsNorm,
        ff: FeedForward,
    ) -> Self {
        Self {
            self_norm,
            self_attn,
            cross,
            ff_norm,
            ff,
        }
    }
}

/// A stack of blocks (the encoder or the decoder) and its final norm.
pub struct Stack {
    blocks: Vec<Block>,
    relative_bias: RelativeBias,
    final_norm: RmsNorm,
}

impl Stack {
    pub fn new(blocks: Vec<Block>, relative_bias: RelativeBias, final_norm: RmsNorm) -> Self {
        Self {
            blocks,
            relative_bias,
            final_norm,
        }
    }
}

/// The encoder's output for a batch, reused at every decoder step.
pub struct Encoded {
    pub hidden: Tensor,
    /// `[b, s]`, 1 = token, 0 = padding.
    pub mask: Vec<Vec<f32>>,
    pub hidden_states: Vec<Tensor>,
    pub attentions: Vec<Tensor>,
}

/// Decoder keys/values so far, and the cross-attention keys/values, which
/// depend only on the encoder output and so are computed once.
pub struct DecoderCache {
    self_kv: Vec<Option<(Tensor, Tensor)>>,
    cross_kv: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
}

impl DecoderCache {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

pub struct DecoderOutput {
    /// `[b, t, vocab]` (one position with `last_logits_only`).
    pub logits: Tensor,
    pub hidden_states: Vec<Tensor>,
    pub attentions: Vec<Tensor>,
    pub cross_attentions: Vec<Tensor>,
}

pub struct T5 {
    /// Kept in its file type, looked up row by row.
    shared: Arc<QTensor>,
    encoder: Stack,
    decoder: Stack,
    lm_head: QMatMul,
    pub config: Config,
    pub parameters: u64,
}

/// `[b, 1, 1, s]`: MASKED on padded keys.
fn key_mask_bias(mask: &[Vec<f32>]) -> Result<Tensor> {
    let b = mask.len();
    let s = mask.first().map_or(0, Vec::len);
    let flat: Vec<f32> = mask
        .iter()
        .flat_map(|row| row.iter().map(|&m| if m > 0.5 { 0.0 } else { MASKED }))
        .collect();
    Tensor::from_vec(flat, (b, 1, 1, s), &Device::Cpu)
}

/// `[1, 1, t, past + t]`: MASKED on keys after the query.
fn causal_bias(t: usize, past: usize) -> Result<Tensor> {
    let total = past + t;
    let flat: Vec<f32> = (0..t)
        .flat_map(|i| (0..total).map(move |j| if j <= past + i { 0.0 } else { MASKED }))
        .collect();
    Tensor::from_vec(flat, (1, 1, t, total), &Device::Cpu)
}

impl T5 {
    pub fn new(
        shared: Arc<QTensor>,
        encoder: Stack,
        decoder: Stack,
        lm_head: QMatMul,
        config: Config,
        parameters: u64,
    ) -> Self {
        Self {
            shared,
            encoder,
            decoder,
            lm_head,
            config,
            parameters,
        }
    }

    /// Runs the encoder over `ids` (`[b, s]`); `mask` marks real tokens.
    pub fn encode(
        &self,
        ids: &Tensor,
        mask: Option<&[Vec<f32>]>,
        capture: Capture,
    ) -> Result<Encoded> {
        let (b, s) = ids.dims2()?;
        if s == 0 || s > MAX_LENGTH {
            candle_core::bail!("the input is {s} tokens long; T5 here reads 1 to {MAX_LENGTH}")
        }
        let mask: Vec<Vec<f32>> = match mask {
            Some(m) => m.to_vec(),
            None => vec![vec![1.0; s]; b],
        };
        if mask.len() != b || mask.iter().any(|row| row.len() != s) {
            candle_core::bail!("the attention mask does not match the batch shape {b}x{s}")
        }
        let bias = self
            .encoder
            .relative_bias
            .bias(s, s, 0)?
            .broadcast_add(&key_mask_bias(&mask)?)?;
        let mut xs = self.shared.embedding(ids)?;
        let mut hidden_states = Vec::new();
        let mut attentions = Vec::new();
        for block in &self.encoder.blocks {
            if capture.hidden_states {
                hidden_states.push(xs.clone());
            }
            let normed = block.self_norm.forward(&xs)?;
            let kv = block.self_attn.keys_values(&normed)?;
            let (a, probs) = block.self_attn.attend(&normed, &kv, &bias)?;
            xs = (xs + a)?;
            xs = (&xs + block.ff.forward(&block.ff_norm.forward(&xs)?)?)?;
            if capture.attentions {
                attentions.push(probs);
            }
        }
        let hidden = self.encoder.final_norm.forward(&xs)?;
        if capture.hidden_states {
            hidden_states.push(hidden.clone());
        }
        Ok(Encoded {
            hidden,
            mask,
            hidden_states,
            attentions,
        })
    }

    pub fn new_cache(&self) -> DecoderCache {
        let n = self.decoder.blocks.len();
        DecoderCache {
            self_kv: vec![None; n],
            cross_kv: vec![None; n],
            len: 0,
        }
    }

    /// Runs decoder tokens `ids` (`[b, t]`) after those in `cache`.
    pub fn decode(
        &self,
        ids: &Tensor,
        encoded: &Encoded,
        cache: &mut DecoderCache,
        capture: Capture,
    ) -> Result<DecoderOutput> {
        let (b, t) = ids.dims2()?;
        if t == 0 || cache.len + t > MAX_LENGTH {
            candle_core::bail!("T5 here writes at most {MAX_LENGTH} tokens")
        }
        if encoded.mask.len() != b {
            candle_core::bail!("the decoder batch does not match the encoder batch")
        }
        let past = cache.len;
        let self_bias = self
            .decoder
            .relative_bias
            .bias(t, past + t, past)?
            .broadcast_add(&causal_bias(t, past)?)?;
        let cross_bias = key_mask_bias(&encoded.mask)?;
        let mut xs = self.shared.embedding(ids)?;
        let (mut hidden_states, mut attentions, mut cross_attentions) =
            (Vec::new(), Vec::new(), Vec::new());
        for (i, block) in self.decoder.blocks.iter().enumerate() {
            if capture.hidden_states {
                hidden_states.push(xs.clone());
            }
            let normed = block.self_norm.forward(&xs)?;
            let (k, v) = block.self_attn.keys_values(&normed)?;
            let kv = match cache.self_kv[i].take() {
                Some((pk, pv)) => (Tensor::cat(&[&pk, &k], 2)?, Tensor::cat(&[&pv, &v], 2)?),
                None => (k, v),
            };
            let (a, probs) = block.self_attn.attend(&normed, &kv, &self_bias)?;
            cache.self_kv[i] = Some(kv);
            xs = (xs + a)?;
            if let Some((norm, attn)) = &block.cross {
                if cache.cross_kv[i].is_none() {
                    cache.cross_kv[i] = Some(attn.keys_values(&encoded.hidden)?);
                }
                let kv = cache.cross_kv[i].as_ref().expect("filled above");
                let (a, cross) = attn.attend(&norm.forward(&xs)?, kv, &cross_bias)?;
                xs = (xs + a)?;
                if capture.attentions {
                    cross_attentions.push(cross);
                }
            }
            xs = (&xs + block.ff.forward(&block.ff_norm.forward(&xs)?)?)?;
            if capture.attentions {
                attentions.push(probs);
            }
        }
        cache.len += t;
        let mut xs = self.decoder.final_norm.forward(&xs)?;
        if capture.hidden_states {
            hidden_states.push(xs.clone());
        }
        if capture.last_logits_only {
            xs = xs.narrow(1, t - 1, 1)?;
        }
        if self.config.scales_decoder_output() {
            xs = (xs * (self.config.d_model as f64).powf(-0.5))?;
        }
        Ok(DecoderOutput {
            logits: self.lm_head.forward(&xs)?,
            hidden_states,
            attentions,
            cross_attentions,
        })
    }
}
