//! GPT-2's hyper-parameters, as Hugging Face's `config.json` names them.

use candle_core::{bail, Result};
use serde::Deserialize;

use crate::nn::Activation;
use crate::weights::TensorStore;

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Config {
    pub vocab_size: usize,
    pub n_positions: usize,
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_head: usize,
    /// Width of the MLP; `None` means 4 × `n_embd`.
    #[serde(default)]
    pub n_inner: Option<usize>,
    #[serde(default = "default_activation")]
    pub activation_function: String,
    #[serde(default = "default_eps")]
    pub layer_norm_epsilon: f64,
    #[serde(default)]
    pub bos_token_id: Option<u32>,
    #[serde(default)]
    pub eos_token_id: Option<u32>,
    /// Variants of GPT-2's attention scaling that no published GPT-2 uses;
    /// refused rather than silently computed differently.
    #[serde(default = "default_true")]
    pub scale_attn_weights: bool,
    #[serde(default)]
    pub scale_attn_by_inverse_layer_idx: bool,
    #[serde(default)]
    pub reorder_and_upcast_attn: bool,
}

fn default_true() -> bool {
    true
}

fn default_activation() -> String {
    "gelu_new".into()
}

fn default_eps() -> f64 {
    1e-5
}

impl Config {
    pub fn from_json(json: &str) -> Result<Self> {
        let cfg: Self = serde_json::from_str(json).map_err(|e| {
            candle_core::Error::msg(format!("config.json is not a GPT-2 config: {e}"))
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The config llama.cpp writes into a GPT-2 GGUF (`gpt2.*` keys).
    pub fn from_gguf(store: &TensorStore) -> Result<Self> {
        let n_embd = store.metadata_usize("gpt2.embedding_length")?;
        let vocab_size = store.get("token_embd.weight")?.shape().dims()[0];
        let cfg = Self {
            vocab_size,
            n_positions: store.metadata_usize("gpt2.context_length")?,
            n_embd,
            n_layer: store.metadata_usize("gpt2.block_count")?,
            n_head: store.metadata_usize("gpt2.attention.head_count")?,
            n_inner: store.metadata_usize("gpt2.feed_forward_length").ok(),
            activation_function: default_activation(),
            layer_norm_epsilon: store
                .metadata_f64("gpt2.attention.layer_norm_epsilon")
                .unwrap_or(1e-5),
            bos_token_id: store
                .metadata_usize("tokenizer.ggml.bos_token_id")
                .ok()
                .map(|v| v as u32),
            eos_token_id: store
                .metadata_usize("tokenizer.ggml.eos_token_id")
                .ok()
                .map(|v| v as u32),
            scale_attn_weights: true,
            scale_attn_by_inverse_layer_idx: false,
            reorder_and_upcast_attn: false,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn inner_size(&self) -> usize {
        self.n_inner.unwrap_or(4 * self.n_embd)
    }

    pub fn head_dim(&self) -> usize {
        self.n_embd / self.n_head
    }

    fn validate(&self) -> Result<()> {
        if self.n_head == 0 || !self.n_embd.is_multiple_of(self.n_head) {
            bail!(
                "n_embd {} is not a multiple of n_head {}",
                self.n_embd,
                self.n_head
            )
        }
        if self.vocab_size == 0 || self.n_layer == 0 || self.n_positions == 0 || self.n_embd == 0 {
            bail!("the config has a zero vocab size, width, layer count or context length")
        }
        if self.n_layer > 1000 {
            bail!("the config's {} layers are implausibly many", self.n_layer)
        }
        self.activation()?;
        if !self.scale_attn_weights
            || self.scale_attn_by_inverse_layer_idx
            || self.reorder_and_upcast_attn
        {
            bail!("this config changes GPT-2's attention scaling, which is not supported")
        }
        Ok(())
    }

    pub fn activation(&self) -> Result<Activation> {
        Ok(match self.activation_function.as_str() {
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
            "gelu" => Activation::GeluErf,
            "relu" => Activation::Relu,
            other => bail!("activation {other} is not supported (GPT-2 uses gelu_new)"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GPT2: &str = r#"{"vocab_size": 50257, "n_positions": 1024, "n_embd": 768,
        "n_layer": 12, "n_head": 12, "activation_function": "gelu_new"}"#;

    #[test]
    fn reads_hugging_face_configs_and_refuses_what_it_cannot_compute() {
        let cfg = Config::from_json(GPT2).unwrap();
        assert_eq!((cfg.inner_size(), cfg.head_dim()), (3072, 64));
        assert_eq!(cfg.activation().unwrap(), Activation::GeluTanh);
        let scaled = GPT2.replace('}', r#", "scale_attn_by_inverse_layer_idx": true}"#);
        assert!(Config::from_json(&scaled).is_err());
        let bad_heads = GPT2.replace(r#""n_head": 12"#, r#""n_head": 7"#);
        assert!(Config::from_json(&bad_heads).is_err());
        assert!(Config::from_json("{}").is_err());
    }
}
