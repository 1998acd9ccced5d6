//! The classification head against the optimum PyTorch's L-BFGS finds for
//! the same L2-regularised softmax regression (reference/make_head_fixture.py),
//! and the hidden-layer head on a problem no linear head can solve.

mod common;

use common::{fixture, flat, max_diff};
use serde_json::Value;
use worker::head::{train, HeadSettings};

#[test]
fn the_linear_head_reaches_the_reference_optimum() {
    let e: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("head", "expected.json")).unwrap())
            .unwrap();
    let x: Vec<Vec<f32>> = e["x"].as_array().unwrap().iter().map(flat).collect();
    let y: Vec<usize> = e["y"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let settings = HeadSettings {
        l2: e["l2"].as_f64().unwrap() as f32,
        steps: 3000,
        ..Default::default()
    };
    let head = train(&x, &y, 3, &settings);
    let got: Vec<f32> = x.iter().flat_map(|r| head.probabilities(r)).collect();
    let d = max_diff(&got, &flat(&e["probs"]));
    assert!(d < 1e-3, "probabilities off the optimum by {d}");
}

#[test]
fn a_hidden_layer_learns_what_a_linear_head_cannot() {
    // XOR of two signs: no line separates it.
    let x: Vec<Vec<f32>> = (0..200)
        .map(|i| {
            let a = ((i * 37) % 100) as f32 / 50.0 - 1.0;
            let b = ((i * 61) % 100) as f32 / 50.0 - 1.0;
            vec![a, b]
        })
        .collect();
    let y: Vec<usize> = x
        .iter()
        .map(|r| ((r[0] > 0.0) != (r[1] > 0.0)) as usize)
        .collect();
    let accuracy = |hidden| {
        let settings = HeadSettings {
            hidden,
            l2: 1e-4,
            steps: 1500,
            ..Default::default()
        };
        let head = train(&x, &y, 2, &settings);
        x.iter()
            .zip(&y)
            .filter(|(r, &c)| head.predict(r) == c)
            .count() as f32
            / x.len() as f32
    };
    let (linear, deep) = (accuracy(None), accuracy(Some(16)));
    assert!(linear < 0.7, "a linear head solved XOR: {linear}");
    assert!(deep > 0.95, "the hidden layer did not: {deep}");
}
