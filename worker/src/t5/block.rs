//! T5's layers, shaped like candle-transformers' `t5.rs`: a [`Block`] is
//! self-attention, cross-attention to the encoder (decoder blocks only) and
//! a feed-forward, each pre-normed and added to the residual stream; a
//! [`Stack`] (the encoder or the decoder) is the blocks and a final norm.

use candle_core::{Module, Result, Tensor};

use super::attention::{Attention, RelativeBias};
use crate::capture::Capture;
use crate::nn::{Activation, Linear, RmsNorm};

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
}

impl Module for FeedForward {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let h = self.activation.forward(&self.wi.forward(xs)?)?;
        let h = match &self.wi_gate {
            Some(gate) => (h * gate.forward(xs)?)?,
            None => h,
        };
        self.wo.forward(&h)
    }
}

/// What a decoder block keeps from one step to the next.
#[derive(Clone, Default)]
pub struct BlockCache {
    /// Self-attention keys and values of the positions so far.
    self_kv: Option<(Tensor, Tensor)>,
    /// Cross-attention keys and values: they depend only on the encoder
    /// output, so they are computed once per prompt.
    cross_kv: Option<(Tensor, Tensor)>,
}

impl BlockCache {
    /// Appends this step's self-attention keys/values; returns all so far.
    fn append(&mut self, (k, v): (Tensor, Tensor)) -> Result<(Tensor, Tensor)> {
        let kv = match self.self_kv.take() {
            Some((pk, pv)) => (Tensor::cat(&[&pk, &k], 2)?, Tensor::cat(&[&pv, &v], 2)?),
            None => (k, v),
        };
        self.self_kv = Some(kv.clone());
        Ok(kv)
    }

    /// The cross-attention keys/values, computed at the first step.
    fn cross(&mut self, attn: &Attention, encoder: &Tensor) -> Result<(Tensor, Tensor)> {
        if let Some(kv) = &self.cross_kv {
            return Ok(kv.clone());
        }
        let kv = attn.keys_values(encoder)?;
        self.cross_kv = Some(kv.clone());
        Ok(kv)
    }
}

/// The decoder's [`BlockCache`]s and how many positions they hold.
pub struct DecoderCache {
    blocks: Vec<BlockCache>,
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

    /// The block's output and attention probabilities (self, cross).
    /// `position_bias` holds the relative positions and the mask of the
    /// self-attention; `encoder` is the encoder output and its padding bias
    /// (decoder blocks); `cache` carries keys and values between steps.
    pub fn forward(
        &self,
        xs: &Tensor,
        position_bias: &Tensor,
        encoder: Option<(&Tensor, &Tensor)>,
        mut cache: Option<&mut BlockCache>,
    ) -> Result<(Tensor, Tensor, Option<Tensor>)> {
        let normed = self.self_norm.forward(xs)?;
        let kv = self.self_attn.keys_values(&normed)?;
        let kv = match cache.as_deref_mut() {
            Some(c) => c.append(kv)?,
            None => kv,
        };
        let (a, probs) = self.self_attn.attend(&normed, &kv, position_bias)?;
        let mut xs = (xs + a)?;
        let mut cross_probs = None;
        if let Some((norm, attn)) = &self.cross {
            let Some((hidden, bias)) = encoder else {
                candle_core::bail!("a decoder block needs the encoder output")
            };
            let kv = match cache {
                Some(c) => c.cross(attn, hidden)?,
                None => attn.keys_values(hidden)?,
            };
            let (a, p) = attn.attend(&norm.forward(&xs)?, &kv, bias)?;
            xs = (xs + a)?;
            cross_probs = Some(p);
        }
        let xs = (&xs + self.ff.forward(&self.ff_norm.forward(&xs)?)?)?;
        Ok((xs, probs, cross_probs))
    }
}

/// A stack's final hidden states and what [`Capture`] asked for.
pub struct StackOutput {
    pub hidden: Tensor,
    pub hidden_states: Vec<Tensor>,
    pub attentions: Vec<Tensor>,
    pub cross_attentions: Vec<Tensor>,
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

    pub fn new_cache(&self) -> DecoderCache {
        DecoderCache {
            blocks: vec![BlockCache::default(); self.blocks.len()],
            len: 0,
        }
    }

    /// Runs embedded tokens `xs` (`[b, t, d]`) through the blocks and the
    /// final norm. `mask` (padding for the encoder, causality for the
    /// decoder) is added to the self-attention scores with the relative
    /// position bias. The decoder also takes the encoder output with its
    /// padding bias, and the cache of the positions before `xs`.
    pub fn forward(
        &self,
        xs: &Tensor,
        mask: &Tensor,
        encoder: Option<(&Tensor, &Tensor)>,
        mut cache: Option<&mut DecoderCache>,
        capture: Capture,
    ) -> Result<StackOutput> {
        let t = xs.dim(1)?;
        let past = cache.as_ref().map_or(0, |c| c.len);
        // Every block shares the first block's table, so the bias is built once.
        let position_bias = self
            .relative_bias
            .bias(t, past + t, past)?
            .broadcast_add(mask)?;
        let mut xs = xs.clone();
        let (mut hidden_states, mut attentions, mut cross_attentions) =
            (Vec::new(), Vec::new(), Vec::new());
        for (i, block) in self.blocks.iter().enumerate() {
            if capture.hidden_states {
                hidden_states.push(xs.clone());
            }
            let block_cache = cache.as_deref_mut().map(|c| &mut c.blocks[i]);
            let (ys, probs, cross) = block.forward(&xs, &position_bias, encoder, block_cache)?;
            xs = ys;
            if capture.attentions {
                attentions.push(probs);
                cross_attentions.extend(cross);
            }
        }
        if let Some(c) = cache {
            c.len += t;
        }
        let hidden = self.final_norm.forward(&xs)?;
        if capture.hidden_states {
            hidden_states.push(hidden.clone());
        }
        Ok(StackOutput {
            hidden,
            hidden_states,
            attentions,
            cross_attentions,
        })
    }
}
