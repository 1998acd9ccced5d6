//! The Compare view's score tables against `static/models/manifest.json`
//! (written by `train ship` and `train from-scratch`): the shipped pair's
//! held-out and everyday scores, and each beside its fine-tuning from scratch.

use crate::{repo_root, Page};

/// Cells of the shipped-scores, everyday-scores and what-pretraining-buys
/// tables show the manifest's numbers.
pub async fn shown_as_in_the_manifest(page: &Page) {
    let text = std::fs::read_to_string(repo_root().join("static/models/manifest.json")).unwrap();
    let manifest: protocol::manifest::Manifest = serde_json::from_str(&text).unwrap();
    let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
    let t5 = manifest.model("lab-t5").unwrap();
    let cell = |table: &str, task: &str, arch: &str| {
        format!("{table} tr[data-task='{task}'] td[data-arch='{arch}']")
    };
    // A figure a cell carries in `attr`, exactly as the page read it.
    let figure = |selector: String, attr: &'static str| {
        let page = &page;
        async move {
            page.wait_for(attr, 10, || async { page.attr(&selector, attr).await })
                .await
                .parse::<f64>()
                .unwrap()
        }
    };
    let shown = |selector: String| figure(selector, "data-exact");
    let held_out = shown(cell("#shipped-scores", "reverse", "t5")).await;
    assert_eq!(held_out, t5.scores.held_out["reverse"].exact_match);
    let key = "reverse (sentences)";
    let everyday = shown(cell("#everyday-scores", key, "t5")).await;
    assert_eq!(everyday, t5.scores.out_of_distribution[key].exact_match);
    // Rows are named as a class reads them, not by the manifest's keys.
    let header = page
        .js(
            "return document.querySelector(`#everyday-scores tr[data-task='${arguments[0]}'] th`).textContent;",
            vec![serde_json::json!(key)],
        )
        .await;
    assert_eq!(
        header.as_str(),
        Some("Reverse the words: everyday sentences")
    );
    // What pretraining buys: each model beside its fine-tuning from scratch.
    for model in [t5, manifest.model("lab-gpt2").unwrap()] {
        let arch = model.arch.as_str();
        let scratch = model
            .scores
            .from_scratch
            .as_ref()
            .expect("from-scratch scores");
        let table = "#what-pretraining-buys";
        let scratch_arch = format!("{arch}-scratch");
        let shown_reverse = shown(cell(table, "reverse", &scratch_arch)).await;
        assert_eq!(shown_reverse, scratch.held_out["reverse"].exact_match);
        let shown_everyday = shown(cell(table, key, &scratch_arch)).await;
        assert_eq!(shown_everyday, scratch.out_of_distribution[key].exact_match);
        let shown_mean = shown(cell(table, "mean", &scratch_arch)).await;
        assert_eq!(shown_mean, scratch.mean_exact_match);
        assert_eq!(
            shown(cell(table, "reverse", arch)).await,
            model.scores.held_out["reverse"].exact_match
        );
        // The pretraining objective's perplexity, pretrained and from scratch.
        let perplexity = |arch: String| figure(cell(table, "perplexity", &arch), "data-perplexity");
        let measured = |p: &Option<protocol::manifest::Perplexity>| {
            p.as_ref().expect("a perplexity in the manifest").perplexity
        };
        assert_eq!(
            perplexity(arch.to_string()).await,
            measured(&model.scores.perplexity)
        );
        assert_eq!(
            perplexity(scratch_arch.clone()).await,
            measured(&scratch.perplexity)
        );
        // Each one's fine-tuning steps, read off the recipes the trainer wrote.
        let entry = &raw["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == model.id.as_str())
            .unwrap();
        let phase_steps = |phase: &serde_json::Value| phase["report"]["steps"].as_u64().unwrap();
        let recipe = &entry["recipe"];
        let pretrained: u64 = recipe["finetune_phases"]
            .as_array()
            .unwrap()
            .iter()
            .map(phase_steps)
            .sum::<u64>()
            + phase_steps(&recipe["finetune"]);
        let steps = |arch: String| {
            let selector = format!("{table} tr[data-task='finetune-steps'] td[data-arch='{arch}']");
            async move { page.attr(&selector, "data-steps").await }
        };
        assert_eq!(steps(arch.to_string()).await, Some(pretrained.to_string()));
        assert_eq!(
            steps(scratch_arch).await,
            Some(entry["scores"]["from_scratch"]["finetune_steps"].to_string())
        );
    }
    page.js(
        "document.getElementById('what-pretraining-buys').scrollIntoView();",
        vec![],
    )
    .await;
    page.screenshot("what-pretraining-buys").await;
    // As a classroom sees it: projector mode, dark theme.
    page.js(
        "document.documentElement.classList.add('projector'); \
         document.documentElement.dataset.theme = 'dark'; \
         document.getElementById('what-pretraining-buys').scrollIntoView();",
        vec![],
    )
    .await;
    page.screenshot("what-pretraining-buys-projector-dark")
        .await;
    page.js(
        "document.documentElement.classList.remove('projector'); \
         delete document.documentElement.dataset.theme;",
        vec![],
    )
    .await;
}
