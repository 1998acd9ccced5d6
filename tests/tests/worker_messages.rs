//! The worker as the page talks to it, in headless Chromium: two long
//! requests take turns instead of interleaving (the second is told it
//! waits, and runs after the first is done), and hundreds of malformed
//! messages in the shapes `serde-wasm-bindgen` decodes each get an error
//! event while the worker stays alive and answers.

use e2e::manager::wait_both_lab_models;
use e2e::Page;
use serde_json::Value;

/// Captures the page's worker (the next message the page posts names it)
/// and records every event it sends from then on.
const CAPTURE: &str = "
    window.labEvents = [];
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (message) {
      Worker.prototype.postMessage = post;
      window.labWorker = this;
      this.addEventListener('message', e => window.labEvents.push(e.data));
      return post.call(this, message);
    };";

async fn events(page: &Page) -> Vec<Value> {
    let v = page.js("return window.labEvents;", vec![]).await;
    v.as_array().cloned().unwrap_or_default()
}

/// The variant name and request id of an event as the worker encodes it.
fn kind(event: &Value) -> (String, Option<u64>) {
    let (name, body) = event
        .as_object()
        .and_then(|o| o.iter().next())
        .map(|(k, v)| (k.clone(), v))
        .unwrap_or_default();
    (name, body.get("id").and_then(Value::as_u64))
}

#[tokio::test]
async fn long_requests_take_turns_and_malformed_messages_get_errors() {
    let page = Page::open().await;
    wait_both_lab_models(&page).await;
    page.js(CAPTURE, vec![]).await;
    // Any message from the page now hands the worker to the test.
    page.click("#generate").await;
    page.wait_for("the captured worker", 10, || async {
        let v = page.js("return !!window.labWorker;", vec![]).await;
        (v == true).then_some(())
    })
    .await;
    let load = page
        .attr("#model-switch [data-arch='gpt2']", "data-load")
        .await
        .expect("the GPT-2's load id");
    let load: u64 = load.parse().unwrap();

    // Two generations posted back to back.
    page.js(
        "const [load] = arguments;
         const settings = { max_new_tokens: 12, temperature: 0.0, top_k: 0, top_p: 1.0,
           repeat_penalty: 1.0, seed: 1, stop: [], top_alternatives: 0 };
         for (const id of [900001, 900002]) {
           window.labWorker.postMessage({ Generate: { id, model: { arch: 'gpt2', load },
             prompt: 'the people of the united states', settings } });
         }",
        vec![load.into()],
    )
    .await;
    page.wait_for("both generations done", 60, || async {
        let done = events(&page)
            .await
            .iter()
            .filter(|e| kind(e) == ("Done".into(), Some(900002)))
            .count();
        (done == 1).then_some(())
    })
    .await;
    let order: Vec<(String, Option<u64>)> = events(&page)
        .await
        .iter()
        .map(kind)
        .filter(|(_, id)| matches!(id, Some(900001 | 900002)))
        .collect();
    let first_done = order
        .iter()
        .position(|e| *e == ("Done".into(), Some(900001)))
        .expect("the first generation ended");
    let second_start = order
        .iter()
        .position(|e| *e == ("Started".into(), Some(900002)))
        .expect("the second generation started");
    assert!(
        first_done < second_start,
        "the generations interleaved: {order:?}"
    );
    assert!(
        order.contains(&("Queued".into(), Some(900002))),
        "{order:?}"
    );
    let queued = events(&page)
        .await
        .into_iter()
        .find(|e| kind(e) == ("Queued".into(), Some(900002)))
        .unwrap();
    assert_eq!(queued["Queued"]["behind"], 900001);

    // Malformed messages: seeded mutations of valid requests, posted as
    // JavaScript values. Each gets an Error event; none kills the worker.
    let sent = page
        .js(
            "const [load] = arguments;
             let seed = 7;
             const rand = n => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
             const edges = [null, undefined, -1, 0, 1e308, -1e308, NaN, 2 ** 53, '', 'x'.repeat(5000),
               [], {}, true, [1e12], { arch: 'bert', load: 1 }, '😀'];
             const model = { arch: 'gpt2', load };
             const seeds = [
               { Generate: { id: 1, model, prompt: 'a b', settings: { max_new_tokens: 4, temperature: 0,
                 top_k: 0, top_p: 1, repeat_penalty: 1, seed: 1, stop: [], top_alternatives: 0 } } },
               { Attention: { id: 2, model, input_ids: [464, 3797], output_ids: [319] } },
               { Batch: { id: 3, model, prompts: ['a b', 'c d'], max_new_tokens: 2 } },
               { Classify: { id: 4, model, prompt: 'spam or ham: hi', labels: ['spam', 'ham'] } },
               { Tokenize: { id: 5, tokenizer_url: 'tokenizers/gpt2.json', text: 'hi' } },
               { Load: { id: 6, model: { name: 'x', weights_url: 'nowhere.gguf', config_url: null,
                 tokenizer_url: null } } },
             ];
             const mutate = v => {
               if (v === null || typeof v !== 'object') return edges[rand(edges.length)];
               const keys = Object.keys(v);
               if (keys.length === 0 || rand(4) === 0) return edges[rand(edges.length)];
               const k = keys[rand(keys.length)];
               const copy = Array.isArray(v) ? [...v] : { ...v };
               copy[k] = mutate(v[k]);
               return copy;
             };
             let sent = 0;
             for (let i = 0; i < 300; i++) {
               const base = seeds[rand(seeds.length)];
               let message = mutate(base);
               // A Load whose address is bad stays bad; a valid-looking
               // mutation may still be a real request, answered normally.
               window.labWorker.postMessage(message);
               sent++;
             }
             window.labWorker.postMessage('Hello');
             return sent;",
            vec![load.into()],
        )
        .await;
    assert_eq!(sent, 300);
    page.wait_for(
        "the worker's answer after the malformed messages",
        120,
        || async {
            let ready = events(&page)
                .await
                .iter()
                .filter(|e| kind(e).0 == "Ready")
                .count();
            (ready >= 1).then_some(())
        },
    )
    .await;
    let all = events(&page).await;
    let errors = all.iter().filter(|e| kind(e).0 == "Error").count();
    eprintln!("{errors} error events for 300 malformed messages");
    assert!(
        errors >= 150,
        "only {errors} errors for 300 malformed messages"
    );
    // The worker never died, and the page still generates.
    assert_eq!(
        page.attr("#worker-status", "data-ready").await.as_deref(),
        Some("true")
    );
    assert!(
        !page
            .text("#error")
            .await
            .unwrap_or_default()
            .contains("crashed"),
        "the worker crashed"
    );
    page.click("#error .dismiss").await;
    let (ids, _) = page.generate(60).await;
    assert!(!ids.trim().is_empty());
    page.close().await;
}
