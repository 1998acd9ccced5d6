//! Time to the first visible token, and to the whole answer on screen, for
//! two builds of the page in one run (e.g. before and after a change):
//! `cargo run --release -p e2e --example first_token -- DIST_A DIST_B`.
//! Each build opens with the shipped lab pair; the same prompts run on each
//! model, timed in the page from the Generate click (`performance.now()`)
//! to the first `.token` span and to the run's Done.

use std::path::PathBuf;

use e2e::Page;
use serde_json::{json, Value};

const RUNS: usize = 7;

/// (label, the lab model's switch or a model file to load, prompt, new tokens)
const CASES: [(&str, &str, &str, usize); 4] = [
    (
        "lab T5",
        "t5",
        "reverse words: the cat sat on the mat with a hat",
        24,
    ),
    (
        "lab GPT-2",
        "gpt2",
        "The students trained a small language model and",
        24,
    ),
    // Random weights never say end-of-text: a long stream, for the cost
    // of showing each token.
    (
        "tiny GPT-2 fixture",
        "fixtures/gpt2-tiny-vocab/llama-q8_0.gguf",
        "Hello world",
        200,
    ),
    // GPT-2 124M's shapes (random weights, `make_gpt2_fixtures.py --only-bench`),
    // where one decode step takes tens of milliseconds.
    (
        "GPT-2 124M q8_0",
        "bench/gpt2-124M-q8_0.gguf",
        "The quick brown fox jumps over the lazy dog",
        32,
    ),
];

async fn timed_run(page: &Page) -> (f64, f64) {
    let v: Value = page
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const run = document.querySelector('#output')?.dataset.run;
             const t0 = performance.now();
             let first = null;
             const obs = new MutationObserver(() => {
               const out = document.querySelector('#output');
               if (!out || out.dataset.run === run) return;
               if (first === null && out.querySelector('.token')) first = performance.now() - t0;
               const stats = document.querySelector('#run-stats');
               if (stats && stats.dataset.reason) {
                 obs.disconnect();
                 done([first, performance.now() - t0]);
               }
             });
             obs.observe(document.body, {childList: true, subtree: true, attributes: true});
             document.querySelector('#generate').click();",
            vec![],
        )
        .await
        .expect("a timed run");
    (v[0].as_f64().unwrap_or(f64::NAN), v[1].as_f64().unwrap())
}

fn home() -> PathBuf {
    std::env::var("LAB_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cache/pretrain-lab")
        })
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

#[tokio::main]
async fn main() {
    let dists: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    assert!(!dists.is_empty(), "usage: first_token DIST [DIST…]");
    println!("| build | model | new tokens | first token ms (median of {RUNS}) | all tokens ms |");
    println!("|---|---|---|---|---|");
    for dist in &dists {
        let bench = home().join("bench-models");
        let page = Page::open_dist(dist.clone(), vec![("bench/".into(), bench.clone())]).await;
        for (label, model, prompt, tokens) in CASES {
            if let Some(file) = model.strip_prefix("bench/") {
                if !bench.join(file).exists() {
                    println!(
                        "| {} | {label} | missing: make it with --only-bench | | |",
                        dist.display()
                    );
                    continue;
                }
            }
            if model.ends_with(".gguf") {
                page.set_value("#weights-url", model).await;
                page.set_value("#config-url", "").await;
                page.set_value("#tokenizer-url", "").await;
                page.click("#load").await;
                let file = model.rsplit('/').next().unwrap_or(model);
                let before = page.attr("#model-info", "data-name").await;
                page.wait_for("the file loaded", 300, || async {
                    let name = page.attr("#model-info", "data-name").await;
                    let busy = page.attr("#load-progress", "data-model").await.is_some();
                    (!busy
                        && name != before
                        && name.is_some_and(|n| !n.starts_with("lab-") || n == file))
                    .then_some(())
                })
                .await;
            } else {
                let switch = format!("#model-switch [data-arch='{model}']");
                page.wait_for("both lab models", 120, || async {
                    page.attr(&switch, "data-name").await.map(|_| ())
                })
                .await;
                page.click(&switch).await;
            }
            page.set_value("#task-select", "").await;
            page.set_value("#prompt", prompt).await;
            page.set_value("#max-new-tokens", &tokens.to_string()).await;
            page.js("document.querySelector('#stop').focus();", vec![json!(0)])
                .await;
            timed_run(&page).await; // warm-up
            let (mut first, mut all) = (Vec::new(), Vec::new());
            for _ in 0..RUNS {
                let (f, a) = timed_run(&page).await;
                first.push(f);
                all.push(a);
            }
            let shown = page.attr("#output", "data-ids").await.unwrap_or_default();
            println!(
                "| {} | {label} | {} | {:.1} | {:.1} |",
                dist.display(),
                shown.split_whitespace().count(),
                median(first),
                median(all)
            );
        }
        page.close().await;
    }
}
