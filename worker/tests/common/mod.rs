//! Reading the reference fixtures (`expected.json` from the Python scripts).
#![allow(dead_code)]

use std::path::PathBuf;

use candle_core::Tensor;
use serde_json::Value;

pub const F32_TOLERANCE: f32 = 1e-4;

pub fn fixture(dir: &str, file: &str) -> PathBuf {
    protocol::repo_root()
        .join("worker/tests/fixtures")
        .join(dir)
        .join(file)
}

pub fn expected(dir: &str) -> Value {
    let text = std::fs::read_to_string(fixture(dir, "expected.json")).expect("fixture");
    serde_json::from_str(&text).expect("json")
}

/// Every number of a nested JSON array, in order.
pub fn flat(v: &Value) -> Vec<f32> {
    match v {
        Value::Array(items) => items.iter().flat_map(flat).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap() as f32],
        other => panic!("not a number: {other}"),
    }
}

pub fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

pub fn tensor_flat(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

pub fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "shapes differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}
