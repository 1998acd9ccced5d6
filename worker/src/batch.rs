//! A mixed-task minibatch: prompts with different task prefixes run as ONE
//! batch, in one forward pass per step, then each alone, greedily, so the
//! page can show that padding and masks leave every row as it would be.
//!
//! GPT-2 is padded on the left (each row's newest token is last; the mask
//! hides the padding and each row counts its own positions). T5's encoder
//! input is padded on the right, the mask covering the encoder's attention
//! and the decoder's cross-attention.

use candle_core::{Device, Result, Tensor};
use protocol::batch::{BatchResult, BatchRow, Padding};
use web_time::Instant;

use crate::capture::Capture;
use crate::generation::LanguageModel;
use crate::sampling::argmax;
use crate::session::{Model, Session};

const LAST: Capture = Capture {
    hidden_states: false,
    attentions: false,
    last_logits_only: true,
};

/// At most this many prompts in one batch.
pub const MAX_ROWS: usize = 8;

impl Session {
    pub fn mixed_batch(&self, prompts: &[String], max_new_tokens: usize) -> Result<BatchResult> {
        if prompts.is_empty() || prompts.len() > MAX_ROWS {
            candle_core::bail!("a batch here has 1 to {MAX_ROWS} rows")
        }
        let mut rows = Vec::with_capacity(prompts.len());
        for (i, prompt) in prompts.iter().enumerate() {
            let ids = self.encode(prompt)?;
            if prompt.trim().is_empty() || ids.is_empty() {
                candle_core::bail!("row {} is empty: give every row some text", i + 1)
            }
            rows.push(ids);
        }
        let steps = max_new_tokens.max(1);

        let started = Instant::now();
        let alone: Vec<(Vec<u32>, Vec<Vec<f32>>)> = rows
            .iter()
            .map(|ids| self.greedy_alone(ids, steps))
            .collect::<Result<_>>()?;
        let alone_ms = started.elapsed().as_secs_f64() * 1e3;

        let started = Instant::now();
        let (padding, pad_id, grid, mask, batch_logits) = match &self.model {
            Model::Gpt2(m) => {
                let pad = m.config.eos_token_id.unwrap_or(0);
                let (grid, mask) = pad_rows(&rows, pad, Padding::Left);
                let mut cache = m.new_cache();
                let next = |ids: &Tensor, mask: &[Vec<f32>]| {
                    m.forward(ids, Some(mask), &mut cache, LAST)
                        .map(|o| o.logits)
                };
                let logits = greedy_batch(&grid, &mask, steps, next)?;
                (Padding::Left, pad, grid, mask, logits)
            }
            Model::T5(m) => {
                let pad = m.config.pad_token_id;
                let (grid, mask) = pad_rows(&rows, pad, Padding::Right);
                let encoded = m.encode(&to_tensor(&grid)?, Some(&mask), LAST)?;
                let start = vec![vec![m.config.decoder_start()]; rows.len()];
                let ones = vec![vec![1.0]; rows.len()];
                let mut cache = m.new_cache();
                let next = |ids: &Tensor, _: &[Vec<f32>]| {
                    m.decode(ids, &encoded, &mut cache, LAST).map(|o| o.logits)
                };
                let logits = greedy_batch(&start, &ones, steps, next)?;
                (Padding::Right, pad, grid, mask, logits)
            }
        };
        let batch_ms = started.elapsed().as_secs_f64() * 1e3;

        let eos = self.runner().eos_token_id();
        let results = prompts
            .iter()
            .zip(&alone)
            .enumerate()
            .map(|(r, (prompt, (alone_ids, alone_logits)))| {
                let ids: Vec<u32> = batch_logits
                    .iter()
                    .map(|step| argmax(&step[r]) as u32)
                    .collect();
                let max_logit_diff = batch_logits
                    .iter()
                    .zip(alone_logits)
                    .flat_map(|(step, one)| step[r].iter().zip(one).map(|(a, b)| (a - b).abs()))
                    .fold(0.0, f32::max);
                let ids = until_end(&ids, eos);
                let text = self.tokenizer.decode(&ids, true).unwrap_or_default();
                BatchRow {
                    prompt: prompt.clone(),
                    text,
                    alone_ids: until_end(alone_ids, eos),
                    ids,
                    max_logit_diff,
                }
            })
            .collect();
        let positions = match padding {
            Padding::Left => mask.iter().map(|row| positions_of(row)).collect(),
            Padding::Right => Vec::new(),
        };
        Ok(BatchResult {
            padding,
            pad_id,
            input_ids: grid,
            mask: mask
                .iter()
                .map(|row| row.iter().map(|&m| (m > 0.5) as u8).collect())
                .collect(),
            positions,
            rows: results,
            batch_ms,
            alone_ms,
        })
    }

    /// Greedy ids and every step's logits of `ids` alone, on the path a
    /// generation takes (prefill, then one token at a time).
    fn greedy_alone(&self, ids: &[u32], steps: usize) -> Result<(Vec<u32>, Vec<Vec<f32>>)> {
        let mut runner = self.runner();
        let mut logits = vec![runner.prefill(ids)?];
        let mut out = vec![argmax(&logits[0]) as u32];
        while out.len() < steps {
            logits.push(runner.step(out[out.len() - 1])?);
            out.push(argmax(&logits[logits.len() - 1]) as u32);
        }
        Ok((out, logits))
    }
}

/// Runs `first` (`[b, t]` ids with their mask), then feeds each row's
/// greedy token back, `steps` times in all: every step's `[row][vocab]` logits.
fn greedy_batch(
    first: &[Vec<u32>],
    mask: &[Vec<f32>],
    steps: usize,
    mut next: impl FnMut(&Tensor, &[Vec<f32>]) -> Result<Tensor>,
) -> Result<Vec<Vec<Vec<f32>>>> {
    let ones = vec![vec![1.0]; first.len()];
    let mut logits = vec![rows_of(&next(&to_tensor(first)?, mask)?)?];
    while logits.len() < steps {
        let chosen: Vec<Vec<u32>> = logits[logits.len() - 1]
            .iter()
            .map(|row| vec![argmax(row) as u32])
            .collect();
        logits.push(rows_of(&next(&to_tensor(&chosen)?, &ones)?)?);
    }
    Ok(logits)
}

/// Pads every row to the longest with `pad` on the given side; the mask
/// marks real tokens.
pub fn pad_rows(rows: &[Vec<u32>], pad: u32, side: Padding) -> (Vec<Vec<u32>>, Vec<Vec<f32>>) {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    rows.iter()
        .map(|row| {
            let fill = width - row.len();
            let (pads, ones) = (vec![pad; fill], vec![1.0; row.len()]);
            match side {
                Padding::Left => (
                    [pads, row.clone()].concat(),
                    [vec![0.0; fill], ones].concat(),
                ),
                Padding::Right => (
                    [row.clone(), pads].concat(),
                    [ones, vec![0.0; fill]].concat(),
                ),
            }
        })
        .unzip()
}

/// GPT-2's position ids for a left-padded row: real tokens count from 0.
fn positions_of(mask: &[f32]) -> Vec<u32> {
    let mut next = 0;
    mask.iter()
        .map(|&m| {
            if m > 0.5 {
                next += 1;
                next - 1
            } else {
                0
            }
        })
        .collect()
}

/// Equal-length rows of ids as a `[rows, length]` tensor.
pub(crate) fn to_tensor(grid: &[Vec<u32>]) -> Result<Tensor> {
    let (b, t) = (grid.len(), grid.first().map_or(0, Vec::len));
    Tensor::from_vec(grid.concat(), (b, t), &Device::Cpu)
}

/// `[b, 1, vocab]` logits as one vector per row.
fn rows_of(logits: &Tensor) -> Result<Vec<Vec<f32>>> {
    logits.squeeze(1)?.to_vec2::<f32>()
}

fn until_end(ids: &[u32], eos: Option<u32>) -> Vec<u32> {
    ids.iter()
        .take_while(|&&id| Some(id) != eos)
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpt2_pads_left_and_t5_pads_right() {
        let rows = vec![vec![5, 6, 7], vec![8]];
        let (grid, mask) = pad_rows(&rows, 0, Padding::Left);
        assert_eq!(grid, [vec![5, 6, 7], vec![0, 0, 8]]);
        assert_eq!(mask[1], [0.0, 0.0, 1.0]);
        assert_eq!(positions_of(&mask[1]), [0, 0, 0]);
        assert_eq!(positions_of(&mask[0]), [0, 1, 2]);
        let (grid, mask) = pad_rows(&rows, 0, Padding::Right);
        assert_eq!(grid, [vec![5, 6, 7], vec![8, 0, 0]]);
        assert_eq!(mask[1], [1.0, 0.0, 0.0]);
    }
}
