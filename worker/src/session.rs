//! A loaded model ready to generate: the model, its tokenizer, and the
//! per-generation state. The Web Worker and the `lab` CLI both use this.

use candle_core::quantized::GgmlDType;
use candle_core::{Device, Result, Tensor};
use protocol::ModelInfo;
use tokenizers::Tokenizer;

use crate::generation::LanguageModel;
use crate::gpt2::{self, Capture, Gpt2, KvCache};
use crate::weights::TensorStore;

pub fn tokenizer_from_bytes(bytes: &[u8]) -> Result<Tokenizer> {
    Tokenizer::from_bytes(bytes).map_err(|e| {
        candle_core::Error::msg(format!("the tokenizer file is not a tokenizer.json: {e}"))
    })
}

/// The files of a model, already in memory.
pub struct ModelFiles<'a> {
    pub name: &'a str,
    pub weights: &'a [u8],
    pub config_json: Option<&'a str>,
    pub tokenizer_json: &'a [u8],
    /// Type to convert the weights to at load (`None` keeps the file's types).
    pub quantize_to: Option<GgmlDType>,
}

pub enum Model {
    Gpt2(Gpt2),
}

pub struct Session {
    pub model: Model,
    pub tokenizer: Tokenizer,
    pub info: ModelInfo,
}

impl Session {
    pub fn load(files: ModelFiles) -> Result<Self> {
        let tokenizer = tokenizer_from_bytes(files.tokenizer_json)?;
        let (model, info) = load_model(
            files.name,
            files.weights,
            files.config_json,
            files.quantize_to,
        )?;
        let vocab = tokenizer.get_vocab_size(true);
        if vocab > info.vocab_size {
            candle_core::bail!(
                "the tokenizer has {vocab} tokens but the model only {}: they do not belong together",
                info.vocab_size
            )
        }
        Ok(Self {
            model,
            tokenizer,
            info,
        })
    }

    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(candle_core::Error::msg)?;
        Ok(enc.get_ids().to_vec())
    }

    /// A fresh generation state for one prompt.
    pub fn runner(&self) -> Runner<'_> {
        match &self.model {
            Model::Gpt2(m) => Runner::Gpt2 {
                model: m,
                cache: m.new_cache(),
            },
        }
    }
}

/// Loads the model a file holds, whatever its architecture.
pub fn load_model(
    name: &str,
    weights: &[u8],
    config_json: Option<&str>,
    quantize_to: Option<GgmlDType>,
) -> Result<(Model, ModelInfo)> {
    let store = TensorStore::from_bytes(weights, quantize_to)?;
    let (_, tensor_types) = store.summary();
    let arch = architecture(&store, config_json)?;
    match arch.as_str() {
        "gpt2" => {
            let m = gpt2::load(store, config_json)?;
            let info = ModelInfo {
                name: name.to_string(),
                arch,
                parameters: m.parameters,
                layers: m.config.n_layer,
                hidden_size: m.config.n_embd,
                vocab_size: m.config.vocab_size,
                context_length: m.config.n_positions,
                tensor_types,
            };
            Ok((Model::Gpt2(m), info))
        }
        other => candle_core::bail!("models of architecture {other} are not supported yet"),
    }
}

/// The architecture a file holds: GGUF metadata, else `model_type` in config.json.
fn architecture(store: &TensorStore, config_json: Option<&str>) -> Result<String> {
    if let Some(arch) = store.metadata_str("general.architecture") {
        return Ok(arch.to_string());
    }
    if let Some(json) = config_json {
        let v: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| candle_core::Error::msg(format!("config.json is not JSON: {e}")))?;
        if let Some(t) = v.get("model_type").and_then(|t| t.as_str()) {
            return Ok(t.to_string());
        }
    }
    if store.contains("wte.weight") || store.contains("transformer.wte.weight") {
        return Ok("gpt2".into());
    }
    candle_core::bail!(
        "cannot tell which model this file holds (no architecture in it or in config.json)"
    )
}

/// A model plus the cache of one generation.
pub enum Runner<'a> {
    Gpt2 { model: &'a Gpt2, cache: KvCache },
}

impl LanguageModel for Runner<'_> {
    fn prefill(&mut self, prompt: &[u32]) -> Result<Vec<f32>> {
        match self {
            Runner::Gpt2 { model, cache } => {
                *cache = model.new_cache();
                gpt2_next(model, cache, prompt)
            }
        }
    }

    fn step(&mut self, token: u32) -> Result<Vec<f32>> {
        match self {
            Runner::Gpt2 { model, cache } => gpt2_next(model, cache, &[token]),
        }
    }

    fn eos_token_id(&self) -> Option<u32> {
        match self {
            Runner::Gpt2 { model, .. } => model.config.eos_token_id,
        }
    }

    fn room_after(&self, used: usize) -> Option<usize> {
        match self {
            Runner::Gpt2 { model, .. } => Some(model.config.n_positions.saturating_sub(used)),
        }
    }
}

fn gpt2_next(model: &Gpt2, cache: &mut KvCache, ids: &[u32]) -> Result<Vec<f32>> {
    let input = Tensor::new(ids, &Device::Cpu)?.unsqueeze(0)?;
    let capture = Capture {
        last_logits_only: true,
        ..Default::default()
    };
    let out = model.forward(&input, None, cache, capture)?;
    gpt2::last_logits(&out.logits, 0)
}
