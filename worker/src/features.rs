//! Features for a classification head: every layer's hidden states of a
//! batch of inputs, pooled three ways, from the same forward pass the model
//! uses to write (issue: "where do the classification layers go?").
//!
//! Layers follow Hugging Face's `hidden_states`: the embeddings, then each
//! block's output, the last one after the final norm. GPT-2 has one causal
//! stack; T5 gives its encoder's layers, then the decoder's state at its
//! first step (what the decoder knows before it writes anything).

use candle_core::Result;

use crate::batch::{pad_rows, to_tensor};
use crate::capture::Capture;
use crate::session::Model;
use protocol::batch::Padding;
pub use protocol::classify::Pooling;
use protocol::classify::{stack_layer_names, DECODER_FIRST_STEP};

const HIDDEN: Capture = Capture {
    hidden_states: true,
    attentions: false,
    last_logits_only: true,
};

/// Pooled features of several inputs at every layer.
pub struct Features {
    /// A name per layer ("embeddings", "block 3", "decoder, first step").
    pub layers: Vec<String>,
    pub dim: usize,
    /// `[row][layer][pooling]`, each `dim` long, flattened.
    values: Vec<f32>,
    rows: usize,
}

impl Features {
    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn get(&self, row: usize, layer: usize, pooling: Pooling) -> &[f32] {
        let at =
            ((row * self.layers.len() + layer) * Pooling::ALL.len() + pooling.index()) * self.dim;
        &self.values[at..at + self.dim]
    }

    /// The rows put back where they came from: row `i` here was row
    /// `order[i]` of the input.
    pub fn in_original_order(self, order: &[usize]) -> Features {
        let block = self.layers.len() * Pooling::ALL.len() * self.dim;
        let mut values = vec![0.0; self.values.len()];
        for (i, &to) in order.iter().enumerate() {
            values[to * block..(to + 1) * block]
                .copy_from_slice(&self.values[i * block..(i + 1) * block]);
        }
        Features { values, ..self }
    }

    /// Adds the rows of `more` (the next batch of the same model) after these.
    pub fn extend(&mut self, more: Features) {
        self.values.extend(more.values);
        self.rows += more.rows;
    }
}

/// Runs `rows` (token ids, any lengths) through `model` as one padded
/// batch and pools every layer.
pub fn pooled_features(model: &Model, rows: &[Vec<u32>]) -> Result<Features> {
    if rows.is_empty() || rows.iter().any(Vec::is_empty) {
        candle_core::bail!("every input needs at least one token")
    }
    let (names, states, mask) = match model {
        Model::Gpt2(m) => {
            let (grid, mask) = pad_rows(rows, 0, Padding::Left);
            let out = m.forward(&to_tensor(&grid)?, Some(&mask), &mut m.new_cache(), HIDDEN)?;
            (
                stack_layer_names(out.hidden_states.len(), ""),
                out.hidden_states,
                mask,
            )
        }
        Model::T5(m) => {
            let (grid, mask) = pad_rows(rows, m.config.pad_token_id, Padding::Right);
            let encoded = m.encode(&to_tensor(&grid)?, Some(&mask), HIDDEN)?;
            let start = vec![vec![m.config.decoder_start()]; rows.len()];
            let decoded = m.decode(&to_tensor(&start)?, &encoded, &mut m.new_cache(), HIDDEN)?;
            let mut names = stack_layer_names(encoded.hidden_states.len(), "encoder ");
            names.push(DECODER_FIRST_STEP.to_string());
            let mut states = encoded.hidden_states;
            // One position, padded out to the encoder's width: its mask
            // below keeps only that first position.
            let first = decoded.hidden_states.last().cloned();
            let first = first.ok_or_else(|| candle_core::Error::msg("no decoder state"))?;
            states.push(first.pad_with_zeros(1, 0, grid[0].len() - 1)?);
            (names, states, mask)
        }
    };
    let dim = states[0].dim(2)?;
    let layers: Vec<Vec<Vec<Vec<f32>>>> = states
        .iter()
        .map(|s| s.to_vec3::<f32>())
        .collect::<Result<_>>()?;
    let decoder_row = matches!(model, Model::T5(_)).then(|| layers.len() - 1);
    let mut values = Vec::with_capacity(rows.len() * layers.len() * 3 * dim);
    for (r, row_mask) in mask.iter().enumerate() {
        let real: Vec<usize> = (0..row_mask.len()).filter(|&i| row_mask[i] > 0.5).collect();
        for (l, layer) in layers.iter().enumerate() {
            let positions = if Some(l) == decoder_row {
                &real[..1]
            } else {
                &real[..]
            };
            let tokens = &layer[r];
            for pooling in Pooling::ALL {
                values.extend(pool(tokens, positions, pooling, dim));
            }
        }
    }
    Ok(Features {
        layers: names,
        dim,
        values,
        rows: rows.len(),
    })
}

fn pool(tokens: &[Vec<f32>], positions: &[usize], pooling: Pooling, dim: usize) -> Vec<f32> {
    match pooling {
        Pooling::First => tokens[positions[0]].clone(),
        Pooling::Last => tokens[positions[positions.len() - 1]].clone(),
        Pooling::Mean => {
            let mut sum = vec![0.0; dim];
            for &p in positions {
                for (s, v) in sum.iter_mut().zip(&tokens[p]) {
                    *s += v;
                }
            }
            sum.iter().map(|s| s / positions.len() as f32).collect()
        }
    }
}
