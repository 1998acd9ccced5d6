//! Random weights of the real gpt2 (124M) and t5-small shapes, written as the
//! GGUF files the loaders read: the benchmark's models, made without torch.
//! Their outputs mean nothing; their speed and memory are the real models'.

use std::io::Cursor;

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{Device, Result, Tensor};

use crate::weights::quantize_weight;

/// A seeded normal source (xorshift64* and Box–Muller): the same files on
/// every machine, no `rand` dependency.
struct Normal(u64);

impl Normal {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11;
        (bits as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn values(&mut self, n: usize, std: f64) -> Vec<f32> {
        (0..n)
            .map(|_| {
                let (u, v) = (self.uniform(), self.uniform());
                ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos() * std) as f32
            })
            .collect()
    }
}

/// What goes into one tensor of the file.
enum Fill {
    /// A weight matrix: normal(0, 0.02), quantized to the file's type.
    Weight,
    /// Norm scales.
    Ones,
    /// Biases.
    Zeros,
    /// Kept f32 whatever the file's type (position tables, bucket tables).
    Exact,
}

struct Builder {
    rng: Normal,
    dtype: GgmlDType,
    tensors: Vec<(String, QTensor)>,
}

impl Builder {
    fn new(seed: u64, dtype: GgmlDType) -> Self {
        Self {
            rng: Normal(seed | 1),
            dtype,
            tensors: Vec::new(),
        }
    }

    fn add(&mut self, name: String, dims: &[usize], fill: Fill) -> Result<()> {
        let n: usize = dims.iter().product();
        let values = match fill {
            Fill::Weight | Fill::Exact => self.rng.values(n, 0.02),
            Fill::Ones => vec![1.0; n],
            Fill::Zeros => vec![0.0; n],
        };
        let t = Tensor::from_vec(values, dims, &Device::Cpu)?;
        let q = match fill {
            Fill::Weight => quantize_weight(&t, Some(self.dtype))?,
            _ => QTensor::quantize(&t, GgmlDType::F32)?,
        };
        self.tensors.push((name, q));
        Ok(())
    }

    fn gguf(self, metadata: &[(&str, gguf_file::Value)]) -> Result<Vec<u8>> {
        let meta: Vec<(&str, &gguf_file::Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
        let tensors: Vec<(&str, &QTensor)> =
            self.tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let mut out = Cursor::new(Vec::new());
        gguf_file::write(&mut out, &meta, &tensors)?;
        Ok(out.into_inner())
    }
}

/// gpt2 (124M): llama.cpp's names and `gpt2.*` metadata, tied head.
pub fn gpt2_124m(dtype: GgmlDType) -> Result<Vec<u8>> {
    let (vocab, n, layers, heads, context) = (50_257, 768, 12, 12, 1024);
    let mut b = Builder::new(124, dtype);
    b.add("token_embd.weight".into(), &[vocab, n], Fill::Weight)?;
    b.add("position_embd.weight".into(), &[context, n], Fill::Exact)?;
    for i in 0..layers {
        let p = format!("blk.{i}");
        for (part, out, inp) in [
            ("attn_qkv", 3 * n, n),
            ("attn_output", n, n),
            ("ffn_up", 4 * n, n),
            ("ffn_down", n, 4 * n),
        ] {
            b.add(format!("{p}.{part}.weight"), &[out, inp], Fill::Weight)?;
            b.add(format!("{p}.{part}.bias"), &[out], Fill::Zeros)?;
        }
        for norm in ["attn_norm", "ffn_norm"] {
            b.add(format!("{p}.{norm}.weight"), &[n], Fill::Ones)?;
            b.add(format!("{p}.{norm}.bias"), &[n], Fill::Zeros)?;
        }
    }
    b.add("output_norm.weight".into(), &[n], Fill::Ones)?;
    b.add("output_norm.bias".into(), &[n], Fill::Zeros)?;
    use gguf_file::Value as V;
    let u = |v: usize| V::U32(v as u32);
    b.gguf(&[
        ("general.architecture", V::String("gpt2".into())),
        ("general.name", V::String("gpt2-124M-random".into())),
        ("gpt2.context_length", u(context)),
        ("gpt2.embedding_length", u(n)),
        ("gpt2.block_count", u(layers)),
        ("gpt2.feed_forward_length", u(4 * n)),
        ("gpt2.attention.head_count", u(heads)),
        ("gpt2.attention.layer_norm_epsilon", V::F32(1e-5)),
        ("tokenizer.ggml.bos_token_id", u(50_256)),
        ("tokenizer.ggml.eos_token_id", u(50_256)),
    ])
}

/// t5-small's config.json (the fields the loader reads).
pub const T5_SMALL_CONFIG: &str = r#"{
  "architectures": ["T5ForConditionalGeneration"],
  "model_type": "t5",
  "vocab_size": 32128,
  "d_model": 512,
  "d_kv": 64,
  "d_ff": 2048,
  "num_layers": 6,
  "num_decoder_layers": 6,
  "num_heads": 8,
  "relative_attention_num_buckets": 32,
  "relative_attention_max_distance": 128,
  "layer_norm_epsilon": 1e-6,
  "feed_forward_proj": "relu",
  "tie_word_embeddings": true,
  "pad_token_id": 0,
  "eos_token_id": 1,
  "decoder_start_token_id": 0
}
"#;

/// t5-small (60M): Hugging Face's names (the layout of
/// `lmz/candle-quantized-t5`), tied head; goes with [`T5_SMALL_CONFIG`].
pub fn t5_small(dtype: GgmlDType) -> Result<Vec<u8>> {
    let (vocab, d, ff, layers, heads, buckets) = (32_128, 512, 2048, 6, 8, 32);
    let mut b = Builder::new(512, dtype);
    b.add("shared.weight".into(), &[vocab, d], Fill::Weight)?;
    for stack in ["encoder", "decoder"] {
        let decoder = stack == "decoder";
        for i in 0..layers {
            let p = format!("{stack}.block.{i}.layer");
            let mut attentions = vec![format!("{p}.0.SelfAttention")];
            if decoder {
                attentions.push(format!("{p}.1.EncDecAttention"));
            }
            for (j, a) in attentions.iter().enumerate() {
                for w in ["q", "k", "v", "o"] {
                    b.add(format!("{a}.{w}.weight"), &[d, d], Fill::Weight)?;
                }
                b.add(format!("{p}.{j}.layer_norm.weight"), &[d], Fill::Ones)?;
            }
            let f = attentions.len();
            b.add(
                format!("{p}.{f}.DenseReluDense.wi.weight"),
                &[ff, d],
                Fill::Weight,
            )?;
            b.add(
                format!("{p}.{f}.DenseReluDense.wo.weight"),
                &[d, ff],
                Fill::Weight,
            )?;
            b.add(format!("{p}.{f}.layer_norm.weight"), &[d], Fill::Ones)?;
        }
        b.add(
            format!("{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"),
            &[buckets, heads],
            Fill::Exact,
        )?;
        b.add(format!("{stack}.final_layer_norm.weight"), &[d], Fill::Ones)?;
    }
    use gguf_file::Value as V;
    b.gguf(&[
        ("general.architecture", V::String("t5".into())),
        ("general.name", V::String("t5-small-random".into())),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normal_source_has_the_asked_spread() {
        let v = Normal(7).values(20_000, 0.02);
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / v.len() as f32;
        assert!(mean.abs() < 0.001, "mean {mean}");
        assert!((var.sqrt() - 0.02).abs() < 0.001, "std {}", var.sqrt());
    }
}
