//! The worker obeys the page and survives what users do: tokenizer
//! answers that come back out of order, Stop and Esc mid-stream, and bad
//! files or prompts that get a sentence and lose nothing.

use e2e::manager::wait_both_lab_models;
use e2e::{load_tiny_gpt2, wait_ready, Page};
use serde_json::json;

#[tokio::test]
async fn worker_starts_with_simd_and_tokenizes() {
    let page = Page::open().await;
    wait_ready(&page).await;
    assert_eq!(
        page.attr("#worker-status", "data-simd").await.as_deref(),
        Some("true")
    );
    let js_simd = page
        .js("return window.pretrainLabSimd === true;", vec![])
        .await;
    assert_eq!(js_simd, json!(true), "the page's own SIMD check failed");
    // Chromium has relaxed SIMD: the page runs the worker build with it.
    assert_eq!(
        page.attr("#worker-status", "data-relaxed-simd")
            .await
            .as_deref(),
        Some("true")
    );
    assert_eq!(page.requests("worker_relaxed_bg.wasm").len(), 1);
    assert!(page.requests("worker_bg.wasm").is_empty());

    // GPT-2's tokenizer, computed in the worker.
    page.set_value("#tokenize-input", "Hello world").await;
    page.click("#tokenize").await;
    page.wait_for("GPT-2 token ids", 30, || async {
        (page.text("#token-ids").await.as_deref() == Some("15496 995")).then_some(())
    })
    .await;

    // T5's tokenizer: a different file, the same round trip.
    page.set_value("#tokenizer-select", "tokenizers/t5.json")
        .await;
    page.set_value(
        "#tokenize-input",
        "translate English to German: The house is wonderful.",
    )
    .await;
    page.click("#tokenize").await;
    page.wait_for("T5 token ids", 30, || async {
        (page.text("#token-ids").await.as_deref()
            == Some("13959 1566 12 2968 10 37 629 19 1627 5 1"))
        .then_some(())
    })
    .await;
    page.screenshot("foundation-tokenizer").await;

    // Two requests answered out of order: GPT-2's tokenizer served slowly
    // (a new address, so the worker fetches it), then T5's, which the
    // worker already holds. The T5 answer comes first; GPT-2's arrives
    // later and must not replace it.
    page.js(
        "const o = document.createElement('option');
         o.value = 'slow/tokenizers/gpt2.json';
         document.querySelector('#tokenizer-select').append(o);",
        vec![],
    )
    .await;
    page.set_value("#tokenizer-select", "slow/tokenizers/gpt2.json")
        .await;
    page.set_value("#tokenize-input", "Hello world").await;
    page.click("#tokenize").await;
    page.set_value("#tokenizer-select", "tokenizers/t5.json")
        .await;
    page.set_value(
        "#tokenize-input",
        "translate English to German: The house is wonderful.",
    )
    .await;
    page.click("#tokenize").await;
    let t5_ids = "13959 1566 12 2968 10 37 629 19 1627 5 1";
    page.wait_for("the newer request's ids", 30, || async {
        let late = page.attr("#tokenizer-panel", "data-late").await;
        let ids = page.text("#token-ids").await;
        (ids.as_deref() == Some(t5_ids) && late.as_deref() == Some("0")).then_some(())
    })
    .await;
    // The slow answer arrives (the worker did answer it) and is dropped.
    page.wait_attr("#tokenizer-panel", "data-late", "1", 30)
        .await;
    assert_eq!(page.text("#token-ids").await.as_deref(), Some(t5_ids));
    page.close().await;
}

#[tokio::test]
async fn stop_ends_the_generation_in_the_worker() {
    let page = Page::open().await;
    wait_ready(&page).await;
    load_tiny_gpt2(&page).await;
    page.set_value("#prompt", "Hello world").await;
    page.set_value("#max-new-tokens", "120").await;
    // Click Stop as soon as the first token is on screen.
    page.js(
        "const out = () => document.querySelector('#output');
         const obs = new MutationObserver(() => {
           if (document.querySelectorAll('#output .token').length >= 1) {
             obs.disconnect();
             document.querySelector('#stop').click();
           }
         });
         obs.observe(document.body, {childList: true, subtree: true});
         document.querySelector('#generate').click();",
        vec![],
    )
    .await;
    page.wait_attr("#run-stats", "data-reason", "Cancelled", 60)
        .await;
    let computed: usize = page
        .attr("#run-stats", "data-generated")
        .await
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        computed < 120,
        "the worker computed all {computed} tokens despite Stop"
    );
    // No token arrives after Done: the worker has stopped.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let shown = page
        .js(
            "return document.querySelectorAll('#output .token').length;",
            vec![],
        )
        .await;
    assert_eq!(shown, json!(computed));
    page.screenshot("gpt2-stopped").await;

    // Esc stops a run wherever the focus is, not only in the prompt box.
    let before = page.attr("#output", "data-run").await;
    page.js(
        "const obs = new MutationObserver(() => {
           if (document.querySelectorAll('#output .token').length >= 1) {
             obs.disconnect();
             document.activeElement.blur();
             document.body.dispatchEvent(
               new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}));
           }
         });
         obs.observe(document.body, {childList: true, subtree: true});
         document.querySelector('#generate').click();",
        vec![],
    )
    .await;
    page.wait_for("a run stopped by Esc", 60, || async {
        let run = page.attr("#output", "data-run").await;
        let reason = page.attr("#run-stats", "data-reason").await;
        (run != before && reason.as_deref() == Some("Cancelled")).then_some(())
    })
    .await;
    let computed: usize = page
        .attr("#run-stats", "data-generated")
        .await
        .unwrap()
        .parse()
        .unwrap();
    assert!(computed < 120, "Esc did not stop the worker ({computed})");
    page.close().await;
}

#[tokio::test]
async fn bad_model_files_get_a_message_and_lose_nothing() {
    let page = Page::open().await;
    // Typed as soon as the field shows, before the worker, the catalog and
    // the cache listing are known: the page's start-up must not load its
    // default model over it.
    page.wait_for("the weights field", 30, || async {
        page.text("#weights-url").await
    })
    .await;
    page.set_value("#weights-url", "fixtures/no-such-model.gguf")
        .await;
    wait_ready(&page).await;
    page.wait_for("the catalog and the cache listing", 30, || async {
        let catalog = page.text("#catalog li[data-model]").await;
        let cache = page.attr("#model-cache", "data-version").await;
        (catalog.is_some() && cache.is_some_and(|v| v != "0")).then_some(())
    })
    .await;
    assert_eq!(
        page.value("#weights-url").await,
        "fixtures/no-such-model.gguf",
        "start-up replaced the address the user typed"
    );
    page.set_value("#prompt", "my carefully written prompt")
        .await;
    page.click("#load").await;
    let message = page
        .wait_for("a 404 message", 30, || async { page.text("#error").await })
        .await;
    assert!(message.contains("404"), "{message}");

    // A file that is not a model (JSON) is refused with a sentence.
    page.set_value("#weights-url", "fixtures/gpt2-tiny-vocab/config.json")
        .await;
    page.click("#load").await;
    let message = page
        .wait_for("a not-a-model message", 30, || async {
            page.text("#error").await.filter(|m| !m.contains("404"))
        })
        .await;
    assert!(message.contains("not a model file"), "{message}");
    page.screenshot("bad-model-file").await;

    // A tokenizer that does not belong to the model: GPT-2's 50,257 ids
    // for a T5 of 32,128 rows.
    page.set_value("#weights-url", "fixtures/t5-tiny-vocab/model-q8_0.gguf")
        .await;
    page.set_value("#config-url", "fixtures/t5-tiny-vocab/config.json")
        .await;
    page.set_value("#tokenizer-url", "tokenizers/gpt2.json")
        .await;
    page.click("#load").await;
    let message = page
        .wait_for("a mismatched-tokenizer message", 30, || async {
            page.text("#error")
                .await
                .filter(|m| m.contains("tokenizer"))
        })
        .await;
    assert!(message.contains("do not belong together"), "{message}");
    page.set_value("#config-url", "").await;
    page.set_value("#tokenizer-url", "").await;

    // The page still works, and the prompt was kept.
    let prompt = page.value("#prompt").await;
    assert_eq!(prompt, "my carefully written prompt");
    load_tiny_gpt2(&page).await;

    // A prompt longer than the model's context (128 tokens) gets a
    // sentence, and stays as typed.
    let long = "word ".repeat(300);
    page.set_value("#prompt", &long).await;
    page.click("#generate").await;
    let message = page
        .wait_for("an over-long prompt message", 30, || async {
            page.text("#error").await.filter(|m| m.contains("context"))
        })
        .await;
    assert!(message.contains("shorten it"), "{message}");
    assert_eq!(page.value("#prompt").await, long);
    page.close().await;
}

/// Greedy ids of the held model of `arch` for a sentence of everyday words.
async fn lab_ids(page: &Page, arch: &str) -> String {
    let button = format!("#model-switch [data-arch='{arch}']");
    page.wait_attr(&button, "data-name", &format!("lab-{arch}"), 120)
        .await;
    page.click(&button).await;
    page.wait_attr("#model-info", "data-arch", arch, 10).await;
    page.set_value("#task-select", "").await;
    page.set_value("#prompt", "reverse words: the cat sat on the warm mat")
        .await;
    page.set_value("#max-new-tokens", "12").await;
    page.set_value("#temperature", "0").await;
    page.generate(60).await.0
}

/// The SIMD128 build, which browsers without relaxed SIMD run (forced here
/// with `?wasm=simd128`), gives the relaxed build's tokens for both lab
/// models (q8_0 throughout): the two builds' integer dot products are the
/// same sums. (The other browser tests run the relaxed build against the
/// transformers references.)
#[tokio::test]
async fn both_worker_builds_give_the_same_tokens() {
    let page = Page::open().await;
    wait_both_lab_models(&page).await;
    let relaxed = [lab_ids(&page, "t5").await, lab_ids(&page, "gpt2").await];
    let url = format!("{}?wasm=simd128", page.base_url);
    page.client.goto(&url).await.expect("open the page");
    wait_both_lab_models(&page).await;
    assert_eq!(
        page.attr("#worker-status", "data-relaxed-simd")
            .await
            .as_deref(),
        Some("false")
    );
    assert_eq!(page.requests("worker_bg.wasm").len(), 1);
    let plain = [lab_ids(&page, "t5").await, lab_ids(&page, "gpt2").await];
    assert_eq!(plain, relaxed, "the two worker builds disagree");
    page.close().await;
}
