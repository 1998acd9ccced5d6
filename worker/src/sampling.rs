//! Choosing the next token from the logits: greedy, temperature, top-k,
//! top-p and the repetition penalty, with a seedable random source.

use protocol::GenerationSettings;

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

/// The index of the largest value (the first, on a tie).
pub fn argmax(values: &[f32]) -> usize {
    (0..values.len()).fold(0, |best, i| if values[i] > values[best] { i } else { best })
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

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::MAX_ALTERNATIVES;

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
