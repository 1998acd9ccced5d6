//! The `lab` command line: same files, same code, fixed interface.

mod common;

use std::process::Command;

use common::expected;
use serde_json::Value;

fn lab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lab"))
        .current_dir(protocol::repo_root().join("worker"))
        .args(args)
        .output()
        .expect("run lab")
}

#[test]
fn generate_json_gives_the_reference_greedy_ids() {
    let expected = expected("gpt2-tiny-vocab");
    let want = &expected["greedy"][0]["generated_ids"];
    let n = want.as_array().unwrap().len().to_string();
    let out = lab(&[
        "generate",
        "--model",
        "tests/fixtures/gpt2-tiny-vocab/llama-q8_0.gguf",
        "--prompt",
        "Hello world",
        "--max-new-tokens",
        &n,
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["prompt_ids"], serde_json::json!([15496, 995]));
    assert_eq!(&json["generated_ids"], want);
    assert_eq!(
        json["steps"].as_array().unwrap().len(),
        want.as_array().unwrap().len()
    );
    assert!(json["decode_tok_s"].as_f64().unwrap() > 0.0);
}

#[test]
fn sampling_flags_change_the_output_and_the_seed_repeats_it() {
    let base = [
        "generate",
        "--model",
        "tests/fixtures/gpt2-tiny-vocab/llama-q8_0.gguf",
        "--prompt",
        "Hello world",
        "--max-new-tokens",
        "12",
        "--json",
    ];
    let ids = |extra: &[&str]| {
        let out = lab(&[&base[..], extra].concat());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["generated_ids"].clone()
    };
    let greedy = ids(&[]);
    let hot = ["--temperature", "2.0", "--seed", "1"];
    let sampled = ids(&hot);
    assert_ne!(
        greedy, sampled,
        "temperature 2 should leave the greedy path"
    );
    assert_eq!(sampled, ids(&hot), "the same seed gives the same tokens");
    assert_ne!(sampled, ids(&["--temperature", "2.0", "--seed", "2"]));
    // top-k 1 is greedy whatever the temperature.
    assert_eq!(ids(&["--temperature", "2.0", "--top-k", "1"]), greedy);
}

#[test]
fn inspect_reports_arch_types_and_parameters() {
    let out = lab(&["inspect", "tests/fixtures/gpt2-tiny/llama-q4_0.gguf"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("arch: gpt2"), "{text}");
    assert!(text.contains("q4_0"), "{text}");
    assert!(
        text.contains("blk.0.attn_qkv.weight [192, 64] q4_0"),
        "{text}"
    );
}

#[test]
fn a_missing_or_bad_file_is_one_line_and_a_failure() {
    for args in [
        vec!["inspect", "no/such/file.gguf"],
        vec!["inspect", "tests/fixtures/gpt2-tiny/config.json"],
        vec![
            "generate",
            "--model",
            "tests/fixtures/gpt2-tiny/hf-f32.gguf",
            "--prompt",
            "x",
        ],
        vec!["generate", "--prompt", "x"],
    ] {
        let out = lab(&args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("lab: "), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn inspect_loads_t5_with_its_config() {
    let out = lab(&[
        "inspect",
        "tests/fixtures/flan-tiny/model-q8_0.gguf",
        "--config",
        "tests/fixtures/flan-tiny/config.json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("loads as t5: 5 layers"), "{text}");
    assert!(text.contains("lm_head.weight [512, 64] q8_0"), "{text}");
    // Without its config a T5 file cannot be used, and says so.
    let out = lab(&["inspect", "tests/fixtures/flan-tiny/model-q8_0.gguf"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("config.json"));
}

#[test]
fn t5_generate_with_a_prefix_gives_the_reference_greedy_ids() {
    let expected = expected("t5-tiny-vocab");
    let greedy = &expected["greedy"][0];
    let (prefix, input) = ("translate English to German:", "The house is wonderful.");
    assert_eq!(greedy["text"], format!("{prefix} {input}"));
    let n = greedy["generated_ids"]
        .as_array()
        .unwrap()
        .len()
        .to_string();
    let out = lab(&[
        "generate",
        "--model",
        "tests/fixtures/t5-tiny-vocab/model-q8_0.gguf",
        "--config",
        "tests/fixtures/t5-tiny-vocab/config.json",
        "--prefix",
        prefix,
        "--prompt",
        input,
        "--max-new-tokens",
        &n,
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["prompt_ids"], greedy["input_ids"]);
    assert_eq!(json["generated_ids"], greedy["generated_ids"]);
}

#[test]
fn t5_classify_reports_label_probabilities() {
    let out = lab(&[
        "classify",
        "--model",
        "tests/fixtures/t5-tiny-vocab/model-q8_0.gguf",
        "--config",
        "tests/fixtures/t5-tiny-vocab/config.json",
        "--task",
        "sst2",
        "--prompt",
        "A warm, funny film.",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("sst2 sentence: A warm, funny film."),
        "{text}"
    );
    assert!(
        text.contains("positive") && text.contains("tokens [1465]"),
        "{text}"
    );
    assert!(
        text.contains("negative") && text.contains("tokens [2841]"),
        "{text}"
    );
}
