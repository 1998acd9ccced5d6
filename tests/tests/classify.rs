//! The Classify view in headless Chromium, on the pair the page ships: a
//! head trained on the spam preset (accuracy, a confusion matrix that sums
//! to the test rows, the worker's head file echoing the layer and pooling
//! asked for), a typed text's probabilities, the sweep filling every cell
//! and stopping at Cancel, the model's own text-label answer, bad input
//! answered with a sentence, and the examples surviving a reload.

use e2e::manager::wait_both_lab_models;
use e2e::{repo_root, wait_ready, Page};
use protocol::classify::HeadFile;
use protocol::examples;
use serde_json::json;

/// The spam preset's split as the page makes it (test share 0.25, seed 42).
fn spam_split() -> protocol::classify::LabelledSet {
    let path = repo_root().join("static/presets/spam.jsonl");
    let rows = examples::parse(&std::fs::read_to_string(path).unwrap(), "spam.jsonl").unwrap();
    examples::split(&rows, 0.25, 42).unwrap()
}

async fn number(page: &Page, css: &str, name: &str) -> Option<f64> {
    page.attr(css, name).await.and_then(|v| v.parse().ok())
}

async fn rows(page: &Page) -> usize {
    page.js(
        "return document.querySelectorAll('#examples tr.example').length;",
        vec![],
    )
    .await
    .as_u64()
    .unwrap_or(0) as usize
}

/// The head the worker trained, read back from the export link.
async fn exported_head(page: &Page) -> HeadFile {
    let href = page
        .attr("#export-head", "href")
        .await
        .expect("an export link");
    let json = page
        .js(
            "return decodeURIComponent(arguments[0].split(',').slice(1).join(','));",
            vec![json!(href)],
        )
        .await;
    HeadFile::from_json(json.as_str().unwrap()).expect("the export is a head file")
}

/// Trains a head and waits for a report newer than any before.
async fn train(page: &Page) {
    let before = page.attr("#head-report", "data-id").await;
    page.click("#train-head").await;
    page.wait_for("a trained head", 120, || async {
        let now = page.attr("#head-report", "data-id").await;
        (now.is_some() && now != before).then_some(())
    })
    .await;
}

/// Runs the sweep to its end and returns each cell's accuracy.
async fn sweep(page: &Page) -> Vec<f64> {
    page.click("#run-sweep").await;
    page.wait_for("a finished sweep", 180, || async {
        page.attr("#baselines", "data-majority").await.map(|_| ())
    })
    .await;
    let cells = page
        .js(
            "return [...document.querySelectorAll('#sweep-heatmap td.sweep-cell')].map(c => c.dataset.accuracy === undefined ? null : +c.dataset.accuracy);",
            vec![],
        )
        .await;
    serde_json::from_value::<Vec<Option<f64>>>(cells)
        .unwrap()
        .into_iter()
        .map(|c| c.expect("every cell has an accuracy"))
        .collect()
}

#[tokio::test]
async fn a_head_trains_sweeps_cancels_and_keeps_the_examples() {
    let page = Page::open().await;
    wait_both_lab_models(&page).await;
    page.click("#tab-classify").await;
    page.wait_for("the spam preset in the table", 30, || async {
        (rows(&page).await == 330).then_some(())
    })
    .await;
    let split = spam_split();

    // A head on GPT-2, at a layer and pooling chosen here: the worker's
    // head file says it read exactly there.
    page.click("#classify-model input[data-arch='gpt2']").await;
    page.set_value("#head-layer", "2").await;
    page.set_value("#head-pooling", "last").await;
    train(&page).await;
    let head = exported_head(&page).await;
    assert_eq!(
        (head.model.as_str(), head.layer, head.pooling.as_str()),
        ("lab-gpt2", 2, "last")
    );
    assert_eq!(head.classes, split.classes);
    assert_eq!(head.dim, 128);
    let tested = number(&page, "#head-report", "data-tested").await.unwrap();
    assert_eq!(
        tested as usize,
        split.test.len(),
        "the confusion matrix sums to the test rows"
    );
    let confusion: f64 = page
        .js(
            "return [...document.querySelectorAll('#confusion td[data-count]')].reduce((s, c) => s + +c.dataset.count, 0);",
            vec![],
        )
        .await
        .as_f64()
        .unwrap();
    assert_eq!(confusion as usize, split.test.len());
    let accuracy = number(&page, "#head-report", "data-test-accuracy")
        .await
        .unwrap();
    assert!(accuracy > 0.75, "held-out accuracy {accuracy}");

    // A share link carries the preset and the head's settings.
    let link = page.share_link().await;
    for part in [
        "view=classify",
        "examples=spam",
        "head_arch=gpt2",
        "head_layer=2",
        "head_pooling=last",
    ] {
        assert!(link.contains(part), "{part} is missing from {link}");
    }

    // A typed text gets the head's probabilities, one per class.
    page.set_value(
        "#probe",
        "WIN a FREE cruise!!! Click here now to claim your prize",
    )
    .await;
    let probs: Vec<f64> = page
        .wait_for("the probe's probabilities", 30, || async {
            let v = page
                .js(
                    "return [...document.querySelectorAll('#probe-bars .prob-bar')].map(b => +b.dataset.p);",
                    vec![],
                )
                .await;
            serde_json::from_value::<Vec<f64>>(v).ok().filter(|p| p.len() == 2)
        })
        .await;
    assert!((probs.iter().sum::<f64>() - 1.0).abs() < 1e-3, "{probs:?}");
    page.js(
        "document.querySelector('#head-panel').scrollIntoView();",
        vec![],
    )
    .await;
    page.screenshot("classify-head").await;

    // The sweep fills every cell (GPT-2: embeddings and 4 blocks, × 3), with
    // the baselines and the model's own answer with the lab task's words.
    let cells = sweep(&page).await;
    assert_eq!(cells.len(), 15);
    let majority = number(&page, "#baselines", "data-majority").await.unwrap();
    let best = cells.iter().cloned().fold(0.0, f64::max);
    assert!(
        best > majority + 0.25,
        "best cell {best}, majority {majority}"
    );
    page.wait_for("the model's own answer", 60, || async {
        page.attr("#own-answer", "data-accuracy")
            .await
            .filter(|a| !a.is_empty())
    })
    .await;

    // Cancel stops the sweep in the worker: a wide hidden layer makes each
    // cell slow enough to cancel part-way.
    page.set_value("#head-hidden", "256").await;
    page.click("#run-sweep").await;
    page.wait_for("the first cell", 60, || async {
        number(&page, "#sweep-status", "data-cells")
            .await
            .filter(|&n| n >= 1.0)
    })
    .await;
    page.click("#classify-cancel").await;
    page.wait_attr("#sweep-status", "data-cancelled", "true", 60)
        .await;
    let done = number(&page, "#sweep-status", "data-cells").await.unwrap();
    assert!(done < 15.0, "the sweep ran on after Cancel: {done} cells");
    page.set_value("#head-hidden", "0").await;

    // T5: its own answer as text labels beside its heatmap.
    page.click("#classify-model input[data-arch='t5']").await;
    let cells = sweep(&page).await;
    assert_eq!(
        cells.len(),
        15,
        "T5: embeddings, 3 encoder blocks, the decoder's first step"
    );
    let own: f64 = page
        .wait_for("T5's own answer", 60, || async {
            number(&page, "#own-answer", "data-accuracy").await
        })
        .await;
    assert!(own > 0.7, "T5's text-label accuracy {own}");
    page.js(
        "document.querySelector('#sweep-panel').scrollIntoView();",
        vec![],
    )
    .await;
    page.screenshot("classify-sweep").await;
    page.js(
        "document.documentElement.classList.add('projector');",
        vec![],
    )
    .await;
    page.js(
        "document.querySelector('#sweep-heatmap').scrollIntoView();",
        vec![],
    )
    .await;
    page.screenshot("classify-sweep-projector").await;
    page.js(
        "document.documentElement.classList.remove('projector');",
        vec![],
    )
    .await;

    // Bad input: a sentence, and nothing is lost.
    page.click("details.paste summary").await;
    page.set_value("#paste-examples", "just some words").await;
    page.click("#paste-add").await;
    let problem = page.text("#classify-problem").await.unwrap_or_default();
    assert!(problem.contains("no comma"), "{problem}");
    assert_eq!(page.value("#paste-examples").await, "just some words");
    assert_eq!(rows(&page).await, 330);
    page.set_value("#paste-examples", "lonely,only one of its class")
        .await;
    page.click("#paste-add").await;
    assert_eq!(rows(&page).await, 331);
    page.click("#train-head").await;
    let problem = page
        .wait_for("the one-example sentence", 10, || async {
            page.text("#classify-problem").await
        })
        .await;
    assert!(problem.contains("\"lonely\" has one example"), "{problem}");

    // A malformed file: a sentence naming it, and the table as it was.
    let bad = std::env::temp_dir().join("lab-bad-examples.csv");
    std::fs::write(&bad, "spam,fine\njust words on a line\n").unwrap();
    page.client
        .find(fantoccini::Locator::Css("#import-examples"))
        .await
        .unwrap()
        .send_keys(bad.to_str().unwrap())
        .await
        .unwrap();
    let problem = page
        .wait_for("the malformed file's sentence", 10, || async {
            page.text("#classify-problem")
                .await
                .filter(|p| p.contains("lab-bad-examples.csv"))
        })
        .await;
    assert!(problem.contains("Line 2 has no comma"), "{problem}");
    assert_eq!(rows(&page).await, 331);

    // A reload keeps the examples (with the added row) and the settings.
    page.client.refresh().await.unwrap();
    wait_ready(&page).await;
    page.wait_for("the examples after a reload", 30, || async {
        (rows(&page).await == 331).then_some(())
    })
    .await;
    let last = page
        .js(
            "const r = [...document.querySelectorAll('#examples tr.example')].pop(); return [r.querySelector('.example-label').value, r.querySelector('.example-text').value];",
            vec![],
        )
        .await;
    assert_eq!(last, json!(["lonely", "only one of its class"]));
    assert_eq!(page.value("#preset").await, "");

    // The share link opens the preset and the settings it was made with.
    page.client.goto(&link).await.unwrap();
    wait_ready(&page).await;
    page.wait_for("the linked preset", 30, || async {
        (rows(&page).await == 330).then_some(())
    })
    .await;
    page.wait_for("the GPT-2 model held", 60, || async {
        page.attr("#classify-model input[data-arch='gpt2']", "data-arch")
            .await
    })
    .await;
    assert_eq!(page.value("#head-layer").await, "2");
    assert_eq!(page.value("#head-pooling").await, "last");
    page.close().await;
}
