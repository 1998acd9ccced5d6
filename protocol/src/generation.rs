//! What a generation is asked for and what it gives back: the sampling
//! settings (clamped in one place), each token with its alternatives, label
//! probabilities, why a run stopped and how fast it went.

use serde::{Deserialize, Serialize};

/// Sampling settings. `temperature == 0` means greedy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenerationSettings {
    pub max_new_tokens: usize,
    pub temperature: f64,
    /// Keep only the `k` most likely tokens (0 = off).
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probability reaches `p` (1.0 = off).
    pub top_p: f64,
    /// Divides the logits of tokens already seen (1.0 = off).
    pub repeat_penalty: f32,
    pub seed: u64,
    /// Generation ends when the text produced contains one of these.
    pub stop: Vec<String>,
    /// How many alternatives to report with each token.
    pub top_alternatives: usize,
}

/// Alternatives reported per token: enough for a chart, cheap to send.
pub const MAX_ALTERNATIVES: usize = 20;

impl GenerationSettings {
    /// The settings with every value in its meaningful range: the one place
    /// the page's inputs, a shared link and the worker clamp them. A
    /// temperature too small for f32 is greedy; NaN or a negative value
    /// means "off".
    pub fn clamped(mut self) -> Self {
        self.max_new_tokens = self.max_new_tokens.max(1);
        if !(self.temperature.is_finite() && self.temperature >= 1e-4) {
            self.temperature = 0.0;
        }
        if !(self.top_p.is_finite() && self.top_p > 0.0) {
            self.top_p = 1.0;
        }
        self.top_p = self.top_p.min(1.0);
        if !(self.repeat_penalty.is_finite() && self.repeat_penalty > 0.0) {
            self.repeat_penalty = 1.0;
        }
        self.top_alternatives = self.top_alternatives.min(MAX_ALTERNATIVES);
        self
    }
}

impl Default for GenerationSettings {
    fn default() -> Self {
        Self {
            max_new_tokens: 32,
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            repeat_penalty: 1.0,
            seed: 42,
            stop: Vec::new(),
            top_alternatives: 5,
        }
    }
}

/// One generated token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenStep {
    pub id: u32,
    pub text: String,
    /// Probability of this token under the model (after temperature).
    pub prob: f32,
    /// The most likely tokens at this step, most likely first.
    pub top: Vec<Alternative>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alternative {
    pub id: u32,
    pub text: String,
    pub prob: f32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelProbability {
    pub label: String,
    /// The label's tokens, as the model answers them after the prompt.
    pub token_ids: Vec<u32>,
    /// Probability of the whole label as the answer (all its tokens).
    pub prob: f32,
    /// Share among the labels only (they sum to 1).
    pub share: f32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopReason {
    EndOfText,
    MaxTokens,
    StopString,
    ContextFull,
    Cancelled,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GenerationStats {
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub prefill_ms: f64,
    pub prefill_tok_s: f64,
    pub decode_tok_s: f64,
    /// Threads the run used, and the matmuls it split between them.
    #[serde(default)]
    pub threads: u32,
    #[serde(default)]
    pub shared_matmuls: u64,
}
