use leptos::prelude::*;
use protocol::{Event, Request, RequestId};

use crate::worker_link::{self, Link};

/// One tokenization as the worker answered it.
#[derive(Clone)]
pub struct Tokenized {
    pub request: RequestId,
    pub ids: Vec<u32>,
    pub pieces: Vec<String>,
}

/// The tokenizer panel's round trips. Only the answer to the newest request
/// is shown: tokenizers load at different speeds, so answers can come back
/// out of order, and an older one arriving late is dropped and counted.
#[derive(Clone, Copy)]
pub struct Tokens {
    link: Link,
    pending: StoredValue<Option<RequestId>>,
    /// The request shown, with its ids and token pieces.
    pub shown: RwSignal<Option<Tokenized>>,
    /// Answers that came after a newer request and were not shown.
    pub late: RwSignal<u32>,
}

impl Tokens {
    pub fn new(link: Link) -> Self {
        Self {
            link,
            pending: StoredValue::new(None),
            shown: RwSignal::new(None),
            late: RwSignal::new(0),
        }
    }

    pub fn tokenize(self, tokenizer_url: String, text: String) {
        let id = worker_link::next_id();
        self.pending.set_value(Some(id));
        self.link.send(&Request::Tokenize {
            id,
            tokenizer_url,
            text,
        });
    }

    pub fn on_event(self, event: &Event) {
        if let Event::Tokenized { id, ids, tokens } = event {
            if self.pending.get_value() == Some(*id) {
                self.shown.set(Some(Tokenized {
                    request: *id,
                    ids: ids.clone(),
                    pieces: tokens.clone(),
                }));
            } else {
                self.late.update(|n| *n += 1);
            }
        }
    }
}

/// Text in, token ids out: the smallest round trip through the worker.
#[component]
pub fn TokenizerPanel() -> impl IntoView {
    let tokens = expect_context::<Tokens>();
    let (text, set_text) = signal("Hello world".to_string());
    let (which, set_which) = signal("tokenizers/gpt2.json".to_string());
    view! {
        <section class="panel" id="tokenizer-panel" data-late=move || tokens.late.get().to_string()>
            <h2>"Tokenizer"</h2>
            <div class="row">
                <select id="tokenizer-select" on:change=move |ev| set_which.set(event_target_value(&ev))>
                    <option value="tokenizers/gpt2.json">"GPT-2 (byte-level BPE, 50,257)"</option>
                    <option value="tokenizers/t5.json">"T5 (SentencePiece unigram, 32,100)"</option>
                </select>
                <input id="tokenize-input" type="text" prop:value=text
                    on:input=move |ev| set_text.set(event_target_value(&ev))/>
                <button id="tokenize"
                    on:click=move |_| tokens.tokenize(which.get_untracked(), text.get_untracked())>
                    "Tokenize"
                </button>
            </div>
            {move || tokens.shown.get().map(|Tokenized { request, ids, pieces }| {
                let ids_text = ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(" ");
                view! {
                    <p id="token-ids" class="mono" data-request=request.to_string()>{ids_text}</p>
                    <p class="chips">
                        {pieces.into_iter().zip(ids).map(|(t, id)| view! {
                            <span class="chip" title=format!("id {id}")>{t}</span>
                        }).collect_view()}
                    </p>
                }
            })}
        </section>
    }
}
