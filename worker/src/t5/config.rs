//! T5's hyper-parameters, as Hugging Face's `config.json` names them.

use candle_core::{bail, Result};
use serde::Deserialize;

use crate::nn::Activation;

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Config {
    pub vocab_size: usize,
    pub d_model: usize,
    pub d_kv: usize,
    pub d_ff: usize,
    pub num_layers: usize,
    /// `None` means as many as the encoder.
    #[serde(default)]
    pub num_decoder_layers: Option<usize>,
    pub num_heads: usize,
    #[serde(default = "default_buckets")]
    pub relative_attention_num_buckets: usize,
    #[serde(default = "default_max_distance")]
    pub relative_attention_max_distance: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_epsilon: f64,
    /// `relu` (T5 v1.0) or `gated-gelu` (v1.1, flan-t5).
    #[serde(default = "default_ff")]
    pub feed_forward_proj: String,
    #[serde(default = "default_true")]
    pub tie_word_embeddings: bool,
    /// Newer transformers write this; older configs imply it from tying.
    #[serde(default)]
    pub scale_decoder_outputs: Option<bool>,
    #[serde(default)]
    pub pad_token_id: u32,
    #[serde(default = "default_eos")]
    pub eos_token_id: u32,
    #[serde(default)]
    pub decoder_start_token_id: Option<u32>,
}

/// More layers than any published T5 has, by far: a guard against bad files.
const MAX_LAYERS: usize = 1000;

fn default_buckets() -> usize {
    32
}
fn default_max_distance() -> usize {
    128
}
fn default_eps() -> f64 {
    1e-6
}
fn default_ff() -> String {
    "relu".into()
}
fn default_true() -> bool {
    true
}
fn default_eos() -> u32 {
    1
}

impl Config {
    pub fn from_json(json: &str) -> Result<Self> {
        let cfg: Self = serde_json::from_str(json)
            .map_err(|e| candle_core::Error::msg(format!("config.json is not a T5 config: {e}")))?;
        cfg.feed_forward()?;
        let sizes = [
            cfg.vocab_size,
            cfg.d_model,
            cfg.d_kv,
            cfg.d_ff,
            cfg.num_heads,
            cfg.num_layers,
        ];
        if sizes.contains(&0) || cfg.decoder_layers() == 0 {
            bail!("the config has a zero size (vocab, d_model, d_kv, d_ff, heads or layers)")
        }
        if cfg.num_heads.checked_mul(cfg.d_kv).is_none()
            || cfg.num_layers > MAX_LAYERS
            || cfg.decoder_layers() > MAX_LAYERS
        {
            bail!("the config's sizes are implausibly large")
        }
        // The bucket formula needs at least one log-spaced bucket per side.
        let buckets = cfg.relative_attention_num_buckets;
        if buckets < 4 || cfg.relative_attention_max_distance <= buckets / 2 {
            bail!(
                "relative attention needs at least 4 buckets and a max distance above half of them (got {buckets} and {})",
                cfg.relative_attention_max_distance
            )
        }
        Ok(cfg)
    }

    pub fn decoder_layers(&self) -> usize {
        self.num_decoder_layers.unwrap_or(self.num_layers)
    }

    pub fn inner_dim(&self) -> usize {
        self.num_heads * self.d_kv
    }

    pub fn decoder_start(&self) -> u32 {
        self.decoder_start_token_id.unwrap_or(self.pad_token_id)
    }

    /// Tied models rescale the decoder output by d_model^-0.5 before the head.
    pub fn scales_decoder_output(&self) -> bool {
        self.scale_decoder_outputs
            .unwrap_or(self.tie_word_embeddings)
    }

    /// The activation and whether the feed-forward is gated.
    pub fn feed_forward(&self) -> Result<(Activation, bool)> {
        let (gated, act) = match self.feed_forward_proj.strip_prefix("gated-") {
            Some(act) => (true, act),
            None => (false, self.feed_forward_proj.as_str()),
        };
        let act = match act {
            "relu" => Activation::Relu,
            // transformers maps "gated-gelu" to the tanh GELU (gelu_new),
            // a plain "gelu" to the exact one.
            "gelu" if gated => Activation::GeluTanh,
            "gelu" => Activation::GeluErf,
            "gelu_new" => Activation::GeluTanh,
            other => bail!("feed-forward {other} is not supported (relu or gated-gelu)"),
        };
        Ok((act, gated))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T5: &str = r#"{"vocab_size": 32128, "d_model": 512, "d_kv": 64, "d_ff": 2048,
        "num_layers": 6, "num_heads": 8, "feed_forward_proj": "relu"}"#;

    #[test]
    fn reads_configs_and_refuses_odd_ones() {
        let cfg = Config::from_json(T5).unwrap();
        assert_eq!((cfg.decoder_layers(), cfg.inner_dim()), (6, 512));
        assert!(cfg.scales_decoder_output());
        let flan = T5.replace("\"relu\"", "\"gated-gelu\"");
        assert_eq!(
            Config::from_json(&flan).unwrap().feed_forward().unwrap(),
            (Activation::GeluTanh, true)
        );
        let plain = T5.replace("\"relu\"", "\"gelu\"");
        assert_eq!(
            Config::from_json(&plain).unwrap().feed_forward().unwrap(),
            (Activation::GeluErf, false)
        );
        for (from, to) in [
            ("\"d_kv\": 64", "\"d_kv\": 0"),
            ("\"num_heads\": 8", "\"num_heads\": 0"),
            ("\"num_layers\": 6", "\"num_layers\": 100000000"),
            (
                "\"d_ff\": 2048",
                "\"d_ff\": 2048, \"relative_attention_num_buckets\": 1",
            ),
            (
                "\"d_ff\": 2048",
                "\"d_ff\": 2048, \"relative_attention_max_distance\": 8",
            ),
            ("\"relu\"", "\"swish\""),
        ] {
            assert!(Config::from_json(&T5.replace(from, to)).is_err(), "{to}");
        }
    }
}
