//! Exercise 4: what are the limits of a decoder-only model on sequence-to-
//! sequence tasks? The shipped pair's scores on the same data and budget
//! (sentences made from the manifest's numbers), the common wrong answers
//! corrected, and the Compare view live: outputs, speed, attention.

use leptos::prelude::*;
use protocol::manifest::ManifestModel;
use protocol::Arch;

use super::Step;
use crate::compare::scores::load_manifest;
use crate::compare::Compare;

/// Per task, which model scored higher and by how much, from the manifest.
#[component]
fn Measured(models: Vec<ManifestModel>) -> impl IntoView {
    let find = |arch: Arch| models.iter().find(|m| m.arch == arch).cloned();
    let (Some(t5), Some(gpt2)) = (find(Arch::T5), find(Arch::Gpt2)) else {
        return view! { <p class="notice">"The manifest does not list both shipped models."</p> }
            .into_any();
    };
    let rows: Vec<(String, f64, f64)> = t5
        .scores
        .held_out
        .iter()
        .filter_map(|(task, s)| {
            let g = gpt2.scores.held_out.get(task)?;
            Some((task.clone(), s.exact_match, g.exact_match))
        })
        .collect();
    let params = |m: &ManifestModel| m.parameters.without_embeddings as f64 / 1e6;
    view! {
        <ul class="readouts" id="limits-readout">
            {rows.into_iter().map(|(task, t, g)| {
                let name = crate::compare::scores::task_label(&task);
                let text = if t < 0.02 && g < 0.02 {
                    format!("{name}: neither model learned it in this budget ({:.1}% and {:.1}%).", 100.0 * t, 100.0 * g)
                } else if (t - g).abs() < 0.02 {
                    format!("{name}: a tie ({:.1}% vs {:.1}%).", 100.0 * t, 100.0 * g)
                } else if t > g {
                    format!("{name}: T5 ahead, {:.1}% vs GPT-2's {:.1}%.", 100.0 * t, 100.0 * g)
                } else {
                    format!("{name}: GPT-2 ahead, {:.1}% vs T5's {:.1}%.", 100.0 * g, 100.0 * t)
                };
                view! { <li class="task-verdict" data-task=task data-t5=t.to_string() data-gpt2=g.to_string()>{text}</li> }
            }).collect_view()}
        </ul>
        <p class="hint" id="limits-size">
            {format!("Both are tiny: {:.1} M (T5) and {:.1} M (GPT-2) parameters besides the embeddings, \
                trained {:.0} and {:.0} minutes on the project's two-core machine. At this size the pair can show that both \
                designs learn the same seq2seq tasks from the same data, and what each costs per token; it \
                cannot show how the gap changes with scale, long inputs or far more pretraining.",
                params(&t5), params(&gpt2), t5.training_seconds.total / 60.0, gpt2.training_seconds.total / 60.0)}
        </p>
    }
    .into_any()
}

#[component]
pub fn Limits() -> impl IntoView {
    let manifest = load_manifest();
    view! {
        <Step n=4 question="What are the limits of a decoder-only model on sequence-to-sequence tasks?"
            next="run both on a long input, then open \u{201c}Show its attention\u{201d} for each column.">
            <p class="lead">
                "Same data, same tasks, a similar budget: where does each design win, measured on the \
                 shipped pair's held-out examples?"
            </p>
            {move || match manifest.get() {
                Some(Ok(m)) => view! { <Measured models=m.models/> }.into_any(),
                Some(Err(why)) => view! { <p class="notice">{why}</p> }.into_any(),
                None => ().into_any(),
            }}
            <h3>"Three common wrong answers"</h3>
            <ul class="corrections">
                <li>"\u{201c}GPT-2 attends to the input through encoder–decoder attention.\u{201d} It has no \
                     encoder and no cross-attention: input and answer are one sequence in one causal stack, \
                     and the answer attends back to the input through the same self-attention (see its map below)."</li>
                <li>"\u{201c}Only encoder–decoder models are trained with teacher forcing.\u{201d} Both are: \
                     while learning, each predicts the next answer token with the true earlier tokens fed in. \
                     The shipped pair were fine-tuned exactly so."</li>
                <li>"\u{201c}A decoder-only model cannot recover from its own mistakes.\u{201d} Feeding a model \
                     its own predictions while training is scheduled sampling, a training choice open to \
                     both designs, not a limit of either."</li>
            </ul>
            <p class="hint">
                "What does differ: GPT-2 re-reads the input at every layer inside one stack (causal: an input \
                 token never sees the tokens after it), so every answer token pays attention over input and \
                 answer; T5 encodes the input once, in both directions, and its decoder attends to that. Run \
                 both below and compare the answers, the speed and the attention."
            </p>
            <Compare/>
        </Step>
    }
}
