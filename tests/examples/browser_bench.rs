//! Speed of the same model files in the browser (wasm, SIMD128) and natively
//! (`lab`), in one run on one machine. Run by `scripts/bench.sh`, not by CI.
//!
//! Models come from `$LAB_HOME/bench-models` (random weights of the real
//! shapes, made by `reference/make_*_fixtures.py --bench`).

use std::path::PathBuf;
use std::process::Command;

use e2e::Page;
use serde_json::Value;

const PROMPT: &str = "The quick brown fox jumps over the lazy dog while the students watch the";
const NEW_TOKENS: usize = 64;

struct Speed {
    prefill: f64,
    decode: f64,
}

fn native(lab: &str, model: &PathBuf, config: Option<&PathBuf>) -> Speed {
    let mut cmd = Command::new(lab);
    cmd.args(["generate", "--json", "--prompt", PROMPT, "--max-new-tokens"])
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
    Speed {
        prefill: v["prefill_tok_s"].as_f64().unwrap(),
        decode: v["decode_tok_s"].as_f64().unwrap(),
    }
}

async fn browser(page: &Page, file: &str, config: Option<&str>, tokenizer: &str) -> Speed {
    page.set_value("#weights-url", &format!("bench/{file}"))
        .await;
    page.set_value(
        "#config-url",
        &config.map(|c| format!("bench/{c}")).unwrap_or_default(),
    )
    .await;
    page.set_value("#tokenizer-url", tokenizer).await;
    page.click("#load").await;
    page.wait_for("loading to finish", 300, || async {
        (page.text("#load").await.as_deref() == Some("Load model")).then_some(())
    })
    .await;
    if let Some(error) = page.text("#error").await {
        panic!("{file} did not load: {error}");
    }
    page.set_value("#task-select", "").await;
    page.set_value("#prompt", PROMPT).await;
    page.set_value("#max-new-tokens", &NEW_TOKENS.to_string())
        .await;
    page.generate(600).await;
    let num = |v: Option<String>| v.and_then(|s| s.parse::<f64>().ok()).unwrap_or(f64::NAN);
    Speed {
        prefill: num(page.attr("#run-stats", "data-prefill-tok-s").await),
        decode: num(page.attr("#run-stats", "data-decode-tok-s").await),
    }
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
    let lab = lab.to_str().unwrap();
    let cases: Vec<(&str, Option<&str>, &str)> = vec![
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
    let mounts = vec![("bench/".to_string(), models.clone())];
    let simd = Page::open_with_mounts(mounts.clone()).await;
    simd.wait_attr("#worker-status", "data-simd", "true", 60)
        .await;
    // The same page built without SIMD128 (scripts/bench.sh builds it).
    let scalar = Page::open_dist(e2e::repo_root().join("dist-scalar"), mounts).await;
    scalar
        .wait_attr("#worker-status", "data-ready", "true", 60)
        .await;
    let scalar_simd = scalar.attr("#worker-status", "data-simd").await;
    assert_eq!(
        scalar_simd.as_deref(),
        Some("false"),
        "dist-scalar has SIMD"
    );
    println!(
        "| model | native prefill / decode tok/s | wasm SIMD prefill / decode | \
         wasm scalar prefill / decode | wasm / native decode | SIMD / scalar decode |"
    );
    println!("|---|---|---|---|---|---|");
    for (file, config, tokenizer) in cases {
        let path = models.join(file);
        if !path.exists() {
            println!("| {file} | missing: make it with the reference script's --bench |");
            continue;
        }
        let config_path = config.map(|c| models.join(c));
        let n = native(lab, &path, config_path.as_ref());
        let w = browser(&simd, file, config, tokenizer).await;
        let sc = browser(&scalar, file, config, tokenizer).await;
        println!(
            "| {file} | {:.0} / {:.1} | {:.0} / {:.1} | {:.0} / {:.1} | {:.2} | {:.2} |",
            n.prefill,
            n.decode,
            w.prefill,
            w.decode,
            sc.prefill,
            sc.decode,
            w.decode / n.decode,
            w.decode / sc.decode
        );
    }
    simd.close().await;
    scalar.close().await;
}
