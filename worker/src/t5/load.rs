//! Builds a [`T5`] from Hugging Face tensor names (the layout of
//! `lmz/candle-quantized-t5` GGUF files and of `model.safetensors`); the
//! config always comes from `config.json`.

use candle_core::quantized::QTensor;
use candle_core::{bail, Result, Tensor};

use super::attention::{Attention, RelativeBias};
use super::block::{Block, FeedForward, Stack};
use super::config::Config;
use super::model::T5;
use crate::nn::{Linear, RmsNorm, TokenTable};
use crate::weights::TensorStore;

struct Loader<'a> {
    store: TensorStore,
    cfg: &'a Config,
}

impl Loader<'_> {
    fn take(&mut self, name: &str, dims: &[usize]) -> Result<QTensor> {
        self.store.take_shaped(name, dims)
    }

    fn f32(&mut self, name: &str, dims: &[usize]) -> Result<Tensor> {
        self.store.take_f32(name, dims)
    }

    fn linear(&mut self, name: &str, out_dim: usize, in_dim: usize) -> Result<Linear> {
        Linear::new(
            self.take(&format!("{name}.weight"), &[out_dim, in_dim])?,
            None,
        )
    }

    fn norm(&mut self, name: &str) -> Result<RmsNorm> {
        let w = self.f32(&format!("{name}.weight"), &[self.cfg.d_model])?;
        Ok(RmsNorm::new(w, self.cfg.layer_norm_epsilon))
    }

    fn attention(&mut self, prefix: &str) -> Result<Attention> {
        let (d, inner) = (self.cfg.d_model, self.cfg.inner_dim());
        let q = self.linear(&format!("{prefix}.q"), inner, d)?;
        let k = self.linear(&format!("{prefix}.k"), inner, d)?;
        let v = self.linear(&format!("{prefix}.v"), inner, d)?;
        let o = self.linear(&format!("{prefix}.o"), d, inner)?;
        Ok(Attention::new(q, k, v, o, self.cfg))
    }

    fn feed_forward(&mut self, prefix: &str) -> Result<FeedForward> {
        let (d, ff) = (self.cfg.d_model, self.cfg.d_ff);
        let (act, gated) = self.cfg.feed_forward()?;
        let (wi, gate) = if gated {
            (
                self.linear(&format!("{prefix}.wi_0"), ff, d)?,
                Some(self.linear(&format!("{prefix}.wi_1"), ff, d)?),
            )
        } else {
            (self.linear(&format!("{prefix}.wi"), ff, d)?, None)
        };
        let wo = self.linear(&format!("{prefix}.wo"), d, ff)?;
        Ok(FeedForward::new(wi, gate, wo, act))
    }

    fn stack(&mut self, name: &str, layers: usize, decoder: bool) -> Result<Stack> {
        let mut blocks = Vec::new();
        for i in 0..layers {
            let p = format!("{name}.block.{i}.layer");
            let self_norm = self.norm(&format!("{p}.0.layer_norm"))?;
            let self_attn = self.attention(&format!("{p}.0.SelfAttention"))?;
            let (cross, ff_index) = if decoder {
                let norm = self.norm(&format!("{p}.1.layer_norm"))?;
                (
                    Some((norm, self.attention(&format!("{p}.1.EncDecAttention"))?)),
                    2,
                )
            } else {
                (None, 1)
            };
            let ff_norm = self.norm(&format!("{p}.{ff_index}.layer_norm"))?;
            let ff = self.feed_forward(&format!("{p}.{ff_index}.DenseReluDense"))?;
            blocks.push(Block::new(self_norm, self_attn, cross, ff_norm, ff));
        }
        let table = self.f32(
            &format!("{name}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"),
            &[self.cfg.relative_attention_num_buckets, self.cfg.num_heads],
        )?;
        let bias = RelativeBias::new(&table, !decoder, self.cfg.relative_attention_max_distance)?;
        let final_norm = self.norm(&format!("{name}.final_layer_norm"))?;
        Ok(Stack::new(blocks, bias, final_norm))
    }
}

pub fn load(store: TensorStore, config_json: Option<&str>) -> Result<T5> {
    let Some(json) = config_json else {
        bail!("T5 files carry no config: load the model's config.json with it")
    };
    let config = Config::from_json(json)?;
    let mut l = Loader {
        store,
        cfg: &config,
    };
    // Some exports name the shared embedding only through the stacks.
    let shared_name = ["shared.weight", "encoder.embed_tokens.weight"]
        .into_iter()
        .find(|n| l.store.contains(n))
        .unwrap_or("shared.weight");
    let shared = TokenTable::new(l.take(shared_name, &[config.vocab_size, config.d_model])?)?;
    let encoder = l.stack("encoder", config.num_layers, false)?;
    let decoder = l.stack("decoder", config.decoder_layers(), true)?;
    // A file's own lm_head wins (flan-t5); otherwise the head is the embedding.
    let lm_head = if l.store.contains("lm_head.weight") {
        Linear::new(
            l.take("lm_head.weight", &[config.vocab_size, config.d_model])?,
            None,
        )?
    } else if config.tie_word_embeddings {
        shared.tied_head()?
    } else {
        bail!("the config says the head is untied but the file has no lm_head.weight")
    };
    let parameters = l.store.taken_parameters;
    Ok(T5::new(
        shared, encoder, decoder, lm_head, config, parameters,
    ))
}
