//! The Lessons view in headless Chromium, on the pair the page ships: a
//! deep link opens its step; each of the four steps runs its live demo and
//! its sentences agree with the numbers the worker (or the manifest) gave;
//! Back and Next move between steps.

use e2e::manager::{run_compare, wait_both_lab_models};
use e2e::{repo_root, wait_ready, Page};
use protocol::manifest::Manifest;
use serde_json::Value;

async fn step(page: &Page) -> Option<String> {
    page.attr("#lessons", "data-step").await
}

async fn wait_step(page: &Page, n: &str) {
    page.wait_attr("#lessons", "data-step", n, 10).await;
}

async fn shot(page: &Page, name: &str, css: &str) {
    page.js(
        "const e = document.querySelector(arguments[0]); if (e) e.scrollIntoView();",
        vec![Value::from(css)],
    )
    .await;
    page.screenshot(name).await;
}

/// The current heatmap's cells: (layer, pooling, accuracy).
async fn cells(page: &Page) -> Vec<(u64, String, f64)> {
    let v = page
        .js(
            "return [...document.querySelectorAll('#sweep-heatmap td.sweep-cell[data-accuracy]')]
               .map(c => [+c.dataset.layer, c.dataset.pooling, +c.dataset.accuracy]);",
            vec![],
        )
        .await;
    serde_json::from_value(v).unwrap()
}

/// Sweeps one model from step 3 and checks its read-out against the heatmap.
async fn sweep_and_read(page: &Page, arch: &str, model: &str) {
    page.click(&format!("#lesson-sweep-{arch}")).await;
    let css = format!(".readout[data-model='{model}']");
    page.wait_for(&format!("{model}'s read-out"), 120, || async {
        page.attr(&css, "data-best").await
    })
    .await;
    let cells = cells(page).await;
    assert_eq!(cells.len(), 15, "{model}: every cell measured");
    let best = cells.iter().map(|c| c.2).fold(0.0, f64::max);
    let said: f64 = page.attr(&css, "data-best").await.unwrap().parse().unwrap();
    assert!(
        (said - best).abs() < 1e-6,
        "{model}: read-out says {said}, heatmap best {best}"
    );
    let layer: u64 = page
        .attr(&css, "data-best-layer")
        .await
        .unwrap()
        .parse()
        .unwrap();
    let pooling = page.attr(&css, "data-best-pooling").await.unwrap();
    assert!(
        cells
            .iter()
            .any(|c| c.0 == layer && c.1 == pooling && (c.2 - best).abs() < 1e-6),
        "{model}: the named cell is not a best one"
    );
    let majority = page.attr("#baselines", "data-majority").await;
    assert_eq!(page.attr(&css, "data-majority").await, majority);
    let text = page.text(&css).await.unwrap();
    assert!(text.contains(&format!("{:.1}%", 100.0 * best)), "{text}");
}

#[tokio::test]
async fn the_four_lessons_run_live_and_say_what_they_measure() {
    let page = Page::open().await;
    wait_both_lab_models(&page).await;

    // A deep link opens its step.
    let link = format!(
        "{}?view=lessons&step=3",
        page.base_url.trim_end_matches('/')
    );
    page.client.goto(&link).await.unwrap();
    wait_ready(&page).await;
    wait_step(&page, "3").await;
    page.wait_for("both lab models held again", 60, || async {
        page.attr("#lesson-sweep-t5:not([disabled])", "id").await
    })
    .await;
    page.wait_for("the GPT-2 sweep button", 60, || async {
        page.attr("#lesson-sweep-gpt2:not([disabled])", "id").await
    })
    .await;

    // 3: the sweep of each model, read out from its own numbers.
    sweep_and_read(&page, "gpt2", "lab-gpt2").await;
    sweep_and_read(&page, "t5", "lab-t5").await;
    shot(&page, "lesson-3", "#layer-readout").await;
    page.js(
        "document.documentElement.classList.add('projector');",
        vec![],
    )
    .await;
    shot(&page, "lesson-3-projector", "#layer-readout").await;
    page.js(
        "document.documentElement.classList.remove('projector');",
        vec![],
    )
    .await;

    // 1: the mixed batch, every row equal to its run alone, as the verdict says.
    page.click("#step-link-1").await;
    wait_step(&page, "1").await;
    page.click("#batch-run").await;
    let (rows, same) = page
        .wait_for("the batch's verdict", 120, || async {
            let rows = page.attr("#mixed-verdict", "data-rows").await?;
            let same = page.attr("#mixed-verdict", "data-same").await?;
            Some((rows.parse::<usize>().ok()?, same.parse::<usize>().ok()?))
        })
        .await;
    let worker_same = page
        .js(
            "return document.querySelectorAll('.batch-row[data-same=true]').length;",
            vec![],
        )
        .await;
    assert_eq!(worker_same.as_u64(), Some(same as u64));
    assert_eq!(rows, same, "a row differed from its run alone");
    assert!(rows >= 6, "both models' rows: {rows}");
    let verdict = page.text("#mixed-verdict").await.unwrap();
    assert!(verdict.contains(&format!("all {rows} rows")), "{verdict}");
    shot(&page, "lesson-1", "#lesson-1").await;

    // 2: one click runs a task's example on the shipped model.
    page.click("#step-next").await;
    wait_step(&page, "2").await;
    let tasks = protocol::tasks::Tasks::from_json(
        &std::fs::read_to_string(repo_root().join("static/tasks.json")).unwrap(),
    )
    .unwrap();
    let reverse = tasks.find(protocol::Arch::T5, "lab_reverse").unwrap();
    page.click(".apps[data-arch='t5'] button[data-task='lab_reverse']")
        .await;
    page.wait_for("the example's run", 60, || async {
        page.attr("#run-stats", "data-reason")
            .await
            .filter(|r| !r.is_empty())
    })
    .await;
    let settings: Value =
        serde_json::from_str(&page.attr("#output", "data-settings").await.unwrap()).unwrap();
    assert_eq!(
        settings["max_new_tokens"],
        Value::from(reverse.max_new_tokens)
    );
    assert!(!page.attr("#output", "data-ids").await.unwrap().is_empty());
    let sent = page.text("#app-prompt").await.unwrap();
    assert!(
        sent.contains(&reverse.render(&reverse.example, None)),
        "{sent}"
    );
    shot(&page, "lesson-2", "#lesson-2").await;

    // 4: each task's verdict is the manifest's numbers; Compare runs live.
    page.click("#step-next").await;
    wait_step(&page, "3").await;
    page.click("#step-next").await;
    wait_step(&page, "4").await;
    let manifest: Manifest = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("static/models/manifest.json")).unwrap(),
    )
    .unwrap();
    let score = |arch: protocol::Arch, task: &str| {
        let m = manifest.models.iter().find(|m| m.arch == arch).unwrap();
        m.scores.held_out[task].exact_match
    };
    let verdicts = page
        .wait_for("the per-task verdicts", 10, || async {
            let v = page
                .js(
                    "return [...document.querySelectorAll('#limits-readout li')].map(l => [l.dataset.task, +l.dataset.t5, +l.dataset.gpt2, l.textContent]);",
                    vec![],
                )
                .await;
            serde_json::from_value::<Vec<(String, f64, f64, String)>>(v)
                .ok()
                .filter(|v| !v.is_empty())
        })
        .await;
    // A verdict for every task both models were scored on.
    let t5_tasks = &manifest.model("lab-t5").unwrap().scores.held_out;
    assert_eq!(verdicts.len(), t5_tasks.len());
    for (task, t5, gpt2, text) in verdicts {
        assert!(
            (t5 - score(protocol::Arch::T5, &task)).abs() < 1e-9,
            "{task}"
        );
        assert!(
            (gpt2 - score(protocol::Arch::Gpt2, &task)).abs() < 1e-9,
            "{task}"
        );
        let expected = if t5 < 0.02 && gpt2 < 0.02 {
            "neither model learned it"
        } else if (t5 - gpt2).abs() < 0.02 {
            "a tie"
        } else if t5 > gpt2 {
            "T5 ahead"
        } else {
            "GPT-2 ahead"
        };
        assert!(text.contains(expected), "{task}: {text}");
    }
    page.set_value("#compare-task", "lab_reverse").await;
    page.set_value("#compare-text", "the cat sat on the mat")
        .await;
    run_compare(&page).await;
    shot(&page, "lesson-4", "#lesson-4").await;

    // Back goes to the step before.
    page.click("#step-back").await;
    wait_step(&page, "3").await;
    assert_eq!(step(&page).await.as_deref(), Some("3"));
    page.close().await;
}
