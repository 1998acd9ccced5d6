//! T5 v1.0 for training: ReLU feed-forward, embeddings shared by encoder,
//! decoder and head, decoder output × d_model^-0.5 before the tied head (as
//! transformers does), relative position buckets two-sided in the encoder
//! and one-sided (causal) in the decoder — the bucket function is the
//! worker's, so training and inference cannot disagree.
//!
//! Encoder batches are right padded with a key mask; decoder batches are
//! right padded too (causal self-attention never sees the padding after a
//! token) and the loss mask skips the padding.

use candle_core::{Device, Result, Tensor};
use candle_nn::{Init, VarBuilder};
use worker::nn::{causal_bias, Activation};
use worker::t5::relative_position_bucket;

use crate::nn::{activation, attention, Linear, RmsNorm};
use crate::vocab::CompactVocab;

/// The encoder's padding bias, as the worker builds it.
pub use worker::nn::key_mask_bias;

pub const PAD: u32 = 0;
pub const EOS: u32 = 1;
/// Hugging Face's t5 vocabulary size (32,100 tokenizer ids, padded to 32,128).
pub const FULL_VOCAB: usize = 32128;
/// `<extra_id_0>`; `<extra_id_N>` is 32099 - N.
pub const FIRST_SENTINEL: u32 = 32099;

mod config;
pub use config::Config;

/// T5 attention: no 1/sqrt(d) scaling (folded into the init) and no biases.
struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    heads: usize,
    d_kv: usize,
}

impl Attention {
    /// transformers' T5 init (factor 1.0).
    fn load(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        let (d, inner) = (cfg.d_model, cfg.inner_dim());
        let qk = ((d * cfg.d_kv) as f64).powf(-0.5);
        let dv = (d as f64).powf(-0.5);
        Ok(Self {
            q: Linear::load(vb.pp("q"), d, inner, false, qk)?,
            k: Linear::load(vb.pp("k"), d, inner, false, dv)?,
            v: Linear::load(vb.pp("v"), d, inner, false, dv)?,
            o: Linear::load(vb.pp("o"), inner, d, false, (inner as f64).powf(-0.5))?,
            heads: cfg.num_heads,
            d_kv: cfg.d_kv,
        })
    }

    fn split(&self, xs: &Tensor) -> Result<Tensor> {
        let (b, t, _) = xs.dims3()?;
        xs.reshape((b, t, self.heads, self.d_kv))?
            .transpose(1, 2)?
            .contiguous()
    }

    /// Attends from `xs` to `source` (itself for self-attention).
    fn forward(&self, xs: &Tensor, source: &Tensor, bias: &Tensor) -> Result<Tensor> {
        let (b, t, _) = xs.dims3()?;
        let q = self.split(&self.q.forward(xs)?)?;
        let k = self.split(&self.k.forward(source)?)?;
        let v = self.split(&self.v.forward(source)?)?;
        let ys = attention(&q, &k, &v, bias, 1.0)?;
        self.o.forward(
            &ys.transpose(1, 2)?
                .reshape((b, t, self.heads * self.d_kv))?,
        )
    }
}

struct FeedForward {
    wi: Linear,
    wo: Linear,
}

impl FeedForward {
    fn load(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        let (d, ff) = (cfg.d_model, cfg.d_ff);
        Ok(Self {
            wi: Linear::load(vb.pp("wi"), d, ff, false, (d as f64).powf(-0.5))?,
            wo: Linear::load(vb.pp("wo"), ff, d, false, (ff as f64).powf(-0.5))?,
        })
    }

    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        // T5 v1.0's ReLU, as `hf_json` tells the worker.
        self.wo
            .forward(&activation(Activation::Relu, &self.wi.forward(xs)?)?)
    }
}

/// The learned bias per (bucket, head), owned by a stack's first block.
struct RelativeBias {
    table: Tensor,
    bidirectional: bool,
    max_distance: usize,
}

impl RelativeBias {
    fn load(vb: VarBuilder, cfg: &Config, bidirectional: bool) -> Result<Self> {
        let table = vb.get_with_hints(
            (cfg.relative_attention_num_buckets, cfg.num_heads),
            "weight",
            Init::Randn {
                mean: 0.0,
                stdev: (cfg.d_model as f64).powf(-0.5),
            },
        )?;
        Ok(Self {
            table,
            bidirectional,
            max_distance: cfg.relative_attention_max_distance,
        })
    }

    /// `[1, heads, q, k]` for queries `0..q` and keys `0..k`.
    fn forward(&self, q: usize, k: usize) -> Result<Tensor> {
        let buckets = self.table.dim(0)?;
        let idx: Vec<u32> = (0..q)
            .flat_map(|i| {
                (0..k).map(move |j| {
                    relative_position_bucket(
                        j as i64 - i as i64,
                        self.bidirectional,
                        buckets,
                        self.max_distance,
                    ) as u32
                })
            })
            .collect();
        let idx = Tensor::new(idx, self.table.device())?;
        self.table
            .index_select(&idx, 0)?
            .reshape((q, k, ()))?
            .permute((2, 0, 1))?
            .unsqueeze(0)
    }
}

struct EncoderBlock {
    attn_norm: RmsNorm,
    attn: Attention,
    ff_norm: RmsNorm,
    ff: FeedForward,
}

impl EncoderBlock {
    fn load(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        let (d, eps) = (cfg.d_model, cfg.layer_norm_epsilon);
        Ok(Self {
            attn_norm: RmsNorm::load(vb.pp("layer.0.layer_norm"), d, eps)?,
            attn: Attention::load(vb.pp("layer.0.SelfAttention"), cfg)?,
            ff_norm: RmsNorm::load(vb.pp("layer.1.layer_norm"), d, eps)?,
            ff: FeedForward::load(vb.pp("layer.1.DenseReluDense"), cfg)?,
        })
    }

    fn forward(&self, xs: &Tensor, bias: &Tensor) -> Result<Tensor> {
        let h = self.attn_norm.forward(xs)?;
        let xs = (xs + self.attn.forward(&h, &h, bias)?)?;
        &xs + self.ff.forward(&self.ff_norm.forward(&xs)?)?
    }
}

struct DecoderBlock {
    self_norm: RmsNorm,
    self_attn: Attention,
    cross_norm: RmsNorm,
    cross_attn: Attention,
    ff_norm: RmsNorm,
    ff: FeedForward,
}

impl DecoderBlock {
    fn load(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        let (d, eps) = (cfg.d_model, cfg.layer_norm_epsilon);
        Ok(Self {
            self_norm: RmsNorm::load(vb.pp("layer.0.layer_norm"), d, eps)?,
            self_attn: Attention::load(vb.pp("layer.0.SelfAttention"), cfg)?,
            cross_norm: RmsNorm::load(vb.pp("layer.1.layer_norm"), d, eps)?,
            cross_attn: Attention::load(vb.pp("layer.1.EncDecAttention"), cfg)?,
            ff_norm: RmsNorm::load(vb.pp("layer.2.layer_norm"), d, eps)?,
            ff: FeedForward::load(vb.pp("layer.2.DenseReluDense"), cfg)?,
        })
    }

    fn forward(
        &self,
        xs: &Tensor,
        self_bias: &Tensor,
        encoded: &Tensor,
        cross_bias: &Tensor,
    ) -> Result<Tensor> {
        let h = self.self_norm.forward(xs)?;
        let xs = (xs + self.self_attn.forward(&h, &h, self_bias)?)?;
        let h = self.cross_norm.forward(&xs)?;
        let xs = (&xs + self.cross_attn.forward(&h, encoded, cross_bias)?)?;
        &xs + self.ff.forward(&self.ff_norm.forward(&xs)?)?
    }
}

pub struct T5 {
    /// `[compact rows, d_model]`: the used ids, then `w_other`.
    shared: Tensor,
    encoder: Vec<EncoderBlock>,
    encoder_bias: RelativeBias,
    encoder_norm: RmsNorm,
    decoder: Vec<DecoderBlock>,
    decoder_bias: RelativeBias,
    decoder_norm: RmsNorm,
    head_bias: Option<Tensor>,
    pub config: Config,
}

impl T5 {
    /// Variable names are Hugging Face's (`shared.weight`,
    /// `encoder.block.N.layer.0.SelfAttention.q.weight`, ...).
    pub fn load(vb: VarBuilder, cfg: &Config, vocab: &CompactVocab) -> Result<Self> {
        let shared = vb.get_with_hints(
            (vocab.rows(), cfg.d_model),
            "shared.weight",
            Init::Randn {
                mean: 0.0,
                stdev: 1.0,
            },
        )?;
        let (d, eps) = (cfg.d_model, cfg.layer_norm_epsilon);
        let enc = vb.pp("encoder");
        let encoder = (0..cfg.num_layers)
            .map(|i| EncoderBlock::load(enc.pp(format!("block.{i}")), cfg))
            .collect::<Result<Vec<_>>>()?;
        let rel = "block.0.layer.0.SelfAttention.relative_attention_bias";
        let encoder_bias = RelativeBias::load(enc.pp(rel), cfg, true)?;
        let encoder_norm = RmsNorm::load(enc.pp("final_layer_norm"), d, eps)?;
        let dec = vb.pp("decoder");
        let decoder = (0..cfg.num_decoder_layers)
            .map(|i| DecoderBlock::load(dec.pp(format!("block.{i}")), cfg))
            .collect::<Result<Vec<_>>>()?;
        let decoder_bias = RelativeBias::load(dec.pp(rel), cfg, false)?;
        let decoder_norm = RmsNorm::load(dec.pp("final_layer_norm"), d, eps)?;
        Ok(Self {
            shared,
            encoder,
            encoder_bias,
            encoder_norm,
            decoder,
            decoder_bias,
            decoder_norm,
            head_bias: vocab.head_bias(&Device::Cpu)?,
            config: cfg.clone(),
        })
    }

    fn embed(&self, ids: &Tensor) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        self.shared
            .index_select(&ids.flatten_all()?, 0)?
            .reshape((b, t, self.config.d_model))
    }

    /// Encoder output `[b, s, d]`; `mask_bias` (from [`key_mask_bias`], or a
    /// per-query mask for packed rows) broadcasts to `[b, heads, s, s]`.
    pub fn encode(&self, ids: &Tensor, mask_bias: &Tensor) -> Result<Tensor> {
        let s = ids.dim(1)?;
        let bias = self.encoder_bias.forward(s, s)?.broadcast_add(mask_bias)?;
        let mut xs = self.embed(ids)?;
        for block in &self.encoder {
            xs = block.forward(&xs, &bias)?;
        }
        self.encoder_norm.forward(&xs)
    }

    /// Decoder hidden states `[b, t, d]`, already × d_model^-0.5 for the
    /// tied head. `self_mask` (default: causal) and `cross_bias` broadcast to
    /// `[b, heads, t, t]` and `[b, heads, t, s]`.
    pub fn decode(
        &self,
        ids: &Tensor,
        encoded: &Tensor,
        self_mask: Option<&Tensor>,
        cross_bias: &Tensor,
    ) -> Result<Tensor> {
        let t = ids.dim(1)?;
        let mask = match self_mask {
            Some(m) => m.clone(),
            None => causal_bias(t, 0, ids.device())?,
        };
        let self_bias = self.decoder_bias.forward(t, t)?.broadcast_add(&mask)?;
        let mut xs = self.embed(ids)?;
        for block in &self.decoder {
            xs = block.forward(&xs, &self_bias, encoded, cross_bias)?;
        }
        self.decoder_norm.forward(&xs)? * (self.config.d_model as f64).powf(-0.5)
    }

    /// Compact logits `[n, rows]` of scaled decoder states `[n, d]`.
    pub fn logits(&self, hidden: &Tensor) -> Result<Tensor> {
        let logits = hidden.matmul(&self.shared.t()?)?;
        match &self.head_bias {
            Some(b) => logits.broadcast_add(b),
            None => Ok(logits),
        }
    }

    /// Scaled decoder states `[at, d]` at flat decoder positions `at` (row-major in `[b, t]`).
    pub fn hidden_at(
        &self,
        input: &Tensor,
        encoder_bias: &Tensor,
        decoder_input: &Tensor,
        decoder_bias: &Tensor,
        cross_bias: &Tensor,
        at: &[u32],
    ) -> Result<Tensor> {
        let encoded = self.encode(input, encoder_bias)?;
        let h = self.decode(decoder_input, &encoded, Some(decoder_bias), cross_bias)?;
        let h = h.reshape((h.dim(0)? * h.dim(1)?, self.config.d_model))?;
        h.index_select(&Tensor::new(at, h.device())?, 0)
    }

    /// The tied output table and the other bucket's `ln N` bias.
    pub fn head(&self) -> (&Tensor, Option<&Tensor>) {
        (&self.shared, self.head_bias.as_ref())
    }
}
