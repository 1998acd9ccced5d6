//! Attention maps for the page: one forward pass over what a run read,
//! with the attention probabilities captured, cut to [`MAX_SIDE`] a side.
//!
//! The model reads the input and the answer minus its last token (the last
//! one was chosen, never read). GPT-2: one causal sequence. T5: the encoder
//! over the input; the decoder over [start] + answer, with cross-attention.

use candle_core::{Result, Tensor};
use protocol::attention::{AttentionKind, AttentionMap, MAX_SIDE};

use crate::batch::to_tensor;
use crate::capture::Capture;
use crate::session::{Model, Session};

const CAPTURE: Capture = Capture {
    hidden_states: false,
    attentions: true,
    last_logits_only: true,
};

impl Session {
    /// The maps of `input_ids` then `output_ids`, and a sentence when the
    /// run was longer than the maps show.
    pub fn attention_maps(
        &self,
        input_ids: &[u32],
        output_ids: &[u32],
    ) -> Result<(Vec<AttentionMap>, Option<String>)> {
        if input_ids.is_empty() {
            candle_core::bail!("there is no input to show attention for: run something first")
        }
        let read = &output_ids[..output_ids.len().saturating_sub(1)];
        match &self.model {
            Model::Gpt2(m) => {
                // Causal: the first MAX_SIDE positions alone give exactly
                // their rows of the whole run's map.
                let ids: Vec<u32> = input_ids.iter().chain(read).copied().collect();
                let shown = &ids[..ids.len().min(MAX_SIDE)];
                let out = m.forward(
                    &to_tensor(&[shown.to_vec()])?,
                    None,
                    &mut m.new_cache(),
                    CAPTURE,
                )?;
                let pieces = self.pieces(shown);
                let map = self.map(AttentionKind::Causal, &out.attentions, &pieces, &pieces)?;
                Ok((vec![map], cut_note(ids.len(), "tokens")))
            }
            Model::T5(m) => {
                // The encoder is bidirectional: it reads the whole input and
                // only the drawing is cut.
                let encoded = m.encode(&to_tensor(&[input_ids.to_vec()])?, None, CAPTURE)?;
                let start = m.config.decoder_start();
                let dec: Vec<u32> = std::iter::once(start).chain(read.iter().copied()).collect();
                let dec = &dec[..dec.len().min(MAX_SIDE)];
                let out = m.decode(
                    &to_tensor(&[dec.to_vec()])?,
                    &encoded,
                    &mut m.new_cache(),
                    CAPTURE,
                )?;
                let inputs = self.pieces(&input_ids[..input_ids.len().min(MAX_SIDE)]);
                let answer = self.pieces(dec);
                let maps = vec![
                    self.map(
                        AttentionKind::Encoder,
                        &encoded.attentions,
                        &inputs,
                        &inputs,
                    )?,
                    self.map(AttentionKind::Decoder, &out.attentions, &answer, &answer)?,
                    self.map(
                        AttentionKind::Cross,
                        &out.cross_attentions,
                        &answer,
                        &inputs,
                    )?,
                ];
                let note = cut_note(input_ids.len(), "input tokens")
                    .or_else(|| cut_note(read.len() + 1, "answer positions"));
                Ok((maps, note))
            }
        }
    }

    /// Each id as the text it stands for (" world", "▁Haus" as "Haus").
    fn pieces(&self, ids: &[u32]) -> Vec<String> {
        ids.iter()
            .map(|&id| {
                self.tokenizer
                    .decode(&[id], false)
                    .ok()
                    .filter(|t| !t.is_empty())
                    .or_else(|| self.tokenizer.id_to_token(id))
                    .unwrap_or_else(|| format!("#{id}"))
            })
            .collect()
    }

    /// Per-layer `[1, heads, q, k]` probabilities, cut to the pieces shown.
    fn map(
        &self,
        kind: AttentionKind,
        layers: &[Tensor],
        queries: &[String],
        keys: &[String],
    ) -> Result<AttentionMap> {
        let mut probs = Vec::new();
        let mut heads = 0;
        for layer in layers {
            let layer = layer.get(0)?;
            heads = layer.dim(0)?;
            let cut = layer
                .narrow(1, 0, queries.len())?
                .narrow(2, 0, keys.len())?
                .contiguous()?;
            probs.extend(cut.flatten_all()?.to_vec1::<f32>()?);
        }
        Ok(AttentionMap {
            kind,
            queries: queries.to_vec(),
            keys: keys.to_vec(),
            layers: layers.len(),
            heads,
            probs,
        })
    }
}

fn cut_note(len: usize, what: &str) -> Option<String> {
    (len > MAX_SIDE).then(|| {
        format!("The maps show the first {MAX_SIDE} of {len} {what}, so that the page stays quick.")
    })
}
