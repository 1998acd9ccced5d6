//! Token-by-token generation shared by every model: sampling, stop rules,
//! streaming text, and speed figures. The caller drives it one token at a
//! time, so the worker can yield (and hear Cancel) between tokens.

use candle_core::Result;
use protocol::{Alternative, GenerationSettings, GenerationStats, StopReason, TokenStep};
use tokenizers::Tokenizer;
use web_time::Instant;

use crate::sampling::Sampler;

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
    decode_started: Option<Instant>,
    decode_steps: usize,
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
            threads: 1,
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
            decode_started: None,
            decode_steps: 0,
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
        if self.stats.generated_tokens >= self.settings.max_new_tokens {
            self.finished = Some(StopReason::MaxTokens);
            return Ok(None);
        }
        let logits = match self.next_logits.take() {
            Some(logits) => logits,
            None => {
                let last = *self.tokens.last().expect("a prompt is never empty");
                // Time the decode steps from the first one on (the first
                // token comes from the prefill), sampling included.
                let started = *self.decode_started.get_or_insert_with(Instant::now);
                let logits = self.model.step(last)?;
                self.decode_steps += 1;
                self.stats.decode_tok_s =
                    self.decode_steps as f64 / started.elapsed().as_secs_f64().max(1e-9);
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
        let end_of_text = Some(choice.id) == self.model.eos_token_id();
        let at_max = self.stats.generated_tokens >= self.settings.max_new_tokens;
        let context_full = self.model.room_after(self.tokens.len()) == Some(0);
        let ends_here = end_of_text || at_max || context_full;
        let mut text = self.append_text(ends_here)?;
        let stop_string = self
            .settings
            .stop
            .iter()
            .any(|s| !s.is_empty() && self.text.contains(s.as_str()));
        if stop_string && !ends_here {
            // Nothing follows: send what was held back for a later token.
            text.push_str(&self.append_text(true)?);
        }
        self.finished = if end_of_text {
            Some(StopReason::EndOfText)
        } else if stop_string {
            Some(StopReason::StopString)
        } else if at_max {
            Some(StopReason::MaxTokens)
        } else if context_full {
            Some(StopReason::ContextFull)
        } else {
            None
        };
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
    /// across tokens: while the window ends in a replacement character,
    /// nothing is sent and the window waits for the rest.
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
        if !last && now.ends_with('\u{FFFD}') {
            return Ok(String::new());
        }
        // `None`: decoding changed text already sent (a decoder that cleans
        // up spaces); move on so later tokens stream again.
        let new = now
            .strip_prefix(before.as_str())
            .unwrap_or_default()
            .to_string();
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

    /// A model that answers a fixed sequence of GPT-2 token ids.
    struct Scripted {
        ids: Vec<u32>,
        next: usize,
    }

    impl Scripted {
        fn logits(&mut self) -> Vec<f32> {
            let mut logits = vec![0.0; 50257];
            logits[self.ids[self.next] as usize] = 30.0;
            self.next += 1;
            logits
        }
    }

    impl LanguageModel for Scripted {
        fn prefill(&mut self, _: &[u32]) -> Result<Vec<f32>> {
            Ok(self.logits())
        }
        fn step(&mut self, _: u32) -> Result<Vec<f32>> {
            Ok(self.logits())
        }
        fn eos_token_id(&self) -> Option<u32> {
            None
        }
        fn room_after(&self, _: usize) -> Option<usize> {
            None
        }
    }

    fn gpt2_tokenizer() -> Tokenizer {
        Tokenizer::from_file(protocol::repo_root().join("static/tokenizers/gpt2.json")).unwrap()
    }

    /// Characters split across tokens stream whole, also after a space:
    /// " “" is ĠâĢ + ľ, " 🤗" likewise spans tokens.
    #[test]
    fn split_characters_stream_whole() {
        let tokenizer = gpt2_tokenizer();
        let text = "Hello “world” and 🤗 café — done";
        let ids = tokenizer.encode(text, false).unwrap().get_ids().to_vec();
        for stop in [vec![], vec!["🤗".to_string()]] {
            let mut model = Scripted {
                ids: ids.clone(),
                next: 0,
            };
            let settings = GenerationSettings {
                max_new_tokens: ids.len(),
                stop: stop.clone(),
                ..Default::default()
            };
            let mut generation =
                Generation::start(&mut model, &tokenizer, vec![7], settings).unwrap();
            let mut streamed = String::new();
            while let Some(step) = generation.next_token().unwrap() {
                assert!(!step.text.contains('\u{FFFD}'), "{:?}", step.text);
                streamed.push_str(&step.text);
            }
            let whole = tokenizer.decode(generation.generated_ids(), true).unwrap();
            assert_eq!(streamed, whole);
            assert_eq!(generation.text(), whole);
            if stop.is_empty() {
                assert_eq!(whole, text);
                assert_eq!(generation.finished(), Some(StopReason::MaxTokens));
            } else {
                assert!(whole.ends_with("🤗"), "{whole}");
                assert_eq!(generation.finished(), Some(StopReason::StopString));
            }
        }
    }

    /// A stop string in the last allowed token is the reason given.
    #[test]
    fn a_stop_string_wins_over_the_token_limit() {
        let tokenizer = gpt2_tokenizer();
        let ids = tokenizer
            .encode("one two", false)
            .unwrap()
            .get_ids()
            .to_vec();
        let mut model = Scripted {
            ids: ids.clone(),
            next: 0,
        };
        let settings = GenerationSettings {
            max_new_tokens: ids.len(),
            stop: vec!["two".into()],
            ..Default::default()
        };
        let mut generation = Generation::start(&mut model, &tokenizer, vec![7], settings).unwrap();
        while generation.next_token().unwrap().is_some() {}
        assert_eq!(generation.finished(), Some(StopReason::StopString));
    }

    #[test]
    fn a_token_is_handed_out_before_the_next_step_and_cancel_stops_the_model() {
        let tokenizer = gpt2_tokenizer();
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
}
