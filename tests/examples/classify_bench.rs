//! Speed of the classification head's work on the shipped pair, in the
//! browser (wasm, SIMD128: the page as it ships, and on candle's kernels)
//! and natively (`lab sweep`), in one run: features of 500 examples, and
//! the full layer × pooling sweep on the spam preset. Run by
//! `scripts/bench.sh` (which builds both pages), not by CI.

use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::manager::wait_both_lab_models;
use e2e::{repo_root, Page};
use protocol::examples::{self, Example};

/// 500 examples: the spam preset, then State of the Union paragraphs.
fn five_hundred(dir: &Path) -> PathBuf {
    let read = |name: &str| {
        let path = repo_root().join("static/presets").join(name);
        examples::parse(&std::fs::read_to_string(&path).unwrap(), name).unwrap()
    };
    let mut rows: Vec<Example> = read("spam.jsonl");
    rows.extend(read("sotu-century.jsonl"));
    rows.truncate(500);
    let jsonl: String = rows
        .iter()
        .map(|e| serde_json::to_string(e).unwrap() + "\n")
        .collect();
    let path = dir.join("five-hundred.jsonl");
    std::fs::write(&path, jsonl).unwrap();
    path
}

/// `lab sweep`'s last line: "... features N ms, sweep M ms".
fn native(lab: &Path, model: &str, examples: &Path) -> (f64, f64) {
    let dir = repo_root().join("static/models").join(model);
    let out = Command::new(lab)
        .args(["sweep", "--model"])
        .arg(dir.join("model.gguf"))
        .arg("--config")
        .arg(dir.join("config.json"))
        .arg("--examples")
        .arg(examples)
        .output()
        .expect("run lab");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let ms = |key: &str| {
        let after = text.split(key).nth(1).expect(key);
        after
            .trim_start()
            .split(' ')
            .next()
            .unwrap()
            .parse::<f64>()
            .unwrap()
    };
    (ms("features "), ms("sweep "))
}

async fn number(page: &Page, css: &str, name: &str) -> f64 {
    page.attr(css, name)
        .await
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

/// In the page: the features of the examples in the table and the sweep.
async fn browser(page: &Page, arch: &str) -> (f64, f64) {
    page.click(&format!("#classify-model input[data-arch='{arch}']"))
        .await;
    page.click("#run-sweep").await;
    page.wait_for("the sweep", 600, || async {
        page.attr("#baselines", "data-majority").await.map(|_| ())
    })
    .await;
    (
        number(page, "#features-summary", "data-ms").await,
        number(page, "#sweep-status", "data-ms").await,
    )
}

#[tokio::main]
async fn main() {
    let home = std::env::var("LAB_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/pretrain-lab")
        });
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or(home.join("target"));
    let lab = target.join("release/lab");
    let scratch = std::env::temp_dir().join("lab-classify-bench");
    std::fs::create_dir_all(&scratch).unwrap();
    let many = five_hundred(&scratch);
    let spam = repo_root().join("static/presets/spam.jsonl");

    let spam_rows =
        [("lab-gpt2", "gpt2"), ("lab-t5", "t5")].map(|(model, _)| native(&lab, model, &spam).1);
    let many_rows =
        [("lab-gpt2", "gpt2"), ("lab-t5", "t5")].map(|(model, _)| native(&lab, model, &many).0);
    let mut columns = Vec::new();
    for (dist, threads) in [("dist", false), ("dist", true), ("dist-candle", false)] {
        columns.push(in_page(dist, &many, threads).await);
    }
    println!("| model | work | native ms | wasm SIMD ms | wasm SIMD, 2 threads ms | wasm SIMD, candle's kernels ms | wasm / native |");
    println!("|---|---|---|---|---|---|---|");
    for (i, model) in ["lab-gpt2", "lab-t5"].iter().enumerate() {
        let [ours, threaded, candle] = [0, 1, 2].map(|c| columns[c][i]);
        println!(
            "| {model} | sweep, spam preset (330 rows, 15 heads + baselines) | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} |",
            spam_rows[i], ours.0, threaded.0, candle.0, ours.0 / spam_rows[i]
        );
    }
    for (i, model) in ["lab-gpt2", "lab-t5"].iter().enumerate() {
        let [ours, threaded, candle] = [0, 1, 2].map(|c| columns[c][i]);
        println!(
            "| {model} | features of 500 examples | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} |",
            many_rows[i],
            ours.1,
            threaded.1,
            candle.1,
            ours.1 / many_rows[i]
        );
    }
}

/// In the page built into `dist`, per model: the spam sweep's ms and the
/// features of the 500 examples' ms; `threads`: served isolated, with the
/// second thread on.
async fn in_page(dist: &str, many: &Path, threads: bool) -> [(f64, f64); 2] {
    let page = Page::open_served(repo_root().join(dist), Vec::new(), threads).await;
    wait_both_lab_models(&page).await;
    if threads {
        page.click("#threads").await;
        page.wait_attr("#threads", "data-threads", "2", 30).await;
    }
    page.click("#tab-classify").await;
    page.wait_for("the spam preset", 30, || async {
        (page.value("#preset").await == "spam").then_some(())
    })
    .await;
    let mut out = [(0.0, 0.0); 2];
    for (i, arch) in ["gpt2", "t5"].iter().enumerate() {
        page.set_value("#preset", "spam").await;
        out[i].0 = browser(&page, arch).await.1;
    }
    for (i, arch) in ["gpt2", "t5"].iter().enumerate() {
        page.client
            .find(fantoccini::Locator::Css("#import-examples"))
            .await
            .unwrap()
            .send_keys(many.to_str().unwrap())
            .await
            .unwrap();
        page.wait_for("500 examples", 30, || async {
            let n = page
                .js(
                    "return document.querySelectorAll('#examples tr.example').length;",
                    vec![],
                )
                .await;
            (n.as_u64() == Some(500)).then_some(())
        })
        .await;
        out[i].1 = browser(&page, arch).await.0;
    }
    page.close().await;
    out
}
