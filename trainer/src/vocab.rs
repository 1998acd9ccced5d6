//! The compact vocabulary: train on the token ids the data uses, with every
//! other id tied to one shared row `w_other`.
//!
//! If the `N` unused rows of a full-vocabulary output layer are all equal to
//! `w_other`, the full softmax's normaliser is
//! `Σ_used exp(h·w_i) + N·exp(h·w_other)`: the same as a compact softmax over
//! the used rows plus ONE extra logit `h·w_other + ln N`. So the compact loss
//! is the full-vocabulary loss, and the exported model (unused rows set to
//! `w_other`) computes exactly what was trained. A token in the "other"
//! bucket has full log-probability `log p(other) - ln N`.

use candle_core::{bail, Device, Result, Tensor};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompactVocab {
    /// Rows of the exported model (50,257 for GPT-2, 32,128 for T5).
    pub full_size: usize,
    /// Compact id → full id, for the ids that get their own row.
    pub ids: Vec<u32>,
}

impl CompactVocab {
    /// The ids in `counts` (full id → occurrences) that occur, most frequent
    /// first, at most `max` of them, plus `specials` (always kept).
    pub fn from_counts(
        counts: &[u64],
        specials: &[u32],
        full_size: usize,
        max: Option<usize>,
    ) -> Result<Self> {
        if counts.len() > full_size || specials.iter().any(|&s| s as usize >= full_size) {
            bail!("token ids beyond the vocabulary of {full_size}")
        }
        let mut ids: Vec<u32> = specials.to_vec();
        ids.dedup();
        let mut used: Vec<u32> = (0..counts.len() as u32)
            .filter(|&i| counts[i as usize] > 0 && !specials.contains(&i))
            .collect();
        // Most frequent first, ties by id: deterministic.
        used.sort_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]).then(a.cmp(&b)));
        let room = max.map_or(usize::MAX, |m| m.saturating_sub(ids.len()));
        ids.extend(used.into_iter().take(room));
        Self::new(ids, full_size)
    }

    pub fn new(ids: Vec<u32>, full_size: usize) -> Result<Self> {
        let mut seen = vec![false; full_size];
        for &id in &ids {
            match seen.get_mut(id as usize) {
                Some(s) if !*s => *s = true,
                Some(_) => bail!("token id {id} appears twice in the compact vocabulary"),
                None => bail!("token id {id} is beyond the vocabulary of {full_size}"),
            }
        }
        if ids.is_empty() {
            bail!("the compact vocabulary is empty")
        }
        Ok(Self { full_size, ids })
    }

    /// Ids with their own row.
    pub fn used(&self) -> usize {
        self.ids.len()
    }

    /// Ids that share `w_other`.
    pub fn unused(&self) -> usize {
        self.full_size - self.ids.len()
    }

    /// Rows of the trained matrices: the used ids, then `w_other` if any id is unused.
    pub fn rows(&self) -> usize {
        self.used() + usize::from(self.unused() > 0)
    }

    /// Full id → compact row (`w_other`'s row for ids without their own).
    pub fn table(&self) -> Vec<u32> {
        let other = self.used() as u32;
        let mut map = vec![other; self.full_size];
        for (c, &full) in self.ids.iter().enumerate() {
            map[full as usize] = c as u32;
        }
        map
    }

    /// `ln N` of the other bucket (0 without one).
    pub fn other_log_count(&self) -> f64 {
        match self.unused() {
            0 => 0.0,
            n => (n as f64).ln(),
        }
    }

    /// `[rows]`: 0 for the used ids, `ln N` for the other bucket.
    pub fn head_bias(&self, device: &Device) -> Result<Option<Tensor>> {
        if self.unused() == 0 {
            return Ok(None);
        }
        let mut bias = vec![0f32; self.rows()];
        bias[self.used()] = self.other_log_count() as f32;
        Ok(Some(Tensor::from_vec(bias, self.rows(), device)?))
    }

    /// The full-size matrix of a compact one: row `i` of the result is the
    /// compact row of id `i`, `w_other` for ids without their own.
    pub fn scatter(&self, compact: &Tensor) -> Result<Tensor> {
        if compact.dim(0)? != self.rows() {
            bail!(
                "the matrix has {} rows, the compact vocabulary {}",
                compact.dim(0)?,
                self.rows()
            )
        }
        let table = Tensor::new(self.table(), compact.device())?;
        compact.index_select(&table, 0)
    }
}

/// Maps full ids to compact rows, remembering how many fell in the other bucket.
pub struct Mapper {
    table: Vec<u32>,
    other: u32,
    has_other: bool,
}

impl Mapper {
    pub fn new(vocab: &CompactVocab) -> Self {
        Self {
            table: vocab.table(),
            other: vocab.used() as u32,
            has_other: vocab.unused() > 0,
        }
    }

    pub fn map(&self, full: u32) -> Result<u32> {
        match self.table.get(full as usize) {
            Some(&c) => Ok(c),
            None => bail!("token id {full} is beyond the model's vocabulary"),
        }
    }

    pub fn is_other(&self, compact: u32) -> bool {
        self.has_other && compact == self.other
    }
}

/// The full-vocabulary mean loss from the compact one: a target in the other
/// bucket has `ln N` more loss (a constant: it does not change the gradient).
pub fn full_vocab_loss(compact: f64, targets: &[u32], vocab: &CompactVocab) -> f64 {
    let other = vocab.used() as u32;
    let in_other = if vocab.unused() > 0 {
        targets.iter().filter(|&&t| t == other).count()
    } else {
        0
    };
    compact + in_other as f64 * vocab.other_log_count() / targets.len().max(1) as f64
}

/// Cross-entropy of compact logits `[n, rows]` at compact `targets` from
/// candle primitives (the reference for the fused head): the mean as a
/// tensor and the full-vocabulary mean loss.
pub fn compact_loss(
    logits: &Tensor,
    targets: &[u32],
    vocab: &CompactVocab,
) -> Result<(Tensor, f64)> {
    let n = targets.len();
    if n == 0 {
        bail!("a batch without a single target token")
    }
    let log_probs = candle_nn::ops::log_softmax(logits, 1)?;
    let idx = Tensor::from_vec(targets.to_vec(), (n, 1), logits.device())?;
    let loss = log_probs.gather(&idx, 1)?.mean_all()?.neg()?;
    let full = full_vocab_loss(loss.to_scalar::<f32>()? as f64, targets, vocab);
    Ok((loss, full))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_specials_and_the_most_frequent_ids() {
        let counts = [0, 5, 0, 9, 1, 0];
        let v = CompactVocab::from_counts(&counts, &[5], 6, Some(3)).unwrap();
        assert_eq!(v.ids, [5, 3, 1]);
        assert_eq!((v.used(), v.unused(), v.rows()), (3, 3, 4));
        assert_eq!(v.table(), [3, 2, 3, 1, 3, 0]);
        let all = CompactVocab::from_counts(&counts, &[], 6, None).unwrap();
        assert_eq!(all.ids, [3, 1, 4]);
        assert!(CompactVocab::new(vec![1, 1], 6).is_err());
        assert!(CompactVocab::new(vec![7], 6).is_err());
    }
}
