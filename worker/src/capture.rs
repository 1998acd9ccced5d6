//! What a forward pass should return besides the logits.

#[derive(Clone, Copy, Debug, Default)]
pub struct Capture {
    /// Per-layer hidden states, Hugging Face's convention: the embeddings,
    /// then each block's output, the last one after the final norm.
    pub hidden_states: bool,
    /// Per-layer attention probabilities `[batch, heads, query, key]`.
    pub attentions: bool,
    /// Logits for the last position only (generation) instead of every one.
    pub last_logits_only: bool,
}
