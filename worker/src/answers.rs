//! The requests answered at once from a held model, with no download and no
//! loop: the Web Worker and the fuzz test take this one path.

use candle_core::Result;
use protocol::{Event, Request};

use crate::session::Session;

/// Longest mixed batch a request may ask for, in new tokens per row.
pub const MAX_BATCH_TOKENS: usize = 64;

/// The answer to `request` from `session`, or `None` for a request that is
/// not answered at once (loads, generations, features, trainings, sweeps).
pub fn answer(session: &Session, request: &Request) -> Option<Result<Event>> {
    Some(match request {
        Request::Classify {
            id, prompt, labels, ..
        } => session
            .label_probabilities(prompt, labels)
            .map(|labels| Event::LabelProbabilities { id: *id, labels }),
        Request::Attention {
            id,
            input_ids,
            output_ids,
            ..
        } => session
            .attention_maps(input_ids, output_ids)
            .map(|(maps, note)| Event::Attention {
                id: *id,
                maps,
                note,
            }),
        Request::Batch {
            id,
            prompts,
            max_new_tokens,
            ..
        } => session
            .mixed_batch(prompts, (*max_new_tokens).min(MAX_BATCH_TOKENS))
            .map(|result| Event::Batch { id: *id, result }),
        Request::Predict { id, head, text, .. } => crate::classify::predict(session, head, text)
            .map(|probabilities| Event::Prediction {
                id: *id,
                probabilities,
            }),
        Request::LabelAnswers {
            id,
            prompts,
            labels,
            ..
        } => crate::classify::label_answers(session, prompts, labels)
            .map(|shares| Event::LabelAnswers { id: *id, shares }),
        _ => return None,
    })
}
