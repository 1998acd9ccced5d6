//! The attention maps the worker sends the page, against transformers'
//! attention probabilities for the same run (reference/make_attention_fixtures.py):
//! GPT-2's causal map; T5's encoder, decoder and cross-attention maps.

mod common;

use candle_core::quantized::GgmlDType;
use common::{fixture, flat, ids, max_diff, F32_TOLERANCE};
use protocol::attention::{AttentionKind, AttentionMap};
use serde_json::Value;
use worker::session::{ModelFiles, Session};

/// Run on the q8_0 kernels, which quantize the activations to 8 bits too,
/// these sharp random-weight maps differ from the reference by up to 0.053
/// (measured); read as f32 they agree to [`F32_TOLERANCE`].
const QUANTIZED_BOUND: f32 = 0.06;

fn read(dir: &str, file: &str) -> Vec<u8> {
    std::fs::read(fixture(dir, file)).unwrap()
}

fn attention(dir: &str) -> Value {
    serde_json::from_slice(&read(dir, "attention.json")).unwrap()
}

fn greedy(dir: &str) -> (Vec<u32>, Vec<u32>) {
    let expected: Value = serde_json::from_slice(&read(dir, "expected.json")).unwrap();
    let run = &expected["greedy"][0];
    (ids(&run["input_ids"]), ids(&run["generated_ids"]))
}

fn session(dir: &str, weights: &str, config: bool, tokenizer: &str, f32: bool) -> Session {
    let config = config.then(|| String::from_utf8(read(dir, "config.json")).unwrap());
    Session::load(ModelFiles {
        name: dir,
        weights: &read(dir, weights),
        config_json: config.as_deref(),
        tokenizer_json: &std::fs::read(
            protocol::repo_root()
                .join("static/tokenizers")
                .join(tokenizer),
        )
        .unwrap(),
        quantize_to: f32.then_some(GgmlDType::F32),
    })
    .unwrap()
}

/// Every cell above the diagonal is zero: no token sees a later one.
fn assert_causal(map: &AttentionMap) {
    for layer in 0..map.layers {
        for head in 0..map.heads {
            for q in 0..map.queries.len() {
                for k in q + 1..map.keys.len() {
                    assert!(
                        map.at(layer, head, q, k) < 1e-6,
                        "{:?} sees ahead",
                        map.kind
                    );
                }
            }
        }
    }
}

#[test]
fn gpt2_causal_map_matches_transformers() {
    let dir = "gpt2-tiny-vocab";
    let (input, output) = greedy(dir);
    let reference = attention(dir);
    for (f32, bound) in [(true, F32_TOLERANCE), (false, QUANTIZED_BOUND)] {
        let (maps, note) = session(dir, "llama-q8_0.gguf", false, "gpt2.json", f32)
            .attention_maps(&input, &output)
            .unwrap();
        assert_eq!(note, None);
        assert_eq!(maps.len(), 1);
        let map = &maps[0];
        assert_eq!(map.kind, AttentionKind::Causal);
        assert_eq!(map.queries.len(), ids(&reference["input_ids"]).len());
        assert_eq!(map.queries[..2], ["Hello", " world"]);
        let d = max_diff(&map.probs, &flat(&reference["attentions"]));
        println!("f32 weights {f32}: causal attention off by {d}");
        assert!(
            d < bound,
            "causal attention off by {d} (f32 weights: {f32})"
        );
        assert_causal(map);
    }
}

#[test]
fn t5_encoder_decoder_and_cross_maps_match_transformers() {
    let dir = "t5-tiny-vocab";
    let (input, output) = greedy(dir);
    let reference = attention(dir);
    for (f32, bound) in [(true, F32_TOLERANCE), (false, QUANTIZED_BOUND)] {
        let (maps, note) = session(dir, "model-q8_0.gguf", true, "t5.json", f32)
            .attention_maps(&input, &output)
            .unwrap();
        assert_eq!(note, None);
        let kinds: Vec<_> = maps.iter().map(|m| m.kind).collect();
        assert_eq!(
            kinds,
            [
                AttentionKind::Encoder,
                AttentionKind::Decoder,
                AttentionKind::Cross
            ]
        );
        let keys = [
            "encoder_attentions",
            "decoder_attentions",
            "cross_attentions",
        ];
        for (map, key) in maps.iter().zip(keys) {
            let d = max_diff(&map.probs, &flat(&reference[key]));
            println!("f32 weights {f32}: {key} off by {d}");
            assert!(d < bound, "{key} off by {d} (f32 weights: {f32})");
        }
        assert_eq!(maps[2].queries.len(), output.len());
        assert_eq!(maps[2].keys.len(), input.len());
        assert_causal(&maps[1]);
    }
}

#[test]
fn long_runs_are_cut_to_the_side_the_page_draws_and_say_so() {
    let dir = "gpt2-tiny-vocab";
    let session = session(dir, "llama-q8_0.gguf", false, "gpt2.json", false);
    let input: Vec<u32> = (0..100).map(|i| 100 + i).collect();
    let output: Vec<u32> = (0..60).map(|i| 300 + i).collect();
    let (maps, note) = session.attention_maps(&input, &output).unwrap();
    assert_eq!(maps[0].queries.len(), protocol::attention::MAX_SIDE);
    assert!(note.unwrap().contains("first 128 of 159"));
}
