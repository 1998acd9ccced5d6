//! The Compare view in headless Chromium, on the pair the page ships: the
//! tabs live in the URL and work by keyboard; one input runs through both
//! held models, each column's ids equal that model's greedy ids in the
//! playground for the same task; the figures are the worker's measurements;
//! a share link opens the Compare view with its input.

use e2e::manager::run_compare;
use e2e::{repo_root, wait_ready, Page};
use protocol::tasks::Tasks;
use protocol::Arch;
use serde_json::json;

fn tasks() -> Tasks {
    let path = repo_root().join("static/tasks.json");
    Tasks::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

async fn url(page: &Page) -> String {
    page.client.current_url().await.unwrap().to_string()
}

/// A figure of the table: (row key, model family) -> its value.
async fn figure(page: &Page, key: &str, arch: &str) -> Option<f64> {
    page.attr(
        &format!("#compare-figures tr[data-key='{key}'] td[data-arch='{arch}']"),
        "data-value",
    )
    .await
    .and_then(|v| v.parse().ok())
}

/// Every figure of the table, by row key and model family.
async fn figures(page: &Page) -> serde_json::Value {
    page.js(
        "const out = {};
         for (const row of document.querySelectorAll('#compare-figures tr[data-key]')) {
           for (const cell of row.querySelectorAll('td[data-value]')) {
             out[cell.dataset.arch + ' ' + row.dataset.key] = +cell.dataset.value;
           }
         }
         return out;",
        vec![],
    )
    .await
}

async fn column_ids(page: &Page, arch: &str) -> String {
    page.attr(&format!(".compare-column[data-arch='{arch}']"), "data-ids")
        .await
        .unwrap_or_default()
}

/// Runs the Compare input and waits for both columns to finish; returns
/// (GPT-2 ids, T5 ids).
async fn run_both(page: &Page) -> (String, String) {
    run_compare(page).await;
    (column_ids(page, "gpt2").await, column_ids(page, "t5").await)
}

/// The playground's greedy ids for `prompt` on the held model of `arch`.
async fn playground_ids(page: &Page, arch: &str, task: &str, prompt: &str) -> String {
    page.click("#tab-playground").await;
    page.click(&format!("#model-switch [data-arch='{arch}']"))
        .await;
    page.wait_attr("#model-info", "data-arch", arch, 10).await;
    page.set_value("#task-select", task).await;
    page.set_value("#prompt", prompt).await;
    let (ids, settings) = page.generate(120).await;
    assert_eq!(settings["temperature"], json!(0.0));
    ids
}

#[tokio::test]
async fn compare_runs_both_models_as_the_playground_would_and_measures_them() {
    let page = Page::open().await;
    wait_ready(&page).await;
    // The first screen is a working playground, the model manager closed.
    page.wait_attr("#model-info", "data-name", "lab-t5", 60)
        .await;
    assert_eq!(
        page.attr("#models-toggle", "aria-expanded")
            .await
            .as_deref(),
        Some("false")
    );
    assert!(page.attr("#view-playground", "role").await.is_some());
    page.wait_for("both lab models held", 60, || async {
        page.attr("#model-switch [data-arch='gpt2']", "data-name")
            .await
    })
    .await;

    // Tabs: a click changes the URL without a reload; the arrow keys move.
    page.js("window.notReloaded = true;", vec![]).await;
    page.click("#tab-compare").await;
    page.wait_for("the Compare view", 10, || async {
        page.attr("#view-compare", "role").await
    })
    .await;
    assert!(url(&page).await.contains("view=compare"));
    page.client
        .find(fantoccini::Locator::Css("#tab-compare"))
        .await
        .unwrap()
        .send_keys("\u{E012}") // ArrowLeft
        .await
        .unwrap();
    page.wait_for("the Playground view by keyboard", 10, || async {
        page.attr("#view-playground", "role").await
    })
    .await;
    assert!(url(&page).await.contains("view=playground"));
    page.client.back().await.unwrap();
    page.wait_for("the Compare view after Back", 10, || async {
        page.attr("#view-compare", "role").await
    })
    .await;
    assert_eq!(
        page.js("return window.notReloaded === true;", vec![]).await,
        json!(true)
    );

    // One input, one task: each family gets it in its own form.
    let text = "the cat sat on the mat";
    page.set_value("#compare-task", "lab_reverse").await;
    page.set_value("#compare-text", text).await;
    let (gpt2_ids, t5_ids) = run_both(&page).await;
    // The figures of this first run and of a second one, kept for the notes
    // (the worker warms each model up at load, so they should be alike).
    let mut runs = vec![figures(&page).await];
    assert_eq!(run_both(&page).await, (gpt2_ids.clone(), t5_ids.clone()));
    runs.push(figures(&page).await);
    std::fs::create_dir_all(repo_root().join("test-artifacts")).unwrap();
    std::fs::write(
        repo_root().join("test-artifacts/compare-figures.json"),
        serde_json::to_string_pretty(&runs).unwrap(),
    )
    .unwrap();
    assert!(!gpt2_ids.is_empty() && !t5_ids.is_empty());
    let tasks = tasks();
    let prompt = |arch| tasks.find(arch, "lab_reverse").unwrap().render(text, None);
    let shown = page
        .js(
            "return [...document.querySelectorAll('.compare-column')].map(c => c.getAttribute('data-arch') + ':' + c.querySelector('code').textContent);",
            vec![],
        )
        .await;
    assert_eq!(
        shown,
        json!([
            format!("gpt2:{}", prompt(Arch::Gpt2)),
            format!("t5:{}", prompt(Arch::T5))
        ]),
        "GPT-2 runs first, each with its own form of the task"
    );
    // The answers read as a class reads them: not with the space GPT-2's
    // first token carries.
    let answers = page
        .js(
            "return [...document.querySelectorAll('.compare-output')].map(o => o.textContent);",
            vec![],
        )
        .await;
    for answer in answers.as_array().unwrap() {
        let answer = answer.as_str().unwrap();
        assert!(!answer.is_empty() && answer.trim() == answer, "{answer:?}");
    }

    // The figures the worker measured, for both models.
    for arch in ["gpt2", "t5"] {
        let file = figure(&page, "file-bytes", arch).await.unwrap();
        let memory = figure(&page, "memory-bytes", arch).await.unwrap();
        // Held memory is measured by the worker's allocator: the quantized
        // weights are about the file's size, f32 norms and biases add little.
        assert!(
            memory > 0.5 * file && memory < 4.0 * file,
            "{arch}: memory {memory} for a {file}-byte file"
        );
        let all = figure(&page, "parameters", arch).await.unwrap();
        let tables = figure(&page, "embedding-parameters", arch).await.unwrap();
        let rest = figure(&page, "other-parameters", arch).await.unwrap();
        assert_eq!(all, tables + rest);
        assert!(tables > 0.0 && rest > 0.0);
        for key in ["load-ms", "first-token-ms", "prefill-tok-s", "decode-tok-s"] {
            let v = figure(&page, key, arch).await;
            assert!(v.is_some_and(|v| v > 0.0), "{arch} {key}: {v:?}");
        }
    }
    page.screenshot("compare").await;
    page.js(
        "document.documentElement.classList.add('projector');",
        vec![],
    )
    .await;
    page.screenshot("compare-projector").await;
    page.js(
        "document.documentElement.classList.remove('projector');",
        vec![],
    )
    .await;

    // The mixed-task batch: rows of three tasks as one batch per model;
    // each row answers as alone, and the reverse row as Compare did.
    page.wait_for("the batch rows", 10, || async {
        let n = page
            .js(
                "return document.querySelectorAll('.batch-input').length;",
                vec![],
            )
            .await;
        (n.as_u64() == Some(3)).then_some(())
    })
    .await;
    page.set_value(".batch-input[data-row='0'] .batch-task", "lab_reverse")
        .await;
    page.set_value(".batch-input[data-row='0'] .batch-text", text)
        .await;
    page.click("#batch-run").await;
    page.wait_for("both batches", 120, || async {
        let n = page
            .js(
                "return document.querySelectorAll(\".batch-result[data-done='true']\").length;",
                vec![],
            )
            .await;
        (n.as_u64() == Some(2)).then_some(())
    })
    .await;
    for (arch, streamed, eos) in [("gpt2", &gpt2_ids, "50256"), ("t5", &t5_ids, "1")] {
        let rows = page
            .js(
                "return [...document.querySelectorAll(`.batch-result[data-arch='${arguments[0]}'] .batch-row`)]
                   .map(r => [r.dataset.ids, r.dataset.aloneIds, r.dataset.same, +r.dataset.diff]);",
                vec![json!(arch)],
            )
            .await;
        let rows: Vec<(String, String, String, f32)> = serde_json::from_value(rows).unwrap();
        assert_eq!(rows.len(), 3, "{arch}");
        for (ids, alone, same, diff) in &rows {
            assert_eq!(ids, alone, "{arch}: a row differs from its run alone");
            assert_eq!(same, "true");
            assert!(*diff == 0.0, "{arch}: logits off their run alone by {diff}");
        }
        let streamed = streamed.strip_suffix(eos).unwrap_or(streamed).trim_end();
        assert_eq!(
            rows[0].0, streamed,
            "{arch}: the batch's reverse row vs Compare"
        );
        let grid = page
            .js(
                "return [...document.querySelectorAll(`.batch-result[data-arch='${arguments[0]}'] .batch-ids tr`)]
                   .map(r => [...r.children].map(c => c.classList.contains('pad')));",
                vec![json!(arch)],
            )
            .await;
        let grid: Vec<Vec<bool>> = serde_json::from_value(grid).unwrap();
        let padded_side = |row: &Vec<bool>| {
            if arch == "gpt2" {
                row[0]
            } else {
                row[row.len() - 1]
            }
        };
        assert!(
            grid.iter().any(padded_side),
            "{arch}: no row padded on its side"
        );
    }
    page.js(
        "document.getElementById('mixed-batch').scrollIntoView();",
        vec![],
    )
    .await;
    page.screenshot("mixed-batch").await;

    // The shipped pair's scores, and what pretraining buys, are the manifest's.
    e2e::scores::shown_as_in_the_manifest(&page).await;

    // A share link opens the Compare view with its input.
    let link = page.share_link().await;
    assert!(link.contains("view=compare"), "{link}");
    page.js("localStorage.clear();", vec![]).await;
    page.client.goto("about:blank").await.unwrap();
    page.client.goto(&link).await.unwrap();
    wait_ready(&page).await;
    page.wait_for("the Compare view from the link", 30, || async {
        page.attr("#view-compare", "role").await
    })
    .await;
    assert_eq!(page.value("#compare-text").await, text);
    page.wait_for("the linked task", 10, || async {
        (page.value("#compare-task").await == "lab_reverse").then_some(())
    })
    .await;

    // Each column's ids are that model's greedy ids in the playground.
    page.wait_for("both lab models held again", 60, || async {
        page.attr("#compare-figures th[data-arch='gpt2']", "data-arch")
            .await
    })
    .await;
    let alone = playground_ids(&page, "gpt2", "lab_reverse", &prompt(Arch::Gpt2)).await;
    assert_eq!(alone, gpt2_ids, "GPT-2: compare vs playground");
    let alone = playground_ids(&page, "t5", "lab_reverse", &prompt(Arch::T5)).await;
    assert_eq!(alone, t5_ids, "T5: compare vs playground");
    page.close().await;
}
