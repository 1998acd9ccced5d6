//! The built page in headless Chromium: streaming from GPT-2 and T5 files,
//! tasks, sampling controls, label probabilities and token details. Saved
//! set-up, share links and projector mode are in `saved_setup.rs`; the
//! worker's obedience and bad input in `control.rs`.

use e2e::{load_tiny_gpt2, repo_root, wait_ready, Page};
use serde_json::{json, Value};

fn expected(fixture: &str) -> Value {
    let path = repo_root()
        .join("worker/tests/fixtures")
        .join(fixture)
        .join("expected.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("fixture {} is missing: {e}", path.display()));
    serde_json::from_str(&text).expect("expected.json is JSON")
}

#[tokio::test]
async fn gpt2_streams_the_reference_greedy_continuation() {
    let expected = expected("gpt2-tiny-vocab");
    let greedy = &expected["greedy"][0];
    let want_prompt: Vec<String> = greedy["input_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect();
    let want_ids: Vec<String> = greedy["generated_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect();

    let page = Page::open().await;
    wait_ready(&page).await;
    load_tiny_gpt2(&page).await;
    let params: u64 = page
        .attr("#model-info", "data-params")
        .await
        .unwrap()
        .parse()
        .unwrap();
    assert!(params > 1_600_000, "parameter count {params}");

    page.set_value("#prompt", "Hello world").await;
    page.set_value("#max-new-tokens", &want_ids.len().to_string())
        .await;
    page.set_value("#temperature", "0").await;
    page.click("#generate").await;
    page.wait_attr("#run-stats", "data-reason", "MaxTokens", 60)
        .await;

    // What the worker computed (its ids), not only what the page shows.
    assert_eq!(
        page.attr("#output", "data-prompt-ids").await.unwrap(),
        want_prompt.join(" ")
    );
    assert_eq!(
        page.attr("#output", "data-ids").await.unwrap(),
        want_ids.join(" ")
    );
    assert_eq!(
        page.attr("#run-stats", "data-generated").await.unwrap(),
        want_ids.len().to_string()
    );
    let shown = page
        .js(
            "return document.querySelectorAll('#output .token').length;",
            vec![],
        )
        .await;
    assert_eq!(shown, json!(want_ids.len()));
    page.screenshot("gpt2-greedy").await;
    page.close().await;
}

#[tokio::test]
async fn switching_tasks_rewrites_the_prompt_and_reaches_the_worker() {
    let page = Page::open().await;
    wait_ready(&page).await;
    load_tiny_gpt2(&page).await;
    page.set_value("#prompt", "Hello world").await;
    page.set_value("#task-select", "tldr").await;
    assert_eq!(page.value("#prompt").await, "Hello world\n\nTL;DR:");
    page.set_value("#task-select", "qa").await;
    assert_eq!(page.value("#prompt").await, "Q: Hello world\nA:");
    let (_, settings) = page.generate(60).await;
    // The task's defaults went to the worker, which echoed them back.
    assert_eq!(settings["max_new_tokens"], json!(30));
    assert_eq!(settings["stop"], json!(["\n"]));
    let prompt_ids = page.attr("#output", "data-prompt-ids").await.unwrap();
    assert!(prompt_ids.starts_with("48 25 18435 995"), "{prompt_ids}");
    page.screenshot("gpt2-task-qa").await;
    page.close().await;
}

#[tokio::test]
async fn sampling_controls_change_what_the_worker_does() {
    let page = Page::open().await;
    wait_ready(&page).await;
    load_tiny_gpt2(&page).await;
    page.set_value("#prompt", "Hello world").await;
    page.set_value("#max-new-tokens", "12").await;
    let (greedy, settings) = page.generate(60).await;
    assert_eq!(settings["temperature"], json!(0.0));

    page.set_value("#temperature", "1.5").await;
    page.set_value("#top-k", "20").await;
    page.set_value("#top-p", "0.9").await;
    page.set_value("#repeat-penalty", "1.3").await;
    page.set_value("#seed", "7").await;
    let (sampled, settings) = page.generate(60).await;
    assert_eq!(settings["temperature"], json!(1.5));
    assert_eq!(settings["top_k"], json!(20));
    assert_eq!(settings["top_p"], json!(0.9));
    assert!((settings["repeat_penalty"].as_f64().unwrap() - 1.3).abs() < 1e-6);
    assert_eq!(settings["seed"], json!(7));
    assert_eq!(settings["max_new_tokens"], json!(12));
    assert_ne!(
        sampled, greedy,
        "sampling at temperature 1.5 kept the greedy tokens"
    );
    let (again, _) = page.generate(60).await;
    assert_eq!(again, sampled, "the same seed must give the same tokens");
    page.set_value("#seed", "8").await;
    let (other, settings) = page.generate(60).await;
    assert_eq!(settings["seed"], json!(8));
    assert_ne!(other, sampled, "another seed should sample other tokens");
    page.close().await;
}

#[tokio::test]
async fn label_word_probabilities_come_from_the_worker() {
    let page = Page::open().await;
    wait_ready(&page).await;
    load_tiny_gpt2(&page).await;
    page.set_value("#prompt", "A warm, funny film.").await;
    page.set_value("#task-select", "sentiment").await;
    page.click("#classify").await;
    page.wait_for("label probabilities", 30, || async {
        page.attr("#label-probs .bar-row", "data-share").await
    })
    .await;
    let rows = page
        .js(
            "return [...document.querySelectorAll('#label-probs .bar-row')].map(r =>
               [r.dataset.label, Number(r.dataset.token), Number(r.dataset.share)]);",
            vec![],
        )
        .await;
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    // GPT-2's ids for " positive" and " negative": the worker tokenized the labels.
    assert_eq!(rows[0][0], json!(" positive"));
    assert_eq!(rows[0][1], json!(3967));
    assert_eq!(rows[1][1], json!(4633));
    let total: f64 = rows.iter().map(|r| r[2].as_f64().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-4, "shares sum to {total}");
    page.screenshot("gpt2-label-probabilities").await;
    page.close().await;
}

#[tokio::test]
async fn t5_switches_prefixes_and_streams_the_reference_output() {
    let expected = expected("t5-tiny-vocab");
    let page = Page::open().await;
    wait_ready(&page).await;
    page.click("#catalog [data-model='tiny-t5'] .load-model")
        .await;
    page.wait_attr("#model-info", "data-name", "tiny-t5", 60)
        .await;
    assert_eq!(
        page.value("#config-url").await,
        "fixtures/t5-tiny-vocab/config.json"
    );

    for (task, greedy) in [
        ("translate_de", &expected["greedy"][0]),
        ("summarize", &expected["greedy"][1]),
    ] {
        let text = greedy["text"].as_str().unwrap();
        let (prefix, input) = text.split_once(": ").unwrap();
        page.set_value("#prompt", input).await;
        page.set_value("#task-select", task).await;
        // The prefix switch rewrote the prompt into the task's form.
        assert_eq!(page.value("#prompt").await, format!("{prefix}: {input}"));
        let want: Vec<String> = greedy["generated_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.to_string())
            .collect();
        page.set_value("#max-new-tokens", &want.len().to_string())
            .await;
        let (ids, settings) = page.generate(60).await;
        assert_eq!(settings["max_new_tokens"], json!(want.len()));
        let prompt_ids: Vec<String> = greedy["input_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.to_string())
            .collect();
        assert_eq!(
            page.attr("#output", "data-prompt-ids").await.unwrap(),
            prompt_ids.join(" ")
        );
        assert_eq!(ids, want.join(" "), "{task}");
        page.screenshot(&format!("t5-{task}")).await;
    }

    // T5's own text-label answer: the label words' first-step probabilities.
    let first = &expected["first_step"];
    let (prefix, input) = first["text"].as_str().unwrap().split_once(": ").unwrap();
    page.set_value("#task-select", "").await;
    page.set_value("#prompt", input).await;
    page.set_value("#task-select", "sst2").await;
    assert_eq!(page.value("#prompt").await, format!("{prefix}: {input}"));
    page.click("#classify").await;
    page.wait_for("label probabilities", 30, || async {
        page.attr("#label-probs .bar-row", "data-share").await
    })
    .await;
    let rows = page
        .js(
            "return [...document.querySelectorAll('#label-probs .bar-row')].map(r =>
               [Number(r.dataset.token), Number(r.dataset.share)]);",
            vec![],
        )
        .await;
    for (i, row) in rows.as_array().unwrap().iter().enumerate() {
        assert_eq!(row[0], first["label_ids"][i]);
        let want = first["probs_over_labels"][i].as_f64().unwrap();
        let got = row[1].as_f64().unwrap();
        assert!(
            (got - want).abs() < 0.01,
            "label {i}: share {got}, reference {want}"
        );
    }
    page.screenshot("t5-sst2-labels").await;

    // A pair task takes two texts: the user's own text stays the first, the
    // second has its own input, and the worker gets both joined by the
    // task's separator; an empty prompt gets both examples.
    page.set_value("#task-select", "").await;
    page.set_value("#prompt", "A dog runs.").await;
    page.set_value("#task-select", "mnli").await;
    assert_eq!(page.value("#prompt").await, "mnli hypothesis: A dog runs.");
    assert_eq!(page.value("#prompt-second").await, "");
    assert!(
        page.attr("#generate", "disabled").await.is_some(),
        "run without a premise"
    );
    page.set_value("#prompt-second", "The dog is running in the park.")
        .await;
    page.set_value("#max-new-tokens", "2").await;
    page.generate(60).await;
    let sent = page.attr("#output", "data-prompt-ids").await.unwrap();
    page.set_value("#tokenizer-select", "tokenizers/t5.json")
        .await;
    page.set_value(
        "#tokenize-input",
        "mnli hypothesis: A dog runs. premise: The dog is running in the park.",
    )
    .await;
    page.click("#tokenize").await;
    let ids = page
        .wait_for("the pair's token ids", 30, || async {
            page.text("#token-ids")
                .await
                .filter(|t| t.split(' ').count() > 12)
        })
        .await;
    assert_eq!(sent, ids, "the worker got the pair joined by its separator");
    page.set_value("#task-select", "").await;
    page.set_value("#prompt", "").await;
    page.set_value("#task-select", "mnli").await;
    assert_eq!(
        page.value("#prompt").await,
        "mnli hypothesis: The cat is asleep."
    );
    assert_eq!(
        page.value("#prompt-second").await,
        "The cat is sleeping on the sofa."
    );
    page.screenshot("t5-pair-task").await;
    page.close().await;
}

#[tokio::test]
async fn clicking_a_token_shows_its_probability_and_alternatives() {
    let page = Page::open().await;
    wait_ready(&page).await;
    load_tiny_gpt2(&page).await;
    page.set_value("#prompt", "Hello world").await;
    page.set_value("#temperature", "0").await;
    page.set_value("#max-new-tokens", "5").await;
    page.generate(60).await;
    page.click("#output .token:nth-child(2)").await;
    page.wait_for("the token detail", 10, || async {
        page.attr("#token-detail", "data-step").await
    })
    .await;
    let token = page
        .js(
            "const t = document.querySelectorAll('#output .token')[1];
             return [t.dataset.id, Number(t.dataset.prob)];",
            vec![],
        )
        .await;
    assert_eq!(
        page.attr("#token-detail", "data-step").await.as_deref(),
        Some("1")
    );
    assert_eq!(
        page.attr("#token-detail", "data-id").await,
        token[0].as_str().map(String::from)
    );
    let bars = page
        .js(
            "return [...document.querySelectorAll('#token-detail .bar-row')].map(r =>
               [r.dataset.id, Number(r.dataset.prob)]);",
            vec![],
        )
        .await;
    let bars = bars.as_array().unwrap();
    assert_eq!(bars.len(), 5, "top-5 alternatives from the worker");
    // Greedy: the chosen token is the most likely one, with its probability.
    assert_eq!(bars[0][0], token[0]);
    assert!((bars[0][1].as_f64().unwrap() - token[1].as_f64().unwrap()).abs() < 1e-6);
    let probs: Vec<f64> = bars.iter().map(|b| b[1].as_f64().unwrap()).collect();
    assert!(probs.windows(2).all(|w| w[0] >= w[1]), "sorted: {probs:?}");
    page.screenshot("token-detail").await;
    page.close().await;
}
