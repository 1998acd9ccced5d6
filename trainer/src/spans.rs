//! T5's pretraining objective, span corruption (Raffel et al. 2020, §3.1.4):
//! about 15 % of the tokens, in spans of mean length 3, are cut out of the
//! input and replaced by one sentinel each (`<extra_id_0>` = 32099, then
//! 32098, ...); the target lists each sentinel followed by the tokens it hides.
//! As in T5's `random_spans_noise_mask`, the text is cut into alternating
//! kept / noise segments, starting with a kept one.

use candle_core::{bail, Result};

use crate::init::Normal;

/// Sentinels the T5 vocabulary has (`<extra_id_0>` … `<extra_id_99>`).
pub const MAX_SENTINELS: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpanCorruption {
    pub noise_density: f64,
    pub mean_span_length: f64,
    /// Id of `<extra_id_0>`; sentinel `i` is `first_sentinel - i`.
    pub first_sentinel: u32,
    pub eos: u32,
}

impl Default for SpanCorruption {
    fn default() -> Self {
        Self {
            noise_density: 0.15,
            mean_span_length: 3.0,
            first_sentinel: 32099,
            eos: 1,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Corrupted {
    /// Kept tokens with one sentinel per noise span, then EOS.
    pub input: Vec<u32>,
    /// Each sentinel followed by the tokens it replaced, then EOS.
    pub target: Vec<u32>,
}

impl SpanCorruption {
    pub fn sentinel(&self, i: usize) -> u32 {
        self.first_sentinel - i as u32
    }

    /// (noise tokens, noise spans) for a text of `len` tokens.
    pub fn counts(&self, len: usize) -> (usize, usize) {
        let noise = ((len as f64 * self.noise_density).round() as usize).clamp(1, len - 1);
        let spans = ((noise as f64 / self.mean_span_length).round() as usize)
            .clamp(1, noise.min(len - noise).min(MAX_SENTINELS));
        (noise, spans)
    }

    /// Raw text length whose corrupted input is about `input_len` tokens.
    pub fn raw_length(&self, input_len: usize) -> usize {
        let kept = 1.0 - self.noise_density + self.noise_density / self.mean_span_length;
        ((input_len.saturating_sub(1)) as f64 / kept)
            .floor()
            .max(2.0) as usize
    }

    pub fn corrupt(&self, tokens: &[u32], rng: &mut Normal) -> Result<Corrupted> {
        let len = tokens.len();
        if len < 2 {
            bail!("span corruption needs at least 2 tokens, got {len}")
        }
        if self.first_sentinel as usize + 1 < MAX_SENTINELS {
            bail!("the first sentinel id {} is too small", self.first_sentinel)
        }
        let (noise, spans) = self.counts(len);
        let noise_lengths = random_partition(noise, spans, rng);
        let kept_lengths = random_partition(len - noise, spans, rng);
        let mut input = Vec::with_capacity(len - noise + spans + 1);
        let mut target = Vec::with_capacity(noise + spans + 1);
        let mut at = 0;
        for (i, (&kept, &hidden)) in kept_lengths.iter().zip(&noise_lengths).enumerate() {
            input.extend_from_slice(&tokens[at..at + kept]);
            at += kept;
            input.push(self.sentinel(i));
            target.push(self.sentinel(i));
            target.extend_from_slice(&tokens[at..at + hidden]);
            at += hidden;
        }
        input.push(self.eos);
        target.push(self.eos);
        Ok(Corrupted { input, target })
    }
}

/// `n` split into `parts` positive lengths at uniformly random cut points.
fn random_partition(n: usize, parts: usize, rng: &mut Normal) -> Vec<usize> {
    // Choose parts - 1 distinct cuts among the n - 1 gaps between tokens.
    let mut gaps: Vec<usize> = (1..n).collect();
    for i in 0..parts - 1 {
        let j = i + rng.below(gaps.len() - i);
        gaps.swap(i, j);
    }
    let mut cuts = gaps[..parts - 1].to_vec();
    cuts.sort_unstable();
    let mut lengths = Vec::with_capacity(parts);
    let mut prev = 0;
    for c in cuts.into_iter().chain(std::iter::once(n)) {
        lengths.push(c - prev);
        prev = c;
    }
    lengths
}
