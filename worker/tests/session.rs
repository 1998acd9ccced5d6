//! The full path the worker and `lab` take: files -> Session -> Generation.

use protocol::{GenerationSettings, StopReason};
use serde_json::Value;
use worker::generation::Generation;
use worker::session::{ModelFiles, Session};

fn read(path: &str) -> Vec<u8> {
    std::fs::read(protocol::repo_root().join("worker").join(path)).unwrap()
}

fn tiny_session(weights: &[u8]) -> candle_core::Result<Session> {
    Session::load(ModelFiles {
        name: "tiny",
        weights,
        config_json: None,
        tokenizer_json: &read("../static/tokenizers/gpt2.json"),
        quantize_to: None,
    })
}

/// The lab's own T5, as it ships.
fn lab_t5() -> Session {
    Session::load(ModelFiles {
        name: "lab-t5",
        weights: &read("../static/models/lab-t5/model.gguf"),
        config_json: Some(&String::from_utf8(read("../static/models/lab-t5/config.json")).unwrap()),
        tokenizer_json: &read("../static/tokenizers/t5.json"),
        quantize_to: None,
    })
    .unwrap()
}

#[test]
fn streams_the_reference_greedy_continuation_from_text() {
    let expected: Value =
        serde_json::from_slice(&read("tests/fixtures/gpt2-tiny-vocab/expected.json")).unwrap();
    let greedy = &expected["greedy"][0];
    let want: Vec<u32> = serde_json::from_value(greedy["generated_ids"].clone()).unwrap();
    let session = tiny_session(&read("tests/fixtures/gpt2-tiny-vocab/llama-q8_0.gguf")).unwrap();
    let prompt = session.encode(greedy["text"].as_str().unwrap()).unwrap();
    assert_eq!(prompt, [15496, 995]);
    let mut runner = session.runner();
    let settings = GenerationSettings {
        max_new_tokens: want.len(),
        ..Default::default()
    };
    let mut generation =
        Generation::start(&mut runner, &session.tokenizer, prompt, settings).unwrap();
    let mut streamed = String::new();
    while let Some(step) = generation.next_token().unwrap() {
        assert!(step.prob > 0.0 && step.prob <= 1.0);
        assert_eq!(
            step.top[0].id, step.id,
            "greedy picks the most likely token"
        );
        streamed.push_str(&step.text);
    }
    assert_eq!(generation.generated_ids(), want.as_slice());
    assert_eq!(generation.finished(), Some(StopReason::MaxTokens));
    assert_eq!(streamed, generation.text());
    assert_eq!(
        streamed,
        session.tokenizer.decode(&want, true).unwrap(),
        "the streamed pieces add up to the whole decode"
    );
    assert_eq!(generation.stats().generated_tokens, want.len());
}

/// Incremental decoding with the T5 tokenizer, whose decoder drops a word's
/// leading space at the start of a sequence: the pieces streamed by the
/// lab T5 add up to the decode of its whole output.
#[test]
fn streamed_t5_pieces_add_up_to_the_whole_output() {
    let session = lab_t5();
    for prompt in [
        "reverse words: the cat sat on the mat",
        "sort words: zebra apple mango",
        "pig latin: hello world",
    ] {
        let mut runner = session.runner();
        let ids = session.encode(prompt).unwrap();
        let settings = GenerationSettings {
            max_new_tokens: 24,
            ..Default::default()
        };
        let mut generation =
            Generation::start(&mut runner, &session.tokenizer, ids, settings).unwrap();
        let mut streamed = String::new();
        while let Some(step) = generation.next_token().unwrap() {
            streamed.push_str(&step.text);
        }
        let whole = session
            .tokenizer
            .decode(generation.generated_ids(), true)
            .unwrap();
        assert!(!whole.is_empty(), "{prompt}: no output");
        assert_eq!(streamed, whole, "{prompt}");
    }
}

#[test]
fn cancel_stops_before_the_next_token() {
    let session = tiny_session(&read("tests/fixtures/gpt2-tiny-vocab/llama-q8_0.gguf")).unwrap();
    let mut runner = session.runner();
    let mut generation = Generation::start(
        &mut runner,
        &session.tokenizer,
        vec![15496, 995],
        GenerationSettings::default(),
    )
    .unwrap();
    assert!(generation.next_token().unwrap().is_some());
    generation.cancel();
    assert!(generation.next_token().unwrap().is_none());
    assert_eq!(generation.finished(), Some(StopReason::Cancelled));
    assert_eq!(generation.generated_ids().len(), 1);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let good = read("tests/fixtures/gpt2-tiny-vocab/llama-q8_0.gguf");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("html", b"<!doctype html><html></html>".to_vec()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("header only", good[..64].to_vec()),
        ("garbage", vec![7u8; 4096]),
    ];
    for (name, bytes) in cases {
        let err = tiny_session(&bytes).err();
        assert!(err.is_some(), "{name}: a broken file loaded");
    }
    // A 1,024-token model with GPT-2's 50,257-token tokenizer does not fit.
    let small = read("tests/fixtures/gpt2-tiny/llama-f32.gguf");
    let err = tiny_session(&small)
        .err()
        .expect("mismatch refused")
        .to_string();
    assert!(err.contains("tokenizer"), "{err}");

    let session = tiny_session(&good).unwrap();
    let mut runner = session.runner();
    let empty = Generation::start(
        &mut runner,
        &session.tokenizer,
        vec![],
        GenerationSettings::default(),
    );
    assert!(empty.err().unwrap().to_string().contains("empty"));
    let too_long = vec![995; 500];
    let mut runner = session.runner();
    let long = Generation::start(
        &mut runner,
        &session.tokenizer,
        too_long,
        GenerationSettings::default(),
    );
    assert!(long.err().unwrap().to_string().contains("context"));
}

/// A label of several tokens is scored over all of them: the lab T5 answers
/// "ham" as ▁ + ham, and the label's probability equals the product of the
/// two steps' probabilities that greedy generation reports for that answer.
#[test]
fn a_label_of_several_tokens_is_scored_over_all_of_them() {
    let session = lab_t5();
    let labels = vec!["spam".to_string(), "ham".to_string()];
    let sample = String::from_utf8(read("../static/models/lab-sample.jsonl")).unwrap();
    let mut checked = 0;
    for line in sample.lines() {
        let ex: Value = serde_json::from_str(line).unwrap();
        if ex["task"] != "spam" || ex["target"] != "ham" {
            continue;
        }
        let prompt = format!("spam or ham: {}", ex["input"].as_str().unwrap());
        let mut runner = session.runner();
        let settings = GenerationSettings {
            max_new_tokens: 2,
            ..Default::default()
        };
        let ids = session.encode(&prompt).unwrap();
        let mut generation =
            Generation::start(&mut runner, &session.tokenizer, ids, settings).unwrap();
        let steps: Vec<_> = std::iter::from_fn(|| generation.next_token().unwrap()).collect();
        let scored = session.label_probabilities(&prompt, &labels).unwrap();
        assert_eq!(scored[1].token_ids, [3, 1483], "T5 writes ham as ▁ + ham");
        if steps.iter().map(|s| s.id).collect::<Vec<_>>() != scored[1].token_ids {
            continue;
        }
        let product = steps[0].prob * steps[1].prob;
        let got = scored[1].prob;
        assert!(
            (got - product).abs() <= 1e-4 * product,
            "{got} vs {product} for {prompt}"
        );
        // The first token alone would count every answer starting with ▁.
        assert!(got < steps[0].prob);
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} ham emails answered ham");
}
