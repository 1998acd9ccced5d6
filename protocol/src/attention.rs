//! Attention probabilities as the worker sends them for the page's maps:
//! computed only when asked ([`crate::Request::Attention`]).

use serde::{Deserialize, Serialize};

/// At most this many tokens a side are sent and drawn.
pub const MAX_SIDE: usize = 128;

/// Which attention of which design a map shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttentionKind {
    /// GPT-2: prompt and answer in one causal stack.
    Causal,
    /// T5's encoder: every input token sees every other (bidirectional).
    Encoder,
    /// T5's decoder over the answer so far (causal).
    Decoder,
    /// T5's decoder over the encoded input: answer tokens x input tokens.
    Cross,
}

impl AttentionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AttentionKind::Causal => "causal",
            AttentionKind::Encoder => "encoder",
            AttentionKind::Decoder => "decoder",
            AttentionKind::Cross => "cross",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AttentionKind::Causal => "GPT-2 self-attention (causal)",
            AttentionKind::Encoder => "T5 encoder self-attention (bidirectional)",
            AttentionKind::Decoder => "T5 decoder self-attention (causal)",
            AttentionKind::Cross => "T5 cross-attention (answer × input)",
        }
    }
}

/// One kind of attention for every layer and head, `[layer][head][query][key]`
/// flattened; queries and keys are token pieces, at most [`MAX_SIDE`] each.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttentionMap {
    pub kind: AttentionKind,
    pub queries: Vec<String>,
    pub keys: Vec<String>,
    pub layers: usize,
    pub heads: usize,
    pub probs: Vec<f32>,
}

impl AttentionMap {
    /// Probability that query `q` gives key `k` in `layer`'s `head`.
    pub fn at(&self, layer: usize, head: usize, q: usize, k: usize) -> f32 {
        let (nq, nk) = (self.queries.len(), self.keys.len());
        self.probs[((layer * self.heads + head) * nq + q) * nk + k]
    }

    /// `layer`'s map for `head`, or the mean over its heads (`None`), row
    /// by row.
    pub fn grid(&self, layer: usize, head: Option<usize>) -> Vec<f32> {
        let (nq, nk) = (self.queries.len(), self.keys.len());
        let heads: Vec<usize> = match head {
            Some(h) => vec![h],
            None => (0..self.heads).collect(),
        };
        let mut grid = vec![0.0; nq * nk];
        for q in 0..nq {
            for k in 0..nk {
                let sum: f32 = heads.iter().map(|&h| self.at(layer, h, q, k)).sum();
                grid[q * nk + k] = sum / heads.len() as f32;
            }
        }
        grid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_found_by_layer_head_query_and_key() {
        // 2 layers, 2 heads, 2 queries, 3 keys: each value is its own index.
        let map = AttentionMap {
            kind: AttentionKind::Cross,
            queries: vec!["a".into(), "b".into()],
            keys: vec!["x".into(), "y".into(), "z".into()],
            layers: 2,
            heads: 2,
            probs: (0..24).map(|i| i as f32).collect(),
        };
        assert_eq!(map.at(1, 0, 1, 2), 17.0);
        assert_eq!(map.grid(1, Some(1))[5], 23.0);
        // Head mean of layer 0, query 0, key 0: (0 + 6) / 2.
        assert_eq!(map.grid(0, None)[0], 3.0);
    }
}
