//! Exercise 1: can T5 and GPT-2 be fine-tuned on a minibatch that mixes
//! tasks? The mixed batch runs live through both models (padding, masks,
//! each row against its run alone), beside the scores of the shipped pair,
//! which were fine-tuned exactly that way.

use leptos::prelude::*;

use super::Step;
use crate::batch::state::BatchState;
use crate::batch::MixedBatch;
use crate::compare::scores::Scores;

#[component]
pub fn MixedTasks() -> impl IntoView {
    let batch = expect_context::<BatchState>();
    // What the batch showed, in one sentence the numbers back.
    let verdict = move || {
        let runs = batch.runs.get();
        let done: Vec<_> = runs
            .iter()
            .filter_map(|r| r.result.as_ref().map(|x| (r, x)))
            .collect();
        if done.is_empty() || batch.running() {
            return None;
        }
        let rows: usize = done.iter().map(|(_, r)| r.rows.len()).sum();
        let same = done
            .iter()
            .flat_map(|(_, r)| &r.rows)
            .filter(|row| row.ids == row.alone_ids)
            .count();
        let models: Vec<String> = done
            .iter()
            .map(|(m, _)| m.model.info.name.clone())
            .collect();
        let text = if same == rows {
            format!(
                "Measured now: all {rows} rows of the batch ({}) answered exactly as each row does alone. \
                 The padding and the masks keep the tasks apart.",
                models.join(" and ")
            )
        } else {
            format!(
                "Measured now: {same} of {rows} rows answered as they do alone; the others differ \
                 (look at the largest logit difference)."
            )
        };
        Some(view! {
            <p class="verdict" id="mixed-verdict" data-rows=rows.to_string() data-same=same.to_string()>{text}</p>
        })
    };
    view! {
        <Step n=1 question="Can T5 and GPT-2 be fine-tuned on a minibatch that mixes tasks?"
            next="add a row with another task, or the same text under two tasks, and run the batch again.">
            <p class="lead">
                "Yes. Each row says which task it is: T5 by its prefix (\u{201c}reverse words:\u{201d}), \
                 GPT-2 by its prompt format (\u{201c}reverse words: … =>\u{201d}). Rows of different \
                 tasks are padded to one length and masked, so one forward pass serves them all. For \
                 GPT-2 the loss covers only the answer's tokens (and its end-of-text), not the prompt; \
                 T5's loss is on its decoder's output, the answer."
            </p>
            <p class="hint">"Run the batch: every row's answer should equal the same row run alone."</p>
            {verdict}
            <MixedBatch/>
            <p class="hint">
                "The shipped pair were fine-tuned exactly so: minibatches of 32 examples drawn from all \
                 five tasks at once (the recipe, with every option, is in models/manifest.json). Their \
                 held-out scores per task:"
            </p>
            <Scores/>
        </Step>
    }
}
