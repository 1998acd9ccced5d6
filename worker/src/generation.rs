//! Token-by-token generation shared by every model: sampling, stop rules,
//! streaming text, and speed figures. The caller drives it one token at a
//! time, so the worker can yield (and hear Cancel) between tokens.

use candle_core::Result;
use protocol::{Alternative, GenerationSettings, GenerationStats, StopReason, TokenStep};
use tokenizers::Tokenizer;
use web_time::Instant;

/// A model that continues a token sequence: `prefill` takes the prompt,
/// `step` one more token; both return the next-token logits.
pub trait LanguageModel {
    fn prefill(&mut self, prompt: &[u32]) -> Result<Vec<f32>>;
    fn step(&mut self, token: u32) -> Result<Vec<f32>>;
    fn eos_token_id(&self) -> Option<u32>;
    /// How many more tokens fit after `used` tokens (None = no limit).
    fn room_after(&self, used: usize) -> Option<usize>;
    /// Encoder-decoder models read the prompt and write separate output.
    fn is_encoder_decoder(&self) -> bool {
        false
    }
}

/// SplitMix64: tiny, seedable, and the same on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

pub struct Sampler {
    settings: GenerationSettings,
    rng: Rng,
}

/// The token chosen and what the distribution looked like.
pub struct Choice {
    pub id: u32,
    pub prob: f32,
    pub top: Vec<(u32, f32)>,
}

impl Sampler {
    pub fn new(settings: GenerationSettings) -> Self {
        let rng = Rng::new(settings.seed);
        Self {
            settings: sanitize(settings),
            rng,
        }
    }

    /// Picks the next token. `seen` are the tokens the repetition penalty
    /// applies to (prompt and output, as in Hugging Face).
    pub fn choose(&mut self, logits: &[f32], seen: &[u32]) -> Choice {
        let mut logits = logits.to_vec();
        let penalty = self.settings.repeat_penalty;
        if penalty != 1.0 && penalty > 0.0 {
            let mut done = vec![false; logits.len()];
            for &id in seen {
                let i = id as usize;
                if i < logits.len() && !done[i] {
                    done[i] = true;
                    let l = logits[i];
                    logits[i] = if l < 0.0 { l * penalty } else { l / penalty };
                }
            }
        }
        let greedy = self.settings.temperature <= 0.0;
        let temperature = if greedy {
            1.0
        } else {
            self.settings.temperature as f32
        };
        let probs = softmax(&logits, temperature);
        let mut order: Vec<usize> = (0..probs.len()).collect();
        // Highest probability first; ties keep the lower id first, like argmax.
        order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
        let top = order
            .iter()
            .take(self.settings.top_alternatives)
            .map(|&i| (i as u32, probs[i]))
            .collect();
        let id = if greedy {
            order[0]
        } else {
            self.sample(&probs, &order)
        };
        Choice {
            id: id as u32,
            prob: probs[id],
            top,
        }
    }

    /// Samples from the top-k / top-p nucleus of `probs` (sorted by `order`).
    fn sample(&mut self, probs: &[f32], order: &[usize]) -> usize {
        let mut keep = order.len();
        if self.settings.top_k > 0 {
            keep = keep.min(self.settings.top_k);
        }
        if self.settings.top_p < 1.0 {
            // As in transformers: the nucleus is taken within what top-k kept.
            let kept_mass: f64 = order[..keep].iter().map(|&i| probs[i] as f64).sum();
            let target = self.settings.top_p * kept_mass;
            let mut mass = 0.0f64;
            for (n, &i) in order.iter().enumerate().take(keep) {
                mass += probs[i] as f64;
                if mass >= target {
                    keep = n + 1;
                    break;
                }
            }
        }
        let kept = &order[..keep.max(1)];
        let total: f64 = kept.iter().map(|&i| probs[i] as f64).sum();
        let mut r = self.rng.next_f64() * total;
        for &i in kept {
            r -= probs[i] as f64;
            if r < 0.0 {
                return i;
            }
        }
        kept[kept.len() - 1]
    }
}

/// Settings a person could type that would make the arithmetic meaningless:
/// a temperature too small for f32 is greedy, NaN means "off".
fn sanitize(mut s: GenerationSettings) -> GenerationSettings {
    if !(s.temperature.is_finite() && s.temperature >= 1e-4) {
        s.temperature = 0.0;
    }
    if !(s.top_p.is_finite() && s.top_p > 0.0) {
        s.top_p = 1.0;
    }
    if !(s.repeat_penalty.is_finite() && s.repeat_penalty > 0.0) {
        s.repeat_penalty = 1.0;
    }
    s.top_alternatives = s.top_alternatives.min(MAX_ALTERNATIVES);
    s
}

/// Alternatives reported per token: enough for a chart, cheap to send.
pub const MAX_ALTERNATIVES: usize = 20;

pub fn softmax(logits: &[f32], temperature: f32) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits
        .iter()
        .map(|&l| ((l - max) / temperature).exp())
        .collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

/// One generation in progress.
pub struct Generation<'a, M: LanguageModel> {
    model: &'a mut M,
    tokenizer: &'a Tokenizer,
    sampler: Sampler,
    settings: GenerationSettings,
    tokens: Vec<u32>,
    prompt_len: usize,
    next_logits: Vec<f32>,
    text: String,
    stats: GenerationStats,
    decode_started: Option<Instant>,
    finished: Option<StopReason>,
}

impl<'a, M: LanguageModel> Generation<'a, M> {
    /// Runs the prompt through the model (the prefill).
    pub fn start(
        model: &'a mut M,
        tokenizer: &'a Tokenizer,
        prompt: Vec<u32>,
        settings: GenerationSettings,
    ) -> Result<Self> {
        if prompt.is_empty() {
            candle_core::bail!("the prompt is empty: type something first")
        }
        if model.room_after(prompt.len()) == Some(0) {
            candle_core::bail!("the prompt fills the model's whole context: shorten it")
        }
        let started = Instant::now();
        let next_logits = model.prefill(&prompt)?;
        let prefill_ms = started.elapsed().as_secs_f64() * 1000.0;
        let stats = GenerationStats {
            prompt_tokens: prompt.len(),
            prefill_ms,
            prefill_tok_s: prompt.len() as f64 / (prefill_ms / 1000.0).max(1e-9),
            ..Default::default()
        };
        Ok(Self {
            model,
            tokenizer,
            sampler: Sampler::new(settings.clone()),
            settings,
            prompt_len: prompt.len(),
            tokens: prompt,
            next_logits,
            text: String::new(),
            stats,
            decode_started: None,
            finished: None,
        })
    }

    pub fn prompt_ids(&self) -> &[u32] {
        &self.tokens[..self.prompt_len]
    }

    pub fn generated_ids(&self) -> &[u32] {
        &self.tokens[self.prompt_len..]
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn finished(&self) -> Option<StopReason> {
        self.finished
    }

    pub fn stats(&self) -> &GenerationStats {
        &self.stats
    }

    pub fn cancel(&mut self) {
        self.finished.get_or_insert(StopReason::Cancelled);
    }

    /// Produces the next token, or `None` once a stop rule has fired.
    pub fn next_token(&mut self) -> Result<Option<TokenStep>> {
        if self.finished.is_some() {
            return Ok(None);
        }
        let generated = self.tokens.len() - self.prompt_len;
        if generated >= self.settings.max_new_tokens {
            self.finished = Some(StopReason::MaxTokens);
            return Ok(None);
        }
        // As in transformers, the repetition penalty sees what the decoder
        // saw: the whole sequence for GPT-2, only the output for T5.
        let seen = if self.model.is_encoder_decoder() {
            &self.tokens[self.prompt_len..]
        } else {
            &self.tokens
        };
        let choice = self.sampler.choose(&self.next_logits, seen);
        self.tokens.push(choice.id);
        let last = Some(choice.id) == self.model.eos_token_id()
            || self.stats.generated_tokens + 1 >= self.settings.max_new_tokens
            || self.model.room_after(self.tokens.len()) == Some(0);
        let step = TokenStep {
            id: choice.id,
            text: self.append_text(last)?,
            prob: choice.prob,
            top: choice
                .top
                .iter()
                .map(|&(id, prob)| Alternative {
                    id,
                    text: self.token_text(id),
                    prob,
                })
                .collect(),
        };
        self.stats.generated_tokens += 1;

        if Some(choice.id) == self.model.eos_token_id() {
            self.finished = Some(StopReason::EndOfText);
        } else if self
            .settings
            .stop
            .iter()
            .any(|s| !s.is_empty() && self.text.contains(s.as_str()))
        {
            self.finished = Some(StopReason::StopString);
        } else if self.stats.generated_tokens >= self.settings.max_new_tokens {
            self.finished = Some(StopReason::MaxTokens);
        } else if self.model.room_after(self.tokens.len()) == Some(0) {
            self.finished = Some(StopReason::ContextFull);
        } else {
            // Time only the decode steps: the first token comes from the prefill.
            let started = *self.decode_started.get_or_insert_with(Instant::now);
            self.next_logits = self.model.step(choice.id)?;
            let steps = self.stats.generated_tokens as f64;
            self.stats.decode_tok_s = steps / started.elapsed().as_secs_f64().max(1e-9);
        }
        Ok(Some(step))
    }

    /// Decodes all generated ids and returns what was added to the text.
    /// Byte-level BPE can split a character across tokens: hold back a
    /// trailing replacement character until the rest arrives.
    fn append_text(&mut self, last: bool) -> Result<String> {
        let full = self
            .tokenizer
            .decode(self.generated_ids(), true)
            .map_err(candle_core::Error::msg)?;
        // The last token cannot complete a character any more: send all.
        let settled = if last {
            full.as_str()
        } else {
            full.trim_end_matches('\u{FFFD}')
        };
        if let Some(new) = settled.strip_prefix(self.text.as_str()) {
            let new = new.to_string();
            self.text.push_str(&new);
            Ok(new)
        } else {
            // Decoding changed text already sent (a decoder that cleans up
            // spaces): resynchronise so later tokens stream again.
            self.text = settled.to_string();
            Ok(String::new())
        }
    }

    fn token_text(&self, id: u32) -> String {
        self.tokenizer.decode(&[id], false).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(logits: &[f32], seen: &[u32], edit: impl Fn(&mut GenerationSettings)) -> u32 {
        let mut settings = GenerationSettings::default();
        edit(&mut settings);
        Sampler::new(settings).choose(logits, seen).id
    }

    #[test]
    fn greedy_sampling_filters_and_penalty() {
        let logits = [1.0, 3.0, 2.9, 0.5];
        assert_eq!(pick(&logits, &[], |_| {}), 1);
        // A temperature too small for f32 arithmetic is greedy, not NaN.
        assert_eq!(pick(&logits, &[], |s| s.temperature = 1e-30), 1);
        for seed in 0..50 {
            // top-k 1 and a tiny nucleus leave only the most likely token.
            assert_eq!(
                pick(&logits, &[], |s| (s.temperature, s.top_k, s.seed) =
                    (5.0, 1, seed)),
                1
            );
            assert_eq!(
                pick(&logits, &[], |s| (s.temperature, s.top_p, s.seed) =
                    (5.0, 0.01, seed)),
                1
            );
            // top-p is measured within the top-k set: of two equal tokens,
            // half of their mass is one token.
            let even = [0.0, 0.0, -0.4, -0.4];
            let id = pick(&even, &[], |s| {
                (s.temperature, s.top_k, s.top_p, s.seed) = (1.0, 2, 0.5, seed)
            });
            assert_eq!(id, 0);
        }
        // The penalty divides a positive logit of a seen token.
        assert_eq!(pick(&logits, &[1], |s| s.repeat_penalty = 1.1), 2);
        // Sampling does leave the greedy path at a high temperature.
        let ids: std::collections::HashSet<u32> = (0..50)
            .map(|seed| pick(&logits, &[], |s| (s.temperature, s.seed) = (5.0, seed)))
            .collect();
        assert!(ids.len() >= 3, "{ids:?}");
    }

    #[test]
    fn alternatives_are_capped() {
        let logits = vec![0.0; 100];
        let s = GenerationSettings {
            top_alternatives: 1000,
            ..Default::default()
        };
        assert_eq!(
            Sampler::new(s).choose(&logits, &[]).top.len(),
            MAX_ALTERNATIVES
        );
    }
}
