//! GPT-2: learned token and position embeddings, pre-LayerNorm blocks with
//! fused QKV attention and a GELU MLP, and an LM head tied to the embeddings.
//!
//! Batches are LEFT padded: a mask marks the real tokens, each row counts its
//! own positions, so rows of different lengths give the logits they would alone.

use candle_core::{Device, Module, Result, Tensor};

use super::config::Config;
use crate::capture::Capture;
use crate::nn::{
    causal_key_mask_bias, softmax_last_dim, Activation, LayerNorm, Linear, TokenTable,
};

pub struct Output {
    /// `[batch, positions, vocab]` (one position with `last_logits_only`).
    pub logits: Tensor,
    pub hidden_states: Vec<Tensor>,
    pub attentions: Vec<Tensor>,
}

/// Keys and values of the positions seen so far, per layer, and which of them
/// are real tokens (1) or padding (0).
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
    key_mask: Vec<Vec<f32>>,
    next_position: Vec<u32>,
}

impl KvCache {
    pub fn new(n_layer: usize) -> Self {
        Self {
            layers: vec![None; n_layer],
            key_mask: Vec::new(),
            next_position: Vec::new(),
        }
    }

    /// Positions held, padding included.
    pub fn len(&self) -> usize {
        self.key_mask.first().map_or(0, Vec::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub struct Attention {
    c_attn: Linear,
    c_proj: Linear,
    n_head: usize,
    head_dim: usize,
}

impl Attention {
    pub fn new(c_attn: Linear, c_proj: Linear, cfg: &Config) -> Self {
        Self {
            c_attn,
            c_proj,
            n_head: cfg.n_head,
            head_dim: cfg.head_dim(),
        }
    }

    /// `bias` is added to the scores: 0 where a query may look, a large
    /// negative number where it may not (future positions, padding).
    fn forward(
        &self,
        xs: &Tensor,
        bias: &Tensor,
        cache: &mut Option<(Tensor, Tensor)>,
    ) -> Result<(Tensor, Tensor)> {
        let (b, t, c) = xs.dims3()?;
        let qkv = self.c_attn.forward(xs)?;
        let qkv = qkv
            .reshape((b, t, 3, self.n_head, self.head_dim))?
            .permute((2, 0, 3, 1, 4))?;
        let q = qkv.get(0)?.contiguous()?;
        let k = qkv.get(1)?.contiguous()?;
        let v = qkv.get(2)?.contiguous()?;
        let (k, v) = match cache.take() {
            Some((pk, pv)) => (Tensor::cat(&[&pk, &k], 2)?, Tensor::cat(&[&pv, &v], 2)?),
            None => (k, v),
        };
        *cache = Some((k.clone(), v.clone()));
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let scores = (q.matmul(&k.t()?.contiguous()?)? * scale)?.broadcast_add(bias)?;
        let probs = softmax_last_dim(&scores)?;
        let ys = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, t, c))?;
        Ok((self.c_proj.forward(&ys)?, probs))
    }
}

pub struct Mlp {
    c_fc: Linear,
    c_proj: Linear,
    activation: Activation,
}

impl Mlp {
    pub fn new(c_fc: Linear, c_proj: Linear, activation: Activation) -> Self {
        Self {
            c_fc,
            c_proj,
            activation,
        }
    }

    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let h = self.activation.forward(&self.c_fc.forward(xs)?)?;
        self.c_proj.forward(&h)
    }
}

pub struct Block {
    ln_1: LayerNorm,
    attn: Attention,
    ln_2: LayerNorm,
    mlp: Mlp,
}

impl Block {
    pub fn new(ln_1: LayerNorm, attn: Attention, ln_2: LayerNorm, mlp: Mlp) -> Self {
        Self {
            ln_1,
            attn,
            ln_2,
            mlp,
        }
    }

    fn forward(
        &self,
        xs: &Tensor,
        bias: &Tensor,
        cache: &mut Option<(Tensor, Tensor)>,
    ) -> Result<(Tensor, Tensor)> {
        let (a, probs) = self.attn.forward(&self.ln_1.forward(xs)?, bias, cache)?;
        let xs = (xs + a)?;
        let m = self.mlp.forward(&self.ln_2.forward(&xs)?)?;
        Ok(((xs + m)?, probs))
    }
}

pub struct Gpt2 {
    wte: TokenTable,
    wpe: Tensor,
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    lm_head: Linear,
    pub config: Config,
    pub parameters: u64,
}

impl Gpt2 {
    pub fn new(
        wte: TokenTable,
        wpe: Tensor,
        blocks: Vec<Block>,
        ln_f: LayerNorm,
        lm_head: Linear,
        config: Config,
        parameters: u64,
    ) -> Self {
        Self {
            wte,
            wpe,
            blocks,
            ln_f,
            lm_head,
            config,
            parameters,
        }
    }

    pub fn new_cache(&self) -> KvCache {
        KvCache::new(self.blocks.len())
    }

    /// Runs `ids` (`[batch, t]`, u32) after what `cache` holds. `mask`
    /// (`[batch, t]`, 1 = token, 0 = left padding) defaults to all ones.
    pub fn forward(
        &self,
        ids: &Tensor,
        mask: Option<&[Vec<f32>]>,
        cache: &mut KvCache,
        capture: Capture,
    ) -> Result<Output> {
        let (b, t) = ids.dims2()?;
        let mask: Vec<Vec<f32>> = match mask {
            Some(m) => m.to_vec(),
            None => vec![vec![1.0; t]; b],
        };
        if mask.len() != b || mask.iter().any(|row| row.len() != t) {
            candle_core::bail!("the attention mask does not match the batch shape {b}x{t}")
        }
        if cache.is_empty() {
            cache.next_position = vec![0; b];
        } else if cache.key_mask.len() != b {
            candle_core::bail!("the batch size changed while the cache is in use")
        }
        let past = cache.len();
        if past + t > self.config.n_positions {
            candle_core::bail!(
                "the text is {} tokens long, the model's context holds {}",
                past + t,
                self.config.n_positions
            )
        }

        let positions = cache_positions(cache, &mask);
        let positions = Tensor::from_vec(positions, b * t, &Device::Cpu)?;
        let tok = self.wte.embedding(ids)?;
        let pos = self.wpe.index_select(&positions, 0)?.reshape((b, t, ()))?;
        let mut xs = (tok + pos)?;

        for (row, m) in mask.iter().enumerate() {
            if cache.key_mask.len() <= row {
                cache.key_mask.push(Vec::new());
            }
            cache.key_mask[row].extend_from_slice(m);
        }
        let bias = causal_key_mask_bias(&cache.key_mask, past, t, &Device::Cpu)?;

        let mut hidden_states = Vec::new();
        let mut attentions = Vec::new();
        for (block, layer_cache) in self.blocks.iter().zip(cache.layers.iter_mut()) {
            if capture.hidden_states {
                hidden_states.push(xs.clone());
            }
            let (out, probs) = block.forward(&xs, &bias, layer_cache)?;
            xs = out;
            if capture.attentions {
                attentions.push(probs);
            }
        }
        let mut xs = self.ln_f.forward(&xs)?;
        if capture.hidden_states {
            hidden_states.push(xs.clone());
        }
        if capture.last_logits_only {
            xs = xs.narrow(1, t - 1, 1)?.contiguous()?;
        }
        let logits = self.lm_head.forward(&xs)?;
        Ok(Output {
            logits,
            hidden_states,
            attentions,
        })
    }
}

/// Each new token's position: its row's count of real tokens before it
/// (padding gets position 0; its output is never used).
fn cache_positions(cache: &mut KvCache, mask: &[Vec<f32>]) -> Vec<u32> {
    let mut positions = Vec::new();
    for (row, m) in mask.iter().enumerate() {
        for &keep in m {
            if keep > 0.5 {
                positions.push(cache.next_position[row]);
                cache.next_position[row] += 1;
            } else {
                positions.push(cache.next_position[row].saturating_sub(1));
            }
        }
    }
    positions
}
