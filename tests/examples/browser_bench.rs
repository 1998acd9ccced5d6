//! Speed and memory of the same model files in the browser and natively, in
//! one run on one machine: the table of `docs/speed.md`. Run by
//! `scripts/bench.sh` (which builds the three pages), not by CI.
//!
//! Pages: `dist` as it ships, in its relaxed-SIMD worker build (what a
//! browser with relaxed SIMD runs) and in its SIMD128 build
//! (`?wasm=simd128`, what the others run), both on the worker's own
//! kernels; `dist-candle` (SIMD128 with candle's kernels: the "before"), and
//! `dist-scalar` (no SIMD); `dist` again served cross-origin isolated with
//! "Two threads" on. Native: `lab` with 1 and 2 threads. Models come
//! from `$LAB_HOME/bench-models` (`lab bench-models`: random weights of the
//! real shapes).

use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::Page;
use serde_json::Value;

/// 20 gpt2 tokens, 21 t5 tokens.
const PROMPT: &str =
    "The quick brown fox jumps over the lazy dog while the students in the class watch the teacher";
const NEW_TOKENS: usize = 32;

/// One generate's figures.
#[derive(Clone, Copy)]
struct Run {
    prompt_tokens: f64,
    prefill_ms: f64,
    decode_tok_s: f64,
}

impl Run {
    fn total_ms(&self) -> f64 {
        self.prefill_ms + NEW_TOKENS as f64 / self.decode_tok_s * 1000.0
    }
}

/// A page's figures for one model: the first generate after load, warm
/// ones, and the worker's measured memory for the built model.
struct Browser {
    first: Run,
    warm: Run,
    memory_bytes: f64,
}

fn native(lab: &Path, model: &Path, config: Option<&PathBuf>, threads: usize) -> Run {
    let mut cmd = Command::new(lab);
    cmd.env("RAYON_NUM_THREADS", threads.to_string())
        .args(["generate", "--json", "--prompt", PROMPT, "--max-new-tokens"])
        .arg(NEW_TOKENS.to_string())
        .arg("--model")
        .arg(model);
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    let out = cmd.output().expect("run lab");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let tokens = v["prompt_ids"]
        .as_array()
        .map_or(f64::NAN, |a| a.len() as f64);
    Run {
        prompt_tokens: tokens,
        prefill_ms: tokens / v["prefill_tok_s"].as_f64().unwrap() * 1000.0,
        decode_tok_s: v["decode_tok_s"].as_f64().unwrap(),
    }
}

async fn generate(page: &Page) -> Run {
    page.generate(600).await;
    if let Some(error) = page.text("#error").await {
        panic!("the generation failed: {error}");
    }
    eprintln!("  {}", page.text("#run-stats").await.unwrap_or_default());
    let num = |v: Option<String>| v.and_then(|s| s.parse::<f64>().ok()).unwrap_or(f64::NAN);
    Run {
        prompt_tokens: num(page.attr("#run-stats", "data-prompt-tokens").await),
        prefill_ms: num(page.attr("#run-stats", "data-prefill-ms").await),
        decode_tok_s: num(page.attr("#run-stats", "data-decode-tok-s").await),
    }
}

async fn browser(page: &Page, file: &str, config: Option<&str>, tokenizer: &str) -> Browser {
    page.set_value("#weights-url", &format!("bench/{file}"))
        .await;
    page.set_value(
        "#config-url",
        &config.map(|c| format!("bench/{c}")).unwrap_or_default(),
    )
    .await;
    page.set_value("#tokenizer-url", tokenizer).await;
    page.click("#load").await;
    page.wait_for("the model to be in use", 300, || async {
        if let Some(error) = page.text("#error").await {
            panic!("{file} did not load: {error}");
        }
        let files = page.text("#model-files").await.unwrap_or_default();
        files.contains(file).then_some(())
    })
    .await;
    page.set_value("#task-select", "").await;
    page.set_value("#prompt", PROMPT).await;
    page.set_value("#max-new-tokens", &NEW_TOKENS.to_string())
        .await;
    let first = generate(page).await;
    // Warm: the median of three runs (single runs here vary by 10–20 %).
    let mut runs = Vec::new();
    for _ in 0..3 {
        runs.push(generate(page).await);
    }
    let median = |f: fn(&Run) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[1]
    };
    let warm = Run {
        prompt_tokens: runs[0].prompt_tokens,
        prefill_ms: median(|r| r.prefill_ms),
        decode_tok_s: median(|r| r.decode_tok_s),
    };
    let memory = page.attr("#model-info", "data-memory-bytes").await;
    Browser {
        first,
        warm,
        memory_bytes: memory.and_then(|m| m.parse().ok()).unwrap_or(f64::NAN),
    }
}

/// `dist` in its SIMD128 worker build (`?wasm=simd128`), or in the build
/// the browser picks (relaxed SIMD where it validates).
async fn open(dist: &str, mounts: &[(String, PathBuf)], simd: bool, plain: bool) -> Page {
    let page = Page::open_dist(e2e::repo_root().join(dist), mounts.to_vec()).await;
    if plain {
        let url = format!("{}?wasm=simd128", page.base_url);
        page.client.goto(&url).await.expect("open the page");
    }
    let page = ready(page, dist, simd).await;
    let relaxed = page.attr("#worker-status", "data-relaxed-simd").await;
    assert_eq!(
        relaxed.as_deref() == Some("true"),
        !plain,
        "{dist}: relaxed SIMD"
    );
    page
}

/// The shipped page, isolated, with its second thread on.
async fn open_threaded(mounts: &[(String, PathBuf)]) -> Page {
    let page = Page::open_served(e2e::repo_root().join("dist"), mounts.to_vec(), true).await;
    let page = ready(page, "dist", true).await;
    assert_eq!(
        page.attr("#worker-status", "data-relaxed-simd")
            .await
            .as_deref(),
        Some("true"),
        "the threaded page runs the relaxed-SIMD build"
    );
    page.click("#threads").await;
    page.wait_attr("#threads", "data-threads", "2", 30).await;
    page
}

async fn ready(page: Page, dist: &str, simd: bool) -> Page {
    page.wait_attr("#worker-status", "data-ready", "true", 60)
        .await;
    let has = page.attr("#worker-status", "data-simd").await;
    assert_eq!(
        has.as_deref(),
        Some(if simd { "true" } else { "false" }),
        "{dist}"
    );
    page
}

#[tokio::main]
async fn main() {
    let home = std::env::var("LAB_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/pretrain-lab")
        });
    let models = home.join("bench-models");
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or(home.join("target"));
    let lab = target.join("release/lab");
    let mut cases: Vec<(&str, Option<&str>, &str)> = vec![
        ("gpt2-124M-q8_0.gguf", None, "tokenizers/gpt2.json"),
        ("gpt2-124M-q4_0.gguf", None, "tokenizers/gpt2.json"),
        (
            "t5-small-q8_0.gguf",
            Some("t5-small-config.json"),
            "tokenizers/t5.json",
        ),
        (
            "t5-small-q4_0.gguf",
            Some("t5-small-config.json"),
            "tokenizers/t5.json",
        ),
    ];
    if let Ok(only) = std::env::var("BENCH_ONLY") {
        cases.retain(|c| c.0.contains(&only));
    }
    // Native first, before the pages load anything; the better of two runs
    // (the first also reads the file from disk).
    let mut natives = Vec::new();
    for (file, config, _) in &cases {
        let path = models.join(file);
        assert!(
            path.exists(),
            "{} is missing: run `lab bench-models`",
            path.display()
        );
        let config_path = config.map(|c| models.join(c));
        for threads in [1, 2] {
            let runs = [0, 1].map(|_| native(&lab, &path, config_path.as_ref(), threads));
            let best = runs[0].prefill_ms.min(runs[1].prefill_ms);
            let decode = runs[0].decode_tok_s.max(runs[1].decode_tok_s);
            natives.push((*file, threads, runs[0].prompt_tokens, best, decode));
        }
    }
    let mounts = vec![("bench/".to_string(), models.clone())];
    let relaxed = open("dist", &mounts, true, false).await;
    let ours = open("dist", &mounts, true, true).await;
    let candle = open("dist-candle", &mounts, true, true).await;
    let scalar = open("dist-scalar", &mounts, false, true).await;
    let threaded = open_threaded(&mounts).await;
    println!(
        "| model | runtime | prompt tokens | prefill ms | decode tok/s | \
         first / warm generate | memory / file |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (file, config, tokenizer) in cases {
        let file_bytes = std::fs::metadata(models.join(file)).unwrap().len() as f64;
        for (_, threads, tokens, prefill, decode) in natives.iter().filter(|n| n.0 == file) {
            println!(
                "| {file} | native, {threads} thread(s) | {tokens:.0} | {prefill:.1} | {decode:.1} | | |"
            );
        }
        let pages = [
            ("wasm SIMD, our kernels", &ours),
            ("wasm relaxed SIMD, our kernels", &relaxed),
            ("wasm relaxed SIMD, our kernels, 2 threads", &threaded),
            ("wasm SIMD, candle's kernels", &candle),
            ("wasm scalar", &scalar),
        ];
        // BENCH_PAGES=kernels measures only the pages whose name has it.
        let only = std::env::var("BENCH_PAGES").unwrap_or_default();
        for (name, page) in pages.into_iter().filter(|p| p.0.contains(&only)) {
            let b = browser(page, file, config, tokenizer).await;
            println!(
                "| {file} | {name} | {:.0} | {:.1} | {:.1} | {:.2} | {:.2} |",
                b.warm.prompt_tokens,
                b.warm.prefill_ms,
                b.warm.decode_tok_s,
                b.first.total_ms() / b.warm.total_ms(),
                b.memory_bytes / file_bytes
            );
        }
    }
    ours.close().await;
    relaxed.close().await;
    candle.close().await;
    scalar.close().await;
    threaded.close().await;
}
