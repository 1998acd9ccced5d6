//! A mixed-task minibatch (d2l 11.9, exercise 1): several prompts, each
//! with its own task, run as ONE batch through one model, next to each row
//! run alone.

use serde::{Deserialize, Serialize};

/// Which side the shorter rows are padded on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Padding {
    /// GPT-2: the last position of every row is its newest token.
    Left,
    /// T5's encoder: the mask keeps padding out of its attention and the
    /// decoder's cross-attention.
    Right,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchResult {
    pub padding: Padding,
    pub pad_id: u32,
    /// The padded input ids, one row per prompt.
    pub input_ids: Vec<Vec<u32>>,
    /// 1 = a real token, 0 = padding.
    pub mask: Vec<Vec<u8>>,
    /// GPT-2's position ids (each row counts its own real tokens); empty for
    /// T5, whose positions are relative.
    pub positions: Vec<Vec<u32>>,
    pub rows: Vec<BatchRow>,
    /// Milliseconds for the whole batch, and for the rows one by one.
    pub batch_ms: f64,
    pub alone_ms: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchRow {
    pub prompt: String,
    /// Greedy ids from the batch, up to and without the end of text.
    pub ids: Vec<u32>,
    pub text: String,
    /// The same row run alone.
    pub alone_ids: Vec<u32>,
    /// Largest |logit| difference between the batch and the row alone,
    /// over every step and every vocabulary entry.
    pub max_logit_diff: f32,
}
