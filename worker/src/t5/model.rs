//! T5: an encoder that reads the whole input (bidirectional attention with
//! relative position buckets) and a decoder that writes the output one token
//! at a time (causal self-attention plus cross-attention to the encoder).
//!
//! Batches are RIGHT padded on the encoder side; the encoder mask keeps
//! padding out of both the encoder's and the decoder's cross-attention.

use candle_core::{Device, Module, Result, Tensor};

use super::block::{DecoderCache, Stack};
use super::config::Config;
use crate::capture::Capture;
use crate::nn::{causal_bias, key_mask_bias, Linear, TokenTable};

/// Longest input and output, in tokens. Relative positions have no hard
/// limit, but memory does (attention is quadratic); T5 was trained on 512.
pub const MAX_LENGTH: usize = 1024;

/// The encoder's output for a batch, reused at every decoder step.
pub struct Encoded {
    pub hidden: Tensor,
    /// `[b, s]`, 1 = token, 0 = padding.
    pub mask: Vec<Vec<f32>>,
    pub hidden_states: Vec<Tensor>,
    pub attentions: Vec<Tensor>,
}

pub struct DecoderOutput {
    /// `[b, t, vocab]` (one position with `last_logits_only`).
    pub logits: Tensor,
    pub hidden_states: Vec<Tensor>,
    pub attentions: Vec<Tensor>,
    pub cross_attentions: Vec<Tensor>,
}

pub struct T5 {
    shared: TokenTable,
    encoder: Stack,
    decoder: Stack,
    lm_head: Linear,
    pub config: Config,
    pub parameters: u64,
}

impl T5 {
    pub fn new(
        shared: TokenTable,
        encoder: Stack,
        decoder: Stack,
        lm_head: Linear,
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
        let padding = key_mask_bias(&mask, &Device::Cpu)?;
        let xs = self.shared.embedding(ids)?;
        let out = self.encoder.forward(&xs, &padding, None, None, capture)?;
        Ok(Encoded {
            hidden: out.hidden,
            mask,
            hidden_states: out.hidden_states,
            attentions: out.attentions,
        })
    }

    pub fn new_cache(&self) -> DecoderCache {
        self.decoder.new_cache()
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
        if t == 0 || cache.len() + t > MAX_LENGTH {
            candle_core::bail!("T5 here writes at most {MAX_LENGTH} tokens")
        }
        if encoded.mask.len() != b {
            candle_core::bail!("the decoder batch does not match the encoder batch")
        }
        let causal = causal_bias(t, cache.len(), &Device::Cpu)?;
        let cross_bias = key_mask_bias(&encoded.mask, &Device::Cpu)?;
        let xs = self.shared.embedding(ids)?;
        let encoder = Some((&encoded.hidden, &cross_bias));
        let out = self
            .decoder
            .forward(&xs, &causal, encoder, Some(cache), capture)?;
        let mut xs = out.hidden;
        if capture.last_logits_only {
            xs = xs.narrow(1, t - 1, 1)?.contiguous()?;
        }
        if self.config.scales_decoder_output() {
            xs = (xs * (self.config.d_model as f64).powf(-0.5))?;
        }
        Ok(DecoderOutput {
            logits: self.lm_head.forward(&xs)?,
            hidden_states: out.hidden_states,
            attentions: out.attentions,
            cross_attentions: out.cross_attentions,
        })
    }
}
