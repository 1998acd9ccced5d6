use leptos::prelude::*;
use protocol::Request;

use crate::lab::Lab;
use crate::worker_link;

/// Text in, token ids out: the smallest round trip through the worker.
#[component]
pub fn TokenizerPanel() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let (text, set_text) = signal("Hello world".to_string());
    let (which, set_which) = signal("tokenizers/gpt2.json".to_string());
    let tokenize = move |_| {
        worker_link::send(&Request::Tokenize {
            id: worker_link::next_id(),
            tokenizer_url: which.get_untracked(),
            text: text.get_untracked(),
        });
    };
    view! {
        <section class="panel" id="tokenizer-panel">
            <h2>"Tokenizer"</h2>
            <div class="row">
                <select id="tokenizer-select" on:change=move |ev| set_which.set(event_target_value(&ev))>
                    <option value="tokenizers/gpt2.json">"GPT-2 (byte-level BPE, 50,257)"</option>
                    <option value="tokenizers/t5.json">"T5 (SentencePiece unigram, 32,100)"</option>
                </select>
                <input id="tokenize-input" type="text" prop:value=text
                    on:input=move |ev| set_text.set(event_target_value(&ev))/>
                <button id="tokenize" on:click=tokenize>"Tokenize"</button>
            </div>
            {move || lab.tokenized.get().map(|(ids, tokens)| {
                let ids_text = ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(" ");
                view! {
                    <p id="token-ids" class="mono">{ids_text}</p>
                    <p class="chips">
                        {tokens.into_iter().zip(ids).map(|(t, id)| view! {
                            <span class="chip" title=format!("id {id}")>{t}</span>
                        }).collect_view()}
                    </p>
                }
            })}
        </section>
    }
}
