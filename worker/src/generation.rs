//! Token-by-token generation shared by every model: sampling, stop rules,
//! streaming text, and speed figures. The caller drives it one token at a
//! time, so the worker can yield (and hear Cancel) between tokens.

use candle_core::Result;
#[cfg(test)]
use protocol::MAX_ALTERNATIVES;
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
            settings: settings.clamped(),
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
    /// The logits for the next token; `None` until the last token chosen
    /// has gone through the model, which the next call does first. So a
    /// token is handed out as soon as it is chosen, and a Cancel that
    /// arrives meanwhile stops the run before any more model work.
    next_logits: Option<Vec<f32>>,
    text: String,
    /// Incremental decoding: the generated ids from `prefix_offset` are
    /// decoded again for each token, those before `read_offset` are already
    /// in `text` (a window, not the whole output, per token).
    prefix_offset: usize,
    read_offset: usize,
    stats: GenerationStats,
    decode_steps: usize,
    decode_seconds: f64,
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
            next_logits: Some(next_logits),
            text: String::new(),
            prefix_offset: 0,
            read_offset: 0,
            stats,
            decode_steps: 0,
            decode_seconds: 0.0,
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

    /// Produces the next token, or `None` once a stop rule has fired. The
    /// model step for the previous token runs here, before the choice.
    pub fn next_token(&mut self) -> Result<Option<TokenStep>> {
        if self.finished.is_some() {
            return Ok(None);
        }
        let logits = match self.next_logits.take() {
            Some(logits) => logits,
            None => {
                let last = *self.tokens.last().expect("a prompt is never empty");
                // Time only the decode steps: the first token comes from the prefill.
                let started = Instant::now();
                let logits = self.model.step(last)?;
                self.decode_seconds += started.elapsed().as_secs_f64();
                self.decode_steps += 1;
                self.stats.decode_tok_s = self.decode_steps as f64 / self.decode_seconds.max(1e-9);
                logits
            }
        };
        // As in transformers, the repetition penalty sees what the decoder
        // saw: the whole sequence for GPT-2, only the output for T5.
        let seen = if self.model.is_encoder_decoder() {
            &self.tokens[self.prompt_len..]
        } else {
            &self.tokens
        };
        let choice = self.sampler.choose(&logits, seen);
        self.tokens.push(choice.id);
        self.stats.generated_tokens += 1;
        self.finished = if Some(choice.id) == self.model.eos_token_id() {
            Some(StopReason::EndOfText)
        } else if self.stats.generated_tokens >= self.settings.max_new_tokens {
            Some(StopReason::MaxTokens)
        } else if self.model.room_after(self.tokens.len()) == Some(0) {
            Some(StopReason::ContextFull)
        } else {
            None
        };
        let text = self.append_text(self.finished.is_some())?;
        if self.finished.is_none()
            && self
                .settings
                .stop
                .iter()
                .any(|s| !s.is_empty() && self.text.contains(s.as_str()))
        {
            self.finished = Some(StopReason::StopString);
        }
        Ok(Some(TokenStep {
            id: choice.id,
            text,
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
        }))
    }

    /// The text the newest token adds. Only a window of the output is
    /// decoded: from the token before the last text that was sent, so a
    /// decoder that drops a word's leading space at the start of a sequence
    /// treats both decodes alike. Byte-level BPE can split a character
    /// across tokens: a trailing replacement character waits for the rest.
    fn append_text(&mut self, last: bool) -> Result<String> {
        let ids = &self.tokens[self.prompt_len..];
        let decode = |ids: &[u32]| {
            self.tokenizer
                .decode(ids, true)
                .map_err(candle_core::Error::msg)
        };
        let before = decode(&ids[self.prefix_offset..self.read_offset])?;
        let now = decode(&ids[self.prefix_offset..])?;
        // The last token cannot complete a character any more: send all.
        let settled = if last {
            now.as_str()
        } else {
            now.trim_end_matches('\u{FFFD}')
        };
        let new = match settled.strip_prefix(before.as_str()) {
            Some("") => return Ok(String::new()),
            Some(new) => new.to_string(),
            // Decoding changed text already sent (a decoder that cleans up
            // spaces): move on so later tokens stream again.
            None => String::new(),
        };
        self.prefix_offset = self.read_offset;
        self.read_offset = ids.len();
        self.text.push_str(&new);
        Ok(new)
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

    /// A model that counts its steps and always favours token 1 (of 4).
    struct Counting {
        steps: std::rc::Rc<std::cell::Cell<usize>>,
    }

    impl LanguageModel for Counting {
        fn prefill(&mut self, _: &[u32]) -> Result<Vec<f32>> {
            Ok(vec![0.0, 5.0, 0.0, 0.0])
        }
        fn step(&mut self, _: u32) -> Result<Vec<f32>> {
            self.steps.set(self.steps.get() + 1);
            Ok(vec![0.0, 5.0, 0.0, 0.0])
        }
        fn eos_token_id(&self) -> Option<u32> {
            None
        }
        fn room_after(&self, _: usize) -> Option<usize> {
            None
        }
    }

    #[test]
    fn a_token_is_handed_out_before_the_next_step_and_cancel_stops_the_model() {
        let path = protocol::repo_root().join("static/tokenizers/gpt2.json");
        let tokenizer = Tokenizer::from_file(path).unwrap();
        let steps = std::rc::Rc::new(std::cell::Cell::new(0));
        let mut model = Counting {
            steps: steps.clone(),
        };
        let settings = GenerationSettings {
            max_new_tokens: 3,
            ..Default::default()
        };
        let mut generation = Generation::start(&mut model, &tokenizer, vec![7], settings).unwrap();
        // The first token comes from the prefill: no decode step yet.
        assert!(generation.next_token().unwrap().is_some());
        assert_eq!(steps.get(), 0);
        // The second needs one step, run when it is asked for.
        assert!(generation.next_token().unwrap().is_some());
        assert_eq!(steps.get(), 1);
        // A Cancel now costs no model work at all.
        generation.cancel();
        assert!(generation.next_token().unwrap().is_none());
        assert_eq!(steps.get(), 1);
        assert_eq!(generation.finished(), Some(StopReason::Cancelled));
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
