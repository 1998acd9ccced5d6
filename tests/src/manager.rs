//! Helpers for the model-manager and playground tests: the fixtures on
//! disk, catalog loads, the held models, greedy runs.

use std::path::{Path, PathBuf};

use fantoccini::Locator;

use serde_json::Value;

use crate::{repo_root, Page};

pub fn fixture(rel: &str) -> PathBuf {
    repo_root().join("worker/tests/fixtures").join(rel)
}

pub fn expected(dir: &str) -> Value {
    let text = std::fs::read_to_string(fixture(dir).join("expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("JSON")
}

/// A JSON array of ids as the page writes them: space-separated.
pub fn ids(v: &Value) -> String {
    v.as_array()
        .expect("ids")
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Presses a catalog model's Load (or Use) button.
pub async fn load_from_catalog(page: &Page, id: &str) {
    page.click(&format!("#catalog [data-model='{id}'] .load-model"))
        .await;
}

/// Loads catalog model `id` and waits until it is the playground's.
pub async fn use_catalog_model(page: &Page, id: &str) {
    load_from_catalog(page, id).await;
    page.wait_attr("#model-info", "data-name", id, 60).await;
}

/// The cached URLs, as the worker listed them.
pub async fn cached_urls(page: &Page) -> Vec<String> {
    let v = page
        .js(
            "return [...document.querySelectorAll('#model-cache li')].map(l => l.dataset.url);",
            vec![],
        )
        .await;
    serde_json::from_value(v).unwrap()
}

/// The model of `arch` the worker holds, from its list of held models.
pub async fn held(page: &Page, arch: &str) -> Option<String> {
    page.attr(&format!("#model-switch [data-arch='{arch}']"), "data-name")
        .await
}

/// The generated text: the streamed pieces of the last run.
pub async fn output_text(page: &Page) -> String {
    let v = page
        .js(
            "return [...document.querySelectorAll('#output .token')].map(t => t.textContent).join('');",
            vec![],
        )
        .await;
    v.as_str().unwrap().trim().to_string()
}

/// Runs the prompt in the box greedily: the model the worker says ran it,
/// and its answer.
pub async fn run_greedy(page: &Page) -> (String, String) {
    page.set_value("#temperature", "0").await;
    page.generate(60).await;
    let model = page.attr("#output", "data-model").await.unwrap_or_default();
    (model, output_text(page).await)
}

/// Greedy "Hello world" on the held GPT-2 gives the tiny-vocab fixture's ids.
pub async fn greedy_gpt2_matches_the_reference(page: &Page) {
    let expected = expected("gpt2-tiny-vocab");
    let greedy = &expected["greedy"][0];
    let want = ids(&greedy["generated_ids"]);
    page.set_value("#task-select", "").await;
    page.set_value("#prompt", "Hello world").await;
    page.set_value(
        "#max-new-tokens",
        &greedy["generated_ids"]
            .as_array()
            .unwrap()
            .len()
            .to_string(),
    )
    .await;
    page.set_value("#temperature", "0").await;
    let (got, _) = page.generate(60).await;
    assert_eq!(got, want, "the loaded model is not the reference model");
}

/// Waits until start-up holds both shipped lab models (`lab-t5`, `lab-gpt2`).
pub async fn wait_both_lab_models(page: &Page) {
    crate::wait_ready(page).await;
    page.wait_for("both lab models held", 120, || async {
        page.attr("#model-switch [data-arch='gpt2']", "data-name")
            .await
            .filter(|n| n == "lab-gpt2")
    })
    .await;
}

/// Presses Compare's "Run both" and waits until both columns of this new
/// run have finished.
pub async fn run_compare(page: &Page) {
    let before = page.attr(".compare-column", "data-run").await;
    page.click("#compare-run").await;
    page.wait_for("both compare columns to finish", 120, || async {
        let run = page.attr(".compare-column", "data-run").await;
        let done = page
            .js(
                "const c = [...document.querySelectorAll('.compare-column')];
                 return c.length == 2 && c.every(e => e.getAttribute('data-reason'));",
                vec![],
            )
            .await;
        (run != before && done.as_bool() == Some(true)).then_some(())
    })
    .await;
}

/// Chooses `files` in the model drawer's file picker, as a user would.
pub async fn choose_local_files(page: &Page, files: &[&Path]) {
    page.open_drawer_for("#local-files").await;
    let input = page
        .client
        .find(Locator::Css("#local-files"))
        .await
        .expect("the file picker");
    let paths: Vec<&str> = files
        .iter()
        .map(|p| p.to_str().expect("a UTF-8 path"))
        .collect();
    input
        .send_keys(&paths.join("\n"))
        .await
        .expect("files chosen");
}
