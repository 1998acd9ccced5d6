//! GPT-2 for training: the worker's architecture (learned positions,
//! pre-LayerNorm blocks, fused QKV, `gelu_new`, head tied to the token
//! embedding) over a compact vocabulary (see `vocab.rs`).
//!
//! Batches are RIGHT padded: with causal attention a real token never sees
//! the padding after it, so no attention mask is needed; the loss mask picks
//! the positions that count.

use candle_core::{Device, Result, Tensor};
use candle_nn::{Init, VarBuilder};
use serde::{Deserialize, Serialize};
use worker::nn::{causal_bias, Activation};

use crate::nn::{activation, attention, LayerNorm, Linear};
use crate::vocab::CompactVocab;

/// GPT-2's `<|endoftext|>`, also used as padding.
pub const EOS: u32 = 50256;
pub const FULL_VOCAB: usize = 50257;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub vocab_size: usize,
    pub n_positions: usize,
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_head: usize,
    pub layer_norm_epsilon: f64,
    pub initializer_range: f64,
}

impl Config {
    /// The size suggested for a 30-minute run on 2 cores.
    pub fn small() -> Self {
        Self {
            vocab_size: FULL_VOCAB,
            n_positions: 256,
            n_embd: 256,
            n_layer: 6,
            n_head: 8,
            layer_norm_epsilon: 1e-5,
            initializer_range: 0.02,
        }
    }

    /// For tests and smoke runs.
    pub fn tiny() -> Self {
        Self {
            n_positions: 64,
            n_embd: 32,
            n_layer: 2,
            n_head: 2,
            ..Self::small()
        }
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        if self.n_head == 0 || !self.n_embd.is_multiple_of(self.n_head) || self.n_layer == 0 {
            anyhow::bail!("n_embd must be a positive multiple of n_head, and n_layer > 0")
        }
        Ok(())
    }

    /// Hugging Face's `config.json` for this model.
    pub fn hf_json(&self) -> serde_json::Value {
        serde_json::json!({
            "architectures": ["GPT2LMHeadModel"],
            "model_type": protocol::Arch::Gpt2.as_str(),
            "vocab_size": self.vocab_size,
            "n_positions": self.n_positions,
            "n_ctx": self.n_positions,
            "n_embd": self.n_embd,
            "n_layer": self.n_layer,
            "n_head": self.n_head,
            "n_inner": null,
            "activation_function": "gelu_new",
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "initializer_range": self.initializer_range,
            "resid_pdrop": 0.0,
            "embd_pdrop": 0.0,
            "attn_pdrop": 0.0,
            "scale_attn_weights": true,
            "bos_token_id": EOS,
            "eos_token_id": EOS,
            "tie_word_embeddings": true,
        })
    }

    /// Weights outside the embeddings (blocks and final norm).
    pub fn body_parameters(&self) -> usize {
        let n = self.n_embd;
        let block =
            2 * 2 * n + (3 * n * n + 3 * n) + (n * n + n) + (4 * n * n + 4 * n) + (4 * n * n + n);
        self.n_layer * block + 2 * n
    }
}

struct Attention {
    c_attn: Linear,
    c_proj: Linear,
    n_head: usize,
}

impl Attention {
    fn load(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        let n = cfg.n_embd;
        let std = cfg.initializer_range;
        // GPT-2 scales the init of projections into the residual stream.
        let proj_std = std / (2.0 * cfg.n_layer as f64).sqrt();
        Ok(Self {
            c_attn: Linear::load(vb.pp("c_attn"), n, 3 * n, true, std)?,
            c_proj: Linear::load(vb.pp("c_proj"), n, n, true, proj_std)?,
            n_head: cfg.n_head,
        })
    }

    fn forward(&self, xs: &Tensor, bias: &Tensor) -> Result<Tensor> {
        let (b, t, c) = xs.dims3()?;
        let hd = c / self.n_head;
        let qkv = self
            .c_attn
            .forward(xs)?
            .reshape((b, t, 3, self.n_head, hd))?
            .permute((2, 0, 3, 1, 4))?;
        let q = qkv.get(0)?.contiguous()?;
        let k = qkv.get(1)?.contiguous()?;
        let v = qkv.get(2)?.contiguous()?;
        let ys = attention(&q, &k, &v, bias, 1.0 / (hd as f64).sqrt())?;
        self.c_proj
            .forward(&ys.transpose(1, 2)?.reshape((b, t, c))?)
    }
}

struct Mlp {
    c_fc: Linear,
    c_proj: Linear,
}

impl Mlp {
    fn load(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        let n = cfg.n_embd;
        let std = cfg.initializer_range;
        let proj_std = std / (2.0 * cfg.n_layer as f64).sqrt();
        Ok(Self {
            c_fc: Linear::load(vb.pp("c_fc"), n, 4 * n, true, std)?,
            c_proj: Linear::load(vb.pp("c_proj"), 4 * n, n, true, proj_std)?,
        })
    }

    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        // gelu_new, as `hf_json` tells the worker.
        let h = activation(Activation::GeluTanh, &self.c_fc.forward(xs)?)?;
        self.c_proj.forward(&h)
    }
}

struct Block {
    ln_1: LayerNorm,
    attn: Attention,
    ln_2: LayerNorm,
    mlp: Mlp,
}

impl Block {
    fn load(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        let (n, eps) = (cfg.n_embd, cfg.layer_norm_epsilon);
        Ok(Self {
            ln_1: LayerNorm::load(vb.pp("ln_1"), n, eps)?,
            attn: Attention::load(vb.pp("attn"), cfg)?,
            ln_2: LayerNorm::load(vb.pp("ln_2"), n, eps)?,
            mlp: Mlp::load(vb.pp("mlp"), cfg)?,
        })
    }

    fn forward(&self, xs: &Tensor, bias: &Tensor) -> Result<Tensor> {
        let xs = (xs + self.attn.forward(&self.ln_1.forward(xs)?, bias)?)?;
        &xs + self.mlp.forward(&self.ln_2.forward(&xs)?)?
    }
}

pub struct Gpt2 {
    /// `[compact rows, n_embd]`: the used ids, then `w_other`.
    wte: Tensor,
    wpe: Tensor,
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    head_bias: Option<Tensor>,
    pub config: Config,
}

impl Gpt2 {
    /// Variable names follow Hugging Face's GPT-2 (`wte`, `h.N.attn.c_attn`),
    /// but linear weights are `[out, in]` (llama.cpp's orientation).
    pub fn load(vb: VarBuilder, cfg: &Config, vocab: &CompactVocab) -> Result<Self> {
        let n = cfg.n_embd;
        let std = cfg.initializer_range;
        let randn = Init::Randn {
            mean: 0.0,
            stdev: std,
        };
        let wte = vb.get_with_hints((vocab.rows(), n), "wte.weight", randn)?;
        let wpe = vb.get_with_hints((cfg.n_positions, n), "wpe.weight", randn)?;
        let blocks = (0..cfg.n_layer)
            .map(|i| Block::load(vb.pp(format!("h.{i}")), cfg))
            .collect::<Result<Vec<_>>>()?;
        let ln_f = LayerNorm::load(vb.pp("ln_f"), n, cfg.layer_norm_epsilon)?;
        Ok(Self {
            wte,
            wpe,
            blocks,
            ln_f,
            head_bias: vocab.head_bias(&Device::Cpu)?,
            config: cfg.clone(),
        })
    }

    /// Final hidden states `[b, t, n_embd]` of compact ids `[b, t]`, one
    /// sequence per row.
    pub fn hidden(&self, ids: &Tensor) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let positions: Vec<u32> = (0..b).flat_map(|_| 0..t as u32).collect();
        let positions = Tensor::from_vec(positions, b * t, ids.device())?;
        let bias = causal_bias(t, 0, ids.device())?;
        self.hidden_packed(ids, &positions, &bias)
    }

    /// As [`Gpt2::hidden`] with each token's `positions` (`[b * t]`) and an
    /// attention `bias` broadcastable to `[b, heads, t, t]` (packed rows).
    pub fn hidden_packed(&self, ids: &Tensor, positions: &Tensor, bias: &Tensor) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        if t > self.config.n_positions {
            candle_core::bail!(
                "a sequence of {t} tokens is longer than the context of {}",
                self.config.n_positions
            )
        }
        let tok = self.wte.index_select(&ids.flatten_all()?, 0)?;
        let pos = self.wpe.index_select(positions, 0)?;
        let mut xs = (tok + pos)?.reshape((b, t, self.config.n_embd))?;
        for block in &self.blocks {
            xs = block.forward(&xs, bias)?;
        }
        self.ln_f.forward(&xs)
    }

    /// Compact logits `[n, rows]` of hidden states `[n, n_embd]`; the last
    /// column (if any) is the other bucket's, `h·w_other + ln N`.
    pub fn logits(&self, hidden: &Tensor) -> Result<Tensor> {
        let logits = hidden.matmul(&self.wte.t()?)?;
        match &self.head_bias {
            Some(b) => logits.broadcast_add(b),
            None => Ok(logits),
        }
    }

    /// Hidden states `[at, n_embd]` at the flat positions `at` (row-major in `[b, t]`).
    pub fn hidden_at(
        &self,
        ids: &Tensor,
        positions: &Tensor,
        bias: &Tensor,
        at: &[u32],
    ) -> Result<Tensor> {
        let h = self.hidden_packed(ids, positions, bias)?;
        let h = h.reshape((h.dim(0)? * h.dim(1)?, self.config.n_embd))?;
        h.index_select(&Tensor::new(at, h.device())?, 0)
    }

    /// The tied output table and the other bucket's `ln N` bias.
    pub fn head(&self) -> (&Tensor, Option<&Tensor>) {
        (&self.wte, self.head_bias.as_ref())
    }
}
