//! Pooled hidden-state features against transformers' hidden states
//! (`hidden_states` of the fixtures' cases, run as one padded batch here):
//! mean over real tokens, first and last token, at every layer.

mod common;

use common::{expected, fixture, flat, ids, max_diff, F32_TOLERANCE};
use serde_json::Value;
use worker::features::{pooled_features, Pooling};
use worker::session::{load_model, Model};

fn load(dir: &str, file: &str, config: bool) -> Model {
    let weights = std::fs::read(fixture(dir, file)).unwrap();
    let config = config.then(|| std::fs::read_to_string(fixture(dir, "config.json")).unwrap());
    load_model(dir, &weights, config.as_deref(), None)
        .unwrap()
        .0
}

/// The reference pooling of one layer's `[t][dim]` states.
fn pooled(states: &Value, pooling: Pooling) -> Vec<f32> {
    let rows: Vec<Vec<f32>> = states.as_array().unwrap().iter().map(flat).collect();
    match pooling {
        Pooling::First => rows[0].clone(),
        Pooling::Last => rows[rows.len() - 1].clone(),
        Pooling::Mean => (0..rows[0].len())
            .map(|d| rows.iter().map(|r| r[d]).sum::<f32>() / rows.len() as f32)
            .collect(),
    }
}

#[test]
fn gpt2_every_layer_and_pooling_matches_transformers_in_a_padded_batch() {
    let e = expected("gpt2-tiny");
    let cases = e["cases"].as_array().unwrap();
    let rows: Vec<Vec<u32>> = cases.iter().map(|c| ids(&c["input_ids"])).collect();
    let features = pooled_features(&load("gpt2-tiny", "llama-f32.gguf", false), &rows).unwrap();
    assert_eq!(features.layers.len(), 3);
    assert_eq!(features.layers[0], "embeddings");
    for (r, case) in cases.iter().enumerate() {
        for (l, states) in case["hidden_states"].as_array().unwrap().iter().enumerate() {
            for pooling in Pooling::ALL {
                let d = max_diff(features.get(r, l, pooling), &pooled(states, pooling));
                assert!(
                    d < F32_TOLERANCE,
                    "row {r} layer {l} {pooling:?}: off by {d}"
                );
            }
        }
    }
}

#[test]
fn t5_encoder_layers_and_the_decoder_first_step_match_transformers() {
    let e = expected("t5-tiny");
    let cases = e["cases"].as_array().unwrap();
    let rows: Vec<Vec<u32>> = cases.iter().map(|c| ids(&c["input_ids"])).collect();
    let features = pooled_features(&load("t5-tiny", "model-f32.gguf", true), &rows).unwrap();
    for (r, case) in cases.iter().enumerate() {
        let encoder = case["encoder_hidden_states"].as_array().unwrap();
        assert_eq!(features.layers.len(), encoder.len() + 1);
        for (l, states) in encoder.iter().enumerate() {
            for pooling in Pooling::ALL {
                let d = max_diff(features.get(r, l, pooling), &pooled(states, pooling));
                assert!(
                    d < F32_TOLERANCE,
                    "row {r} encoder layer {l} {pooling:?}: off by {d}"
                );
            }
        }
        // The decoder's input starts with the start token: its state at
        // position 0 is the first step's.
        assert_eq!(case["decoder_input_ids"][0], 0);
        let decoder = case["decoder_hidden_states"].as_array().unwrap();
        let first_step = flat(&decoder[decoder.len() - 1][0]);
        for pooling in Pooling::ALL {
            let d = max_diff(features.get(r, encoder.len(), pooling), &first_step);
            assert!(
                d < F32_TOLERANCE,
                "row {r} decoder first step {pooling:?}: off by {d}"
            );
        }
    }
}
