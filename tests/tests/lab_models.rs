//! The pair the page ships (issue #5) in headless Chromium: the page opens
//! with the lab's T5 from its own files, and each lab model holds its
//! quality floors (`static/models/manifest.json`, written by `train ship`)
//! on the fixed held-out sample, run through the task switcher as a user
//! would; an untrained model (the random-weight test model of the same
//! architecture) fails the same floors in the same test.

use e2e::{repo_root, Page};
use protocol::manifest::{Manifest, Measured, Tally};
use serde_json::{json, Value};

fn manifest() -> Manifest {
    let path = repo_root().join("static/models/manifest.json");
    let text = std::fs::read_to_string(&path).expect("static/models/manifest.json");
    serde_json::from_str(&text).expect("the manifest reads")
}

struct Example {
    task: String,
    input: String,
    target: String,
}

fn sample(manifest: &Manifest) -> Vec<Example> {
    let path = repo_root()
        .join("static/models")
        .join(&manifest.sample.file);
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let s = |k: &str| v[k].as_str().unwrap().to_string();
            Example {
                task: s("task"),
                input: s("input"),
                target: s("target"),
            }
        })
        .collect()
}

async fn load(page: &Page, id: &str) {
    page.click(&format!("#catalog [data-model='{id}'] .load-model"))
        .await;
    page.wait_attr("#model-info", "data-name", id, 60).await;
}

/// The generated text: the streamed pieces of the last run.
async fn output_text(page: &Page) -> String {
    let v = page
        .js(
            "return [...document.querySelectorAll('#output .token')].map(t => t.textContent).join('');",
            vec![],
        )
        .await;
    v.as_str().unwrap().trim().to_string()
}

/// Exact match and word accuracy per task of the loaded model on the
/// sample, each example typed as input and put in its task's form by the
/// task switcher.
async fn scores(page: &Page, sample: &[Example]) -> Measured {
    let mut tally = Tally::default();
    for ex in sample {
        let task = format!("lab_{}", ex.task);
        page.set_value("#task-select", "").await;
        page.set_value("#prompt", &ex.input).await;
        page.set_value("#task-select", &task).await;
        page.set_value("#temperature", "0").await;
        let (_, settings) = page.generate(60).await;
        assert_eq!(settings["temperature"], json!(0.0), "greedy, as measured");
        tally.add(&ex.task, &output_text(page).await, &ex.target);
    }
    tally.measured()
}

/// The lab model holds its floors in the browser; the untrained model of the
/// same architecture, loaded next, fails them.
async fn floors_hold_and_untrained_fails(page: &Page, lab: &str, untrained: &str) {
    let manifest = manifest();
    let sample = sample(&manifest);
    let m = &manifest
        .model(lab)
        .unwrap_or_else(|| panic!("{lab} is not in the manifest"))
        .sample;
    let trained = scores(page, &sample).await;
    eprintln!("{lab} in the browser: {trained:?}");
    page.screenshot(&format!("{lab}-task")).await;
    let below = m.below(&trained);
    assert!(
        below.is_empty(),
        "{lab} in the browser is below its floors on {below:?}"
    );

    load(page, untrained).await;
    let random = scores(page, &sample).await;
    eprintln!("{untrained} (untrained) in the browser: {random:?}");
    let floors = m.floors();
    assert!(!floors.is_empty(), "{lab} has no floor to hold");
    assert_eq!(
        m.below(&random),
        floors,
        "an untrained model passes some of {lab}'s floors: {random:?}"
    );
    std::fs::create_dir_all(repo_root().join("test-artifacts")).unwrap();
    std::fs::write(
        repo_root().join(format!("test-artifacts/{lab}-browser-scores.json")),
        json!({
            "trained": { "exact_match": trained.exact_match, "word_accuracy": trained.word_accuracy },
            "untrained": { "exact_match": random.exact_match, "word_accuracy": random.word_accuracy },
        })
        .to_string(),
    )
    .unwrap();
}

#[tokio::test]
async fn the_page_opens_with_the_lab_t5_and_it_holds_its_floors() {
    let page = Page::open().await;
    page.wait_attr("#worker-status", "data-ready", "true", 60)
        .await;
    // Nothing saved: the page loads the shipped T5 by itself, from its own files.
    page.wait_attr("#model-info", "data-name", "lab-t5", 60)
        .await;
    assert_eq!(
        page.attr("#model-info", "data-arch").await.as_deref(),
        Some("t5")
    );
    assert_eq!(page.value("#weights-url").await, "models/lab-t5/model.gguf");
    assert_eq!(page.requests("models/lab-t5/model.gguf").len(), 1);
    // Its task prefixes come first in the task list.
    let first = page
        .js(
            "return document.querySelector('#task-select option:not([value=\"\"])').value;",
            vec![],
        )
        .await;
    assert_eq!(first, json!("lab_reverse"));
    floors_hold_and_untrained_fails(&page, "lab-t5", "tiny-t5").await;
    page.close().await;
}

#[tokio::test]
async fn the_lab_gpt2_continues_text_and_holds_its_floors() {
    let page = Page::open().await;
    page.wait_attr("#worker-status", "data-ready", "true", 60)
        .await;
    load(&page, "lab-gpt2").await;
    // Plain continuation: the lab GPT-2 writes on from a prompt.
    page.set_value("#task-select", "continue").await;
    page.set_value("#prompt", "The Congress of the United States")
        .await;
    page.set_value("#max-new-tokens", "20").await;
    let (ids, settings) = page.generate(60).await;
    assert_eq!(settings["max_new_tokens"], json!(20));
    assert!(!ids.is_empty() && !output_text(&page).await.is_empty());
    page.screenshot("lab-gpt2-continue").await;
    floors_hold_and_untrained_fails(&page, "lab-gpt2", "tiny-gpt2").await;
    page.close().await;
}
