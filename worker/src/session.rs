//! A loaded model ready to generate: the model, its tokenizer, and the
//! per-generation state. The Web Worker and the `lab` CLI both use this.

use candle_core::quantized::GgmlDType;
use candle_core::{Device, Result, Tensor};
use protocol::{Arch, LabelProbability, ModelInfo};
use tokenizers::Tokenizer;

use crate::capture::Capture;
use crate::generation::LanguageModel;
use crate::gpt2::{self, Gpt2, KvCache};
use crate::memory;
use crate::nn::last_logits;

use crate::t5::{self, DecoderCache, Encoded, T5};
use crate::weights::TensorStore;

pub fn tokenizer_from_bytes(bytes: &[u8]) -> Result<Tokenizer> {
    crate::tokenizer_check::check(bytes)?;
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
    T5(T5),
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
        Self::new(model, info, tokenizer)
    }

    /// Pairs a loaded model with its tokenizer, refusing one that does not fit.
    pub fn new(model: Model, info: ModelInfo, tokenizer: Tokenizer) -> Result<Self> {
        let largest_id = tokenizer.get_vocab(true).into_values().max().unwrap_or(0) as usize;
        if largest_id >= info.vocab_size {
            candle_core::bail!(
                "the tokenizer has token ids up to {largest_id} but the model only {}: they do not belong together",
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

    /// How likely each label is as the model's answer: T5's own text-label
    /// answer to a classification prefix ("sst2 sentence: …"), or GPT-2's
    /// next words after a prompt format. A label is scored over all its
    /// tokens (teacher-forced, as the models were trained), so a label that
    /// is several tokens ("entailment" is ▁ en tail ment for T5) is not
    /// confused with every other answer that starts like it.
    pub fn label_probabilities(
        &self,
        prompt: &str,
        labels: &[String],
    ) -> Result<Vec<LabelProbability>> {
        if labels.is_empty() {
            candle_core::bail!("this task has no label words")
        }
        let mut label_ids: Vec<Vec<u32>> = Vec::with_capacity(labels.len());
        for label in labels {
            let enc = self
                .tokenizer
                .encode(label.as_str(), false)
                .map_err(candle_core::Error::msg)?;
            let ids = enc.get_ids().to_vec();
            if ids.is_empty() {
                candle_core::bail!("the label {label:?} has no tokens")
            }
            if let Some(i) = label_ids.iter().position(|other| *other == ids) {
                candle_core::bail!(
                    "the labels {:?} and {label:?} are the same tokens, so no answer can tell them apart",
                    labels[i]
                )
            }
            label_ids.push(ids);
        }
        let prompt_ids = self.encode(prompt)?;
        if prompt_ids.is_empty() {
            candle_core::bail!("the prompt is empty: type something first")
        }
        let first = log_softmax(&self.runner().prefill(&prompt_ids)?);
        let mut log_probs = Vec::with_capacity(labels.len());
        for ids in &label_ids {
            let mut log_prob = first[ids[0] as usize];
            if ids.len() > 1 {
                // The label's later tokens, each given the ones before it.
                let mut runner = self.runner();
                runner.prefill(&prompt_ids)?;
                for pair in ids.windows(2) {
                    log_prob += log_softmax(&runner.step(pair[0])?)[pair[1] as usize];
                }
            }
            log_probs.push(log_prob);
        }
        // Shares among the labels, computed in log space: long labels can
        // have probabilities too small for f32.
        let max = log_probs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let total: f32 = log_probs.iter().map(|lp| (lp - max).exp()).sum();
        Ok(labels
            .iter()
            .zip(label_ids)
            .zip(log_probs)
            .map(|((label, token_ids), log_prob)| LabelProbability {
                label: label.clone(),
                token_ids,
                prob: log_prob.exp(),
                share: (log_prob - max).exp() / total,
            })
            .collect())
    }

    /// Runs a short prompt and two steps and throws them away. A browser
    /// compiles wasm in a quick baseline tier first and optimizes the
    /// functions that run; without this, the user's first run after a load
    /// pays that (measured: the lab GPT-2's first token 175 ms cold, 22 ms
    /// warm).
    pub fn warm_up(&self) -> Result<()> {
        // The tokenizer too: its first encode builds what it caches.
        let ids = self.encode("Warm up: the first run, like any other.")?;
        let mut runner = self.runner();
        runner.prefill(&ids)?;
        for &id in ids.iter().take(4) {
            runner.step(id)?;
        }
        let _ = self.tokenizer.decode(&ids, true);
        Ok(())
    }

    /// A fresh generation state for one prompt.
    pub fn runner(&self) -> Runner<'_> {
        match &self.model {
            Model::Gpt2(m) => Runner::Gpt2 {
                model: m,
                cache: m.new_cache(),
            },
            Model::T5(m) => Runner::T5 {
                model: m,
                encoded: None,
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
    let started = web_time::Instant::now();
    let heap_before = memory::live_bytes();
    let store = TensorStore::from_bytes(weights, quantize_to)?;
    let (_, tensor_types) = store.summary();
    let arch = detect_arch(&store, config_json)?;
    let (model, mut info) = match arch {
        Arch::Gpt2 => {
            let m = gpt2::load(store, config_json)?;
            let info = ModelInfo {
                name: name.to_string(),
                arch,
                parameters: m.parameters,
                embedding_parameters: ((m.config.vocab_size + m.config.n_positions)
                    * m.config.n_embd) as u64,
                layers: m.config.n_layer,
                encoder_layers: 0,
                hidden_size: m.config.n_embd,
                vocab_size: m.config.vocab_size,
                context_length: m.config.n_positions,
                tensor_types,
                memory_bytes: 0,
                build_ms: 0.0,
            };
            (Model::Gpt2(m), info)
        }
        Arch::T5 => {
            let m = t5::load(store, config_json)?;
            let info = ModelInfo {
                name: name.to_string(),
                arch,
                parameters: m.parameters,
                // T5 has no position table: its relative position biases
                // are a few hundred numbers inside the attention layers.
                embedding_parameters: (m.config.vocab_size * m.config.d_model) as u64,
                layers: m.config.num_layers + m.config.decoder_layers(),
                encoder_layers: m.config.num_layers,
                hidden_size: m.config.d_model,
                vocab_size: m.config.vocab_size,
                context_length: t5::MAX_LENGTH,
                tensor_types,
                memory_bytes: 0,
                build_ms: 0.0,
            };
            (Model::T5(m), info)
        }
    };
    // The store is gone by now (what the model did not take is freed):
    // what is still allocated since `heap_before` is the model's.
    info.memory_bytes = memory::live_bytes().saturating_sub(heap_before);
    info.build_ms = started.elapsed().as_secs_f64() * 1e3;
    Ok((model, info))
}

/// The architecture a model's files hold: GGUF metadata, else `model_type`
/// in config.json, else the tensor names. The one place that decides it; a
/// family the lab does not run is an error that names it.
pub fn detect_arch(store: &TensorStore, config_json: Option<&str>) -> Result<Arch> {
    let named = match store.metadata_str("general.architecture") {
        Some(arch) => Some(arch.to_string()),
        None => config_model_type(config_json)?,
    };
    if let Some(name) = named {
        return name.parse().map_err(candle_core::Error::msg);
    }
    if store.contains("wte.weight") || store.contains("transformer.wte.weight") {
        return Ok(Arch::Gpt2);
    }
    if store.contains("encoder.block.0.layer.0.SelfAttention.q.weight") {
        return Ok(Arch::T5);
    }
    candle_core::bail!(
        "cannot tell which model this file holds (no architecture in it or in config.json)"
    )
}

/// `model_type` of a config.json, if it names one.
pub fn config_model_type(config_json: Option<&str>) -> Result<Option<String>> {
    let Some(json) = config_json else {
        return Ok(None);
    };
    let v: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| candle_core::Error::msg(format!("config.json is not JSON: {e}")))?;
    Ok(v.get("model_type")
        .and_then(|t| t.as_str())
        .map(str::to_string))
}

/// A model plus the cache of one generation.
pub enum Runner<'a> {
    Gpt2 {
        model: &'a Gpt2,
        cache: KvCache,
    },
    /// The prompt goes through the encoder once; the decoder starts from
    /// `decoder_start_token_id` and takes the generated tokens.
    T5 {
        model: &'a T5,
        encoded: Option<Encoded>,
        cache: DecoderCache,
    },
}

impl LanguageModel for Runner<'_> {
    fn prefill(&mut self, prompt: &[u32]) -> Result<Vec<f32>> {
        match self {
            Runner::Gpt2 { model, cache } => {
                *cache = model.new_cache();
                gpt2_next(model, cache, prompt)
            }
            Runner::T5 {
                model,
                encoded,
                cache,
            } => {
                let input = Tensor::new(prompt, &Device::Cpu)?.unsqueeze(0)?;
                let enc = encoded.insert(model.encode(&input, None, Capture::default())?);
                *cache = model.new_cache();
                t5_next(model, enc, cache, model.config.decoder_start())
            }
        }
    }

    fn step(&mut self, token: u32) -> Result<Vec<f32>> {
        match self {
            Runner::Gpt2 { model, cache } => gpt2_next(model, cache, &[token]),
            Runner::T5 {
                model,
                encoded,
                cache,
            } => match encoded {
                Some(enc) => t5_next(model, enc, cache, token),
                None => candle_core::bail!("T5 decoding needs the prompt encoded first"),
            },
        }
    }

    fn eos_token_id(&self) -> Option<u32> {
        match self {
            Runner::Gpt2 { model, .. } => model.config.eos_token_id,
            Runner::T5 { model, .. } => Some(model.config.eos_token_id),
        }
    }

    fn room_after(&self, used: usize) -> Option<usize> {
        match self {
            Runner::Gpt2 { model, .. } => Some(model.config.n_positions.saturating_sub(used)),
            // Relative positions: no hard limit, only time and memory.
            Runner::T5 { cache, .. } => Some(t5::MAX_LENGTH.saturating_sub(cache.len() + 1)),
        }
    }

    fn is_encoder_decoder(&self) -> bool {
        matches!(self, Runner::T5 { .. })
    }
}

fn gpt2_next(model: &Gpt2, cache: &mut KvCache, ids: &[u32]) -> Result<Vec<f32>> {
    let input = Tensor::new(ids, &Device::Cpu)?.unsqueeze(0)?;
    let capture = Capture {
        last_logits_only: true,
        ..Default::default()
    };
    let out = model.forward(&input, None, cache, capture)?;
    last_logits(&out.logits, 0)
}

fn t5_next(
    model: &T5,
    encoded: &Encoded,
    cache: &mut DecoderCache,
    token: u32,
) -> Result<Vec<f32>> {
    let input = Tensor::new(&[token], &Device::Cpu)?.unsqueeze(0)?;
    let capture = Capture {
        last_logits_only: true,
        ..Default::default()
    };
    let out = model.decode(&input, encoded, cache, capture)?;
    last_logits(&out.logits, 0)
}

/// Log-probabilities of the next token.
fn log_softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let log_sum = logits.iter().map(|l| (l - max).exp()).sum::<f32>().ln();
    logits.iter().map(|l| l - max - log_sum).collect()
}
