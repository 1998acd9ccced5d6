//! T5 against Hugging Face transformers: every expected number here was
//! computed by `reference/make_t5_fixtures.py`, never by this crate.

mod common;

use candle_core::{Device, Tensor};
use common::*;
use serde_json::Value;
use worker::capture::Capture;
use worker::generation::LanguageModel;
use worker::sampling::Sampler;
use worker::session::Runner;
use worker::t5::{self, relative_position_bucket, T5};
use worker::weights::{parse_dtype, TensorStore};

fn load(dir: &str, file: &str, convert: Option<&str>) -> T5 {
    let bytes = std::fs::read(fixture(dir, file)).unwrap();
    let store = TensorStore::from_bytes(&bytes, convert.map(|c| parse_dtype(c).unwrap())).unwrap();
    let config = std::fs::read_to_string(fixture(dir, "config.json")).unwrap();
    t5::load(store, Some(&config)).unwrap()
}

fn row(ids: &[u32]) -> Tensor {
    Tensor::new(ids, &Device::Cpu)
        .unwrap()
        .unsqueeze(0)
        .unwrap()
}

fn all(capture: bool) -> Capture {
    Capture {
        hidden_states: capture,
        attentions: capture,
        last_logits_only: false,
    }
}

fn logits_error(model: &T5, cases: &Value) -> f32 {
    let mut worst = 0.0f32;
    for case in cases.as_array().unwrap() {
        let enc = model
            .encode(&row(&ids(&case["input_ids"])), None, all(false))
            .unwrap();
        let mut cache = model.new_cache();
        let out = model
            .decode(
                &row(&ids(&case["decoder_input_ids"])),
                &enc,
                &mut cache,
                all(false),
            )
            .unwrap();
        worst = worst.max(max_diff(&tensor_flat(&out.logits), &flat(&case["logits"])));
    }
    worst
}

fn greedy(model: &T5, prompt: &[u32], n: usize) -> Vec<u32> {
    let mut runner = Runner::T5 {
        model,
        encoded: None,
        cache: model.new_cache(),
    };
    let mut sampler = Sampler::new(protocol::GenerationSettings::default());
    let mut logits = runner.prefill(prompt).unwrap();
    let mut out = Vec::new();
    for _ in 0..n {
        let id = sampler.choose(&logits, &[]).id;
        out.push(id);
        logits = runner.step(id).unwrap();
    }
    out
}

#[test]
fn relative_position_buckets_match_transformers() {
    let e = &expected("t5-tiny")["relative_position_buckets"];
    let positions: Vec<i64> = e["relative_position"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    for (key, bidirectional) in [("encoder_bidirectional", true), ("decoder_causal", false)] {
        let want = ids(&e[key]);
        let got: Vec<u32> = positions
            .iter()
            .map(|&rp| relative_position_bucket(rp, bidirectional, 32, 128) as u32)
            .collect();
        assert_eq!(got, want, "{key}");
    }
}

#[test]
fn f32_files_match_transformers_everywhere() {
    for dir in ["t5-tiny", "flan-tiny"] {
        let e = expected(dir);
        for file in ["model-f32.gguf", "model.safetensors"] {
            let model = load(dir, file, None);
            for case in e["cases"].as_array().unwrap() {
                let name = format!("{dir}/{file} {}", case["name"]);
                let enc = model
                    .encode(&row(&ids(&case["input_ids"])), None, all(true))
                    .unwrap();
                let mut cache = model.new_cache();
                let out = model
                    .decode(
                        &row(&ids(&case["decoder_input_ids"])),
                        &enc,
                        &mut cache,
                        all(true),
                    )
                    .unwrap();
                // Relative to the values' size: T5's residual stream grows
                // layer by layer (no norm on the residual path).
                let check = |what: &str, got: Vec<f32>, key: &str| {
                    let want = flat(&case[key]);
                    let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
                    let d = max_diff(&got, &want);
                    assert!(
                        d < F32_TOLERANCE * scale,
                        "{name}: {what} off by {d} (scale {scale})"
                    );
                };
                check("logits", tensor_flat(&out.logits), "logits");
                let cat = |ts: &[Tensor]| ts.iter().flat_map(tensor_flat).collect::<Vec<f32>>();
                check(
                    "encoder hidden states",
                    cat(&enc.hidden_states),
                    "encoder_hidden_states",
                );
                check(
                    "decoder hidden states",
                    cat(&out.hidden_states),
                    "decoder_hidden_states",
                );
                check(
                    "encoder attentions",
                    cat(&enc.attentions),
                    "encoder_attentions",
                );
                check(
                    "decoder attentions",
                    cat(&out.attentions),
                    "decoder_attentions",
                );
                check(
                    "cross attentions",
                    cat(&out.cross_attentions),
                    "cross_attentions",
                );
            }
        }
    }
}

#[test]
fn greedy_ids_equal_transformers_past_decoder_position_nine() {
    for dir in ["t5-tiny", "flan-tiny"] {
        let e = expected(dir);
        let model = load(dir, "model-f32.gguf", None);
        for g in e["greedy"].as_array().unwrap() {
            let want = ids(&g["generated_ids"]);
            assert!(want.len() > 12);
            assert_eq!(
                greedy(&model, &ids(&g["input_ids"]), want.len()),
                want,
                "{dir}"
            );
        }
    }
}

#[test]
fn right_padded_mixed_batch_rows_equal_their_unbatched_runs() {
    for dir in ["t5-tiny", "flan-tiny"] {
        let e = expected(dir);
        let model = load(dir, "model-f32.gguf", None);
        let batch = &e["batch"];
        let enc_rows: Vec<Vec<u32>> = batch["input_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(ids)
            .collect();
        let mask: Vec<Vec<f32>> = batch["attention_mask"]
            .as_array()
            .unwrap()
            .iter()
            .map(flat)
            .collect();
        let dec_rows: Vec<Vec<u32>> = batch["decoder_input_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(ids)
            .collect();
        let (b, s, t) = (enc_rows.len(), enc_rows[0].len(), dec_rows[0].len());
        let enc_input = Tensor::new(enc_rows.concat(), &Device::Cpu)
            .unwrap()
            .reshape((b, s))
            .unwrap();
        let dec_input = Tensor::new(dec_rows.concat(), &Device::Cpu)
            .unwrap()
            .reshape((b, t))
            .unwrap();
        let enc = model.encode(&enc_input, Some(&mask), all(false)).unwrap();
        let mut cache = model.new_cache();
        let out = model
            .decode(&dec_input, &enc, &mut cache, all(false))
            .unwrap();
        let d = max_diff(&tensor_flat(&out.logits), &flat(&batch["logits"]));
        assert!(d < F32_TOLERANCE, "{dir}: batch logits off by {d}");
        for r in 0..b {
            let real: Vec<u32> = enc_rows[r]
                .iter()
                .zip(&mask[r])
                .filter(|(_, m)| **m > 0.5)
                .map(|(i, _)| *i)
                .collect();
            let alone = model.encode(&row(&real), None, all(false)).unwrap();
            let mut c = model.new_cache();
            let want = model
                .decode(&row(&dec_rows[r]), &alone, &mut c, all(false))
                .unwrap();
            let d = max_diff(
                &tensor_flat(&out.logits.get(r).unwrap()),
                &tensor_flat(&want.logits),
            );
            assert!(
                d < F32_TOLERANCE,
                "{dir} row {r}: off its unbatched run by {d}"
            );
        }
    }
}

#[test]
fn first_step_probabilities_match() {
    for dir in ["t5-tiny", "flan-tiny"] {
        let e = &expected(dir)["first_step_probs"];
        let model = load(dir, "model-f32.gguf", None);
        let mut runner = Runner::T5 {
            model: &model,
            encoded: None,
            cache: model.new_cache(),
        };
        let logits = runner.prefill(&ids(&e["input_ids"])).unwrap();
        let probs = worker::sampling::softmax(&logits, 1.0);
        let d = max_diff(&probs, &flat(&e["probs"]));
        assert!(d < 1e-5, "{dir}: first-step probabilities off by {d}");
    }
}

#[test]
fn quantized_files_read_exactly_and_run_within_bounds() {
    for dir in ["t5-tiny", "flan-tiny"] {
        let e = expected(dir);
        for (file, key, bound) in [
            ("model-q8_0.gguf", "q8_0", 0.6),
            ("model-q4_0.gguf", "q4_0", 0.8),
        ] {
            let reference = &e["quantized"][key];
            let exact = load(dir, file, Some("f32"));
            let err = logits_error(&exact, &reference["cases"]);
            assert!(
                err < F32_TOLERANCE,
                "{dir}/{file}: dequantized logits off by {err}"
            );
            for g in reference["greedy"].as_array().unwrap() {
                let want = ids(&g["generated_ids"]);
                assert_eq!(
                    greedy(&exact, &ids(&g["input_ids"]), want.len()),
                    want,
                    "{dir}/{file}"
                );
            }
            let model = load(dir, file, None);
            let err = logits_error(&model, &reference["cases"]);
            println!("{dir}/{file}: max |logit error| of the quantized kernels = {err}");
            assert!(
                err < bound,
                "{dir}/{file}: quantized logits off by {err} (bound {bound})"
            );
        }
    }
}

/// Plain safetensors converted at load: f16 against transformers' f32 logits.
#[test]
fn safetensors_converted_to_f16_at_load() {
    for dir in ["t5-tiny", "flan-tiny"] {
        let e = expected(dir);
        let model = load(dir, "model.safetensors", Some("f16"));
        let err = logits_error(&model, &e["cases"]);
        println!("{dir} as f16: max |logit error| = {err}");
        assert!(err > 0.0 && err < 0.05, "{dir}: f16 logits off by {err}");
    }
}

/// k-quants need rows of 256: a 256-wide flan-style T5 (f16 weights, values
/// exact in f32) quantized at load, against transformers' logits on the same
/// weights; the bound includes the quantization itself.
#[test]
fn k_quants_quantized_at_load() {
    let e = expected("t5-k256");
    // (type, logit bound, greedy steps that must agree out of 12)
    for (dtype, bound, steps) in [
        ("f32", F32_TOLERANCE, 12),
        ("q8_0", 0.4, 12),
        ("q6_k", 1.0, 8),
        ("q4_k", 4.0, 0),
    ] {
        let model = load("t5-k256", "model.safetensors", Some(dtype));
        let err = logits_error(&model, &e["cases"]);
        println!("t5-k256 as {dtype}: max |logit error| = {err}");
        assert!(err < bound, "{dtype}: logits off by {err} (bound {bound})");
        let g = &e["greedy"][0];
        let want = ids(&g["generated_ids"]);
        let got = greedy(&model, &ids(&g["input_ids"]), want.len());
        let same = got.iter().zip(&want).take_while(|(a, b)| a == b).count();
        println!(
            "t5-k256 as {dtype}: greedy equal for {same} of {}",
            want.len()
        );
        assert!(same >= steps, "{dtype}: greedy differs at step {same}");
    }
}
