//! Writes a trained model in the files users load: `model.gguf` (tensor
//! names and metadata the worker's loader reads) and Hugging Face's
//! `config.json`, plus the trainer's own checkpoint for a later stage.
//!
//! GPT-2 goes out in llama.cpp's layout (`token_embd`, `blk.N.attn_qkv`,
//! `[out, in]` weights, config also in `gpt2.*` metadata): the worker keeps
//! those quantized, while Hugging Face's `[in, out]` Conv1D weights would have
//! to be dequantized to f32 at load. T5 uses Hugging Face's names, the
//! layout of `lmz/candle-quantized-t5`.

use std::io::Cursor;
use std::path::Path;

use anyhow::{bail, Context, Result};
use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::Tensor;
use candle_nn::VarMap;
use protocol::Arch;
use serde::{Deserialize, Serialize};
use worker::weights::quantize_weight;

use crate::init::sorted_vars;
use crate::model::ModelConfig;
use crate::vocab::CompactVocab;

/// What the trainer needs to continue from a checkpoint.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainerState {
    pub model: ModelConfig,
    pub vocab: CompactVocab,
}

pub const GGUF: &str = "model.gguf";
pub const CONFIG: &str = "config.json";
pub const CHECKPOINT: &str = "checkpoint.safetensors";
pub const STATE: &str = "trainer.json";

/// The exported tensors' name in the file and full-vocabulary value.
fn full_tensors(
    varmap: &VarMap,
    config: &ModelConfig,
    vocab: &CompactVocab,
) -> Result<Vec<(String, Tensor)>> {
    let mut out = Vec::new();
    for (name, var) in sorted_vars(varmap)? {
        let t = var.as_tensor().detach();
        let (file_name, t) = match config {
            ModelConfig::Gpt2(_) if name == "wte.weight" => {
                ("token_embd.weight".to_string(), vocab.scatter(&t)?)
            }
            ModelConfig::Gpt2(_) => (gpt2_file_name(&name)?, t),
            ModelConfig::T5(_) if name == "shared.weight" => (name, vocab.scatter(&t)?),
            ModelConfig::T5(_) => (name, t),
        };
        out.push((file_name, t));
    }
    Ok(out)
}

/// llama.cpp's name for one of our (Hugging Face style) GPT-2 variable names.
fn gpt2_file_name(name: &str) -> Result<String> {
    if name == "wpe.weight" {
        return Ok("position_embd.weight".into());
    }
    if let Some(rest) = name.strip_prefix("ln_f.") {
        return Ok(format!("output_norm.{rest}"));
    }
    let Some(rest) = name.strip_prefix("h.") else {
        bail!("no GGUF name for GPT-2 variable {name}")
    };
    let (layer, rest) = rest
        .split_once('.')
        .context("a block variable without a layer")?;
    let (part, suffix) = rest
        .rsplit_once('.')
        .context("a block variable without weight/bias")?;
    let part = match part {
        "ln_1" => "attn_norm",
        "attn.c_attn" => "attn_qkv",
        "attn.c_proj" => "attn_output",
        "ln_2" => "ffn_norm",
        "mlp.c_fc" => "ffn_up",
        "mlp.c_proj" => "ffn_down",
        other => bail!("no GGUF name for GPT-2 block part {other}"),
    };
    Ok(format!("blk.{layer}.{part}.{suffix}"))
}

fn metadata(config: &ModelConfig) -> Vec<(String, gguf_file::Value)> {
    use gguf_file::Value as V;
    let mut m = vec![("general.name".to_string(), V::String("pretrain-lab".into()))];
    match config {
        ModelConfig::Gpt2(c) => {
            let u = |v: usize| V::U32(v as u32);
            m.extend([
                (
                    "general.architecture".into(),
                    V::String(Arch::Gpt2.as_str().into()),
                ),
                ("gpt2.context_length".into(), u(c.n_positions)),
                ("gpt2.embedding_length".into(), u(c.n_embd)),
                ("gpt2.block_count".into(), u(c.n_layer)),
                ("gpt2.feed_forward_length".into(), u(4 * c.n_embd)),
                ("gpt2.attention.head_count".into(), u(c.n_head)),
                (
                    "gpt2.attention.layer_norm_epsilon".into(),
                    V::F32(c.layer_norm_epsilon as f32),
                ),
                (
                    "tokenizer.ggml.bos_token_id".into(),
                    V::U32(crate::gpt2::EOS),
                ),
                (
                    "tokenizer.ggml.eos_token_id".into(),
                    V::U32(crate::gpt2::EOS),
                ),
            ]);
        }
        ModelConfig::T5(_) => {
            m.push((
                "general.architecture".into(),
                V::String(Arch::T5.as_str().into()),
            ));
        }
    }
    m
}

/// The GGUF bytes: 2-D weights in `dtype` where their rows allow it, norms,
/// biases, position tables and small tables in f32.
pub fn gguf_bytes(
    varmap: &VarMap,
    config: &ModelConfig,
    vocab: &CompactVocab,
    dtype: GgmlDType,
) -> Result<Vec<u8>> {
    let mut tensors: Vec<(String, QTensor)> = Vec::new();
    for (name, t) in full_tensors(varmap, config, vocab)? {
        let keep_f32 = name == "position_embd.weight" || dtype == GgmlDType::F32;
        let q = if keep_f32 {
            QTensor::quantize(&t, GgmlDType::F32)?
        } else {
            quantize_weight(&t, Some(dtype))?
        };
        tensors.push((name, q));
    }
    let meta = metadata(config);
    let meta_refs: Vec<(&str, &gguf_file::Value)> =
        meta.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let tensor_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut out = Cursor::new(Vec::new());
    gguf_file::write(&mut out, &meta_refs, &tensor_refs)?;
    Ok(out.into_inner())
}

/// Writes `model.gguf`, `config.json`, the checkpoint and the trainer state
/// into `dir`; returns the GGUF's size in bytes.
pub fn export(
    dir: &Path,
    varmap: &VarMap,
    config: &ModelConfig,
    vocab: &CompactVocab,
    dtype: GgmlDType,
) -> Result<u64> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let gguf = gguf_bytes(varmap, config, vocab, dtype)?;
    std::fs::write(dir.join(GGUF), &gguf)?;
    std::fs::write(
        dir.join(CONFIG),
        serde_json::to_string_pretty(&config.hf_json())? + "\n",
    )?;
    varmap.save(dir.join(CHECKPOINT))?;
    let state = TrainerState {
        model: config.clone(),
        vocab: vocab.clone(),
    };
    std::fs::write(dir.join(STATE), serde_json::to_string(&state)? + "\n")?;
    Ok(gguf.len() as u64)
}

/// Reads a trainer state and checkpoint written by [`export`].
pub fn read_state(dir: &Path) -> Result<TrainerState> {
    let path = dir.join(STATE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}: not a trainer output?", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpt2_names_are_llama_cpp_names() {
        assert_eq!(
            gpt2_file_name("h.3.attn.c_attn.weight").unwrap(),
            "blk.3.attn_qkv.weight"
        );
        assert_eq!(
            gpt2_file_name("h.0.mlp.c_proj.bias").unwrap(),
            "blk.0.ffn_down.bias"
        );
        assert_eq!(gpt2_file_name("ln_f.weight").unwrap(), "output_norm.weight");
        assert!(gpt2_file_name("h.0.mystery.weight").is_err());
    }
}
