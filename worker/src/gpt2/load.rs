//! Builds a [`Gpt2`] from the tensor layouts GPT-2 files come in:
//! llama.cpp's GGUF names (`blk.N.attn_qkv`, config in the metadata) and
//! Hugging Face's names (`h.N.attn.c_attn`, with or without `transformer.`,
//! config from `config.json`), whose Conv1D weights are stored `[in, out]`.

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{bail, Device, Result, Tensor};

use super::config::Config;
use super::model::{Attention, Block, Gpt2, Mlp};
use crate::nn::{LayerNorm, Linear, TokenTable};
use crate::weights::{quantize_weight, TensorStore};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    LlamaCpp,
    HuggingFace { prefixed: bool },
}

impl Layout {
    pub fn detect(store: &TensorStore) -> Result<Self> {
        if store.contains("token_embd.weight") {
            Ok(Self::LlamaCpp)
        } else if store.contains("transformer.wte.weight") {
            Ok(Self::HuggingFace { prefixed: true })
        } else if store.contains("wte.weight") {
            Ok(Self::HuggingFace { prefixed: false })
        } else {
            bail!("this file holds no GPT-2 model (no token_embd.weight or wte.weight tensor)")
        }
    }

    /// The file's name for a tensor, given llama.cpp's name for it.
    fn name(self, llama: &str) -> String {
        let Self::HuggingFace { prefixed } = self else {
            return llama.to_string();
        };
        let hf = if let Some(rest) = llama.strip_prefix("blk.") {
            let (layer, rest) = rest.split_once('.').unwrap_or((rest, ""));
            let (part, suffix) = rest.split_once('.').unwrap_or((rest, ""));
            let part = match part {
                "attn_norm" => "ln_1",
                "attn_qkv" => "attn.c_attn",
                "attn_output" => "attn.c_proj",
                "ffn_norm" => "ln_2",
                "ffn_up" => "mlp.c_fc",
                "ffn_down" => "mlp.c_proj",
                other => other,
            };
            format!("h.{layer}.{part}.{suffix}")
        } else {
            let (part, suffix) = llama.split_once('.').unwrap_or((llama, ""));
            let part = match part {
                "token_embd" => "wte",
                "position_embd" => "wpe",
                "output_norm" => "ln_f",
                other => other,
            };
            format!("{part}.{suffix}")
        };
        if prefixed {
            format!("transformer.{hf}")
        } else {
            hf
        }
    }
}

struct Loader {
    store: TensorStore,
    layout: Layout,
}

impl Loader {
    fn take(&mut self, llama_name: &str, dims: &[usize]) -> Result<QTensor> {
        self.store.take_shaped(&self.layout.name(llama_name), dims)
    }

    fn f32(&mut self, llama_name: &str, dims: &[usize]) -> Result<Tensor> {
        self.store.take_f32(&self.layout.name(llama_name), dims)
    }

    /// A weight as `[out, in]`; Hugging Face's Conv1D stores it `[in, out]`.
    /// Transposing a quantized tensor would mean quantizing it a second time,
    /// so those weights are kept as exact f32 (plain types keep their type).
    fn linear(&mut self, prefix: &str, out_dim: usize, in_dim: usize) -> Result<Linear> {
        let weight = match self.layout {
            Layout::LlamaCpp => self.take(&format!("{prefix}.weight"), &[out_dim, in_dim])?,
            Layout::HuggingFace { .. } => {
                let w = self.take(&format!("{prefix}.weight"), &[in_dim, out_dim])?;
                let plain = matches!(w.dtype(), GgmlDType::F32 | GgmlDType::F16);
                let dtype = if plain { w.dtype() } else { GgmlDType::F32 };
                let t = w.dequantize(&Device::Cpu)?.t()?.contiguous()?;
                quantize_weight(&t, Some(dtype))?
            }
        };
        let bias = self.f32(&format!("{prefix}.bias"), &[out_dim])?;
        Linear::new(weight, Some(bias))
    }

    fn layer_norm(&mut self, prefix: &str, dim: usize, eps: f64) -> Result<LayerNorm> {
        let w = self.f32(&format!("{prefix}.weight"), &[dim])?;
        let b = self.f32(&format!("{prefix}.bias"), &[dim])?;
        Ok(LayerNorm::new(w, b, eps))
    }
}

/// Loads GPT-2 from a tensor store. `config_json` is required for files with
/// Hugging Face names (they carry no config) and overrides GGUF metadata.
pub fn load(store: TensorStore, config_json: Option<&str>) -> Result<Gpt2> {
    let layout = Layout::detect(&store)?;
    let config = match (config_json, layout) {
        (Some(json), _) => Config::from_json(json)?,
        (None, Layout::LlamaCpp) => Config::from_gguf(&store)?,
        (None, Layout::HuggingFace { .. }) => {
            bail!("this file uses Hugging Face tensor names and needs its config.json")
        }
    };
    let mut l = Loader { store, layout };
    let (n, eps) = (config.n_embd, config.layer_norm_epsilon);
    let wte = TokenTable::new(l.take("token_embd.weight", &[config.vocab_size, n])?)?;
    let wpe = l.f32("position_embd.weight", &[config.n_positions, n])?;
    let mut blocks = Vec::new();
    for i in 0..config.n_layer {
        let p = format!("blk.{i}");
        let ln_1 = l.layer_norm(&format!("{p}.attn_norm"), n, eps)?;
        let c_attn = l.linear(&format!("{p}.attn_qkv"), 3 * n, n)?;
        let c_proj = l.linear(&format!("{p}.attn_output"), n, n)?;
        let ln_2 = l.layer_norm(&format!("{p}.ffn_norm"), n, eps)?;
        let c_fc = l.linear(&format!("{p}.ffn_up"), config.inner_size(), n)?;
        let mlp_proj = l.linear(&format!("{p}.ffn_down"), n, config.inner_size())?;
        blocks.push(Block::new(
            ln_1,
            Attention::new(c_attn, c_proj, &config),
            ln_2,
            Mlp::new(c_fc, mlp_proj, config.activation()?),
        ));
    }
    let ln_f = l.layer_norm("output_norm", n, eps)?;
    // Some llama.cpp conversions carry an untied copy of the embedding.
    let untied = match layout {
        Layout::LlamaCpp => "output.weight",
        Layout::HuggingFace { .. } => "lm_head.weight",
    };
    let lm_head = if l.store.contains(untied) {
        Linear::new(l.store.take_shaped(untied, &[config.vocab_size, n])?, None)?
    } else {
        wte.tied_head()?
    };
    Ok(Gpt2::new(
        wte,
        wpe,
        blocks,
        ln_f,
        lm_head,
        config,
        l.store.taken_parameters,
    ))
}
