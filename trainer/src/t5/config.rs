//! The trained T5's shape, and the `config.json` transformers reads for it.

use serde::{Deserialize, Serialize};

use super::{EOS, FULL_VOCAB, PAD};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub vocab_size: usize,
    pub d_model: usize,
    pub d_kv: usize,
    pub d_ff: usize,
    pub num_layers: usize,
    pub num_decoder_layers: usize,
    pub num_heads: usize,
    pub relative_attention_num_buckets: usize,
    pub relative_attention_max_distance: usize,
    pub layer_norm_epsilon: f64,
    /// Longest encoder input used in training.
    pub max_input_length: usize,
    /// Longest decoder target used in training.
    pub max_target_length: usize,
}

impl Config {
    /// The size suggested for a 30-minute run on 2 cores.
    pub fn small() -> Self {
        Self {
            vocab_size: FULL_VOCAB,
            d_model: 256,
            d_kv: 32,
            d_ff: 1024,
            num_layers: 3,
            num_decoder_layers: 3,
            num_heads: 8,
            relative_attention_num_buckets: 32,
            relative_attention_max_distance: 128,
            layer_norm_epsilon: 1e-6,
            max_input_length: 256,
            max_target_length: 128,
        }
    }

    pub fn tiny() -> Self {
        Self {
            d_model: 32,
            d_kv: 16,
            d_ff: 64,
            num_layers: 2,
            num_decoder_layers: 2,
            num_heads: 2,
            max_input_length: 64,
            max_target_length: 32,
            ..Self::small()
        }
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        let sizes = [
            self.d_model,
            self.d_kv,
            self.d_ff,
            self.num_heads,
            self.num_layers,
        ];
        if sizes.contains(&0) || self.num_decoder_layers == 0 {
            anyhow::bail!("T5 sizes must be positive")
        }
        if self.relative_attention_num_buckets < 4
            || self.relative_attention_max_distance <= self.relative_attention_num_buckets / 2
        {
            anyhow::bail!(
                "relative attention needs >= 4 buckets and a max distance above half of them"
            )
        }
        Ok(())
    }

    pub fn inner_dim(&self) -> usize {
        self.num_heads * self.d_kv
    }

    pub fn hf_json(&self) -> serde_json::Value {
        serde_json::json!({
            "architectures": ["T5ForConditionalGeneration"],
            "model_type": protocol::Arch::T5.as_str(),
            "vocab_size": self.vocab_size,
            "d_model": self.d_model,
            "d_kv": self.d_kv,
            "d_ff": self.d_ff,
            "num_layers": self.num_layers,
            "num_decoder_layers": self.num_decoder_layers,
            "num_heads": self.num_heads,
            "relative_attention_num_buckets": self.relative_attention_num_buckets,
            "relative_attention_max_distance": self.relative_attention_max_distance,
            "dropout_rate": 0.0,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "initializer_factor": 1.0,
            "feed_forward_proj": "relu",
            "is_encoder_decoder": true,
            "tie_word_embeddings": true,
            "scale_decoder_outputs": true,
            "pad_token_id": PAD,
            "eos_token_id": EOS,
            "decoder_start_token_id": PAD,
            "use_cache": true,
        })
    }

    /// Weights outside the shared embedding.
    pub fn body_parameters(&self) -> usize {
        let (d, inner, ff) = (self.d_model, self.inner_dim(), self.d_ff);
        let attn = 4 * d * inner;
        let ffn = 2 * d * ff;
        let rel = self.relative_attention_num_buckets * self.num_heads;
        let enc = self.num_layers * (attn + ffn + 2 * d) + rel + d;
        let dec = self.num_decoder_layers * (2 * attn + ffn + 3 * d) + rel + d;
        enc + dec
    }
}
