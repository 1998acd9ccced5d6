//! The fused layers (candle-nn kernels + our backward passes) give the same
//! values and gradients as the same functions from candle primitives.

use candle_core::{Device, Tensor, Var};
use trainer::fused;
use trainer::init::Normal;
use trainer::nn::reference;
use trainer::vocab::{compact_loss, CompactVocab};

fn random(shape: &[usize], seed: u64, scale: f64, offset: f32) -> Tensor {
    let mut rng = Normal::new(seed);
    let n = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|_| (rng.sample() * scale) as f32 + offset)
        .collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    let d = (a - b).unwrap().abs().unwrap().flatten_all().unwrap();
    d.max(0).unwrap().to_scalar::<f32>().unwrap()
}

/// Values and input gradients of `f` and `g` on the same inputs, under a
/// random linear loss (so every output element gets its own gradient).
fn check(
    inputs: &[Tensor],
    fast: impl Fn(&[Tensor]) -> Tensor,
    slow: impl Fn(&[Tensor]) -> Tensor,
    tolerance: f32,
) {
    let run = |f: &dyn Fn(&[Tensor]) -> Tensor| {
        let vars: Vec<Var> = inputs
            .iter()
            .map(|t| Var::from_tensor(t).unwrap())
            .collect();
        let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
        let y = f(&ts);
        let r = random(y.dims(), 99, 1.0, 0.0);
        let grads = (&y * &r).unwrap().sum_all().unwrap().backward().unwrap();
        let g: Vec<Tensor> = ts.iter().map(|t| grads.get(t).unwrap().clone()).collect();
        (y, g)
    };
    let (y1, g1) = run(&fast);
    let (y2, g2) = run(&slow);
    let dy = max_diff(&y1, &y2);
    assert!(dy <= tolerance, "values differ by {dy}");
    for (i, (a, b)) in g1.iter().zip(&g2).enumerate() {
        let d = max_diff(a, b);
        assert!(d <= tolerance, "gradient of input {i} differs by {d}");
    }
}

#[test]
fn layer_norm_matches_primitives() {
    let inputs = [
        random(&[3, 5, 32], 1, 2.0, 0.5),
        random(&[32], 2, 0.3, 1.0),
        random(&[32], 3, 0.3, 0.0),
    ];
    check(
        &inputs,
        |t| fused::layer_norm(&t[0], &t[1], &t[2], 1e-5).unwrap(),
        |t| reference::layer_norm(&t[0], &t[1], &t[2], 1e-5).unwrap(),
        1e-4,
    );
}

#[test]
fn rms_norm_matches_primitives() {
    let inputs = [random(&[4, 6, 32], 4, 2.0, 0.3), random(&[32], 5, 0.3, 1.0)];
    check(
        &inputs,
        |t| fused::rms_norm(&t[0], &t[1], 1e-6).unwrap(),
        |t| reference::rms_norm(&t[0], &t[1], 1e-6).unwrap(),
        1e-4,
    );
}

#[test]
fn softmax_matches_primitives() {
    let inputs = [random(&[2, 3, 7, 9], 6, 3.0, 0.0)];
    check(
        &inputs,
        |t| fused::softmax_last_dim(&t[0]).unwrap(),
        |t| reference::softmax_last_dim(&t[0]).unwrap(),
        1e-5,
    );
    // and what inference computes, to rounding
    let fused = fused::softmax_last_dim(&inputs[0]).unwrap();
    let worker = worker::nn::softmax_last_dim(&inputs[0]).unwrap();
    let d = max_diff(&fused, &worker);
    assert!(d <= 1e-6, "the worker's softmax differs by {d}");
}

#[test]
fn gelu_matches_candles_gelu() {
    let inputs = [random(&[4, 8, 64], 9, 2.0, 0.0)];
    check(
        &inputs,
        |t| fused::gelu(&t[0]).unwrap(),
        |t| t[0].gelu().unwrap(),
        1e-4,
    );
}

#[test]
fn linear_matches_primitives() {
    let with_bias = [
        random(&[3, 5, 32], 10, 1.0, 0.0),
        random(&[48, 32], 11, 0.2, 0.0),
        random(&[48], 12, 0.2, 0.0),
    ];
    check(
        &with_bias,
        |t| fused::linear(&t[0], &t[1], Some(&t[2])).unwrap(),
        |t| reference::linear(&t[0], &t[1], Some(&t[2])).unwrap(),
        1e-4,
    );
    check(
        &with_bias[..2],
        |t| fused::linear(&t[0], &t[1], None).unwrap(),
        |t| reference::linear(&t[0], &t[1], None).unwrap(),
        1e-4,
    );
}

#[test]
fn cross_entropy_head_matches_primitives() {
    // 20 compact rows: 19 used ids + w_other for the rest of 1000.
    let vocab = CompactVocab::new((100..119).collect(), 1000).unwrap();
    let bias = vocab.head_bias(&Device::Cpu).unwrap().unwrap();
    let targets: Vec<u32> = (0..10).map(|i| (i * 7 % 20) as u32).collect();
    let inputs = [
        random(&[10, 16], 7, 1.0, 0.0),
        random(&[20, 16], 8, 1.0, 0.0),
    ];
    let scalar = |t: Tensor| t.reshape(1).unwrap();
    check(
        &inputs,
        |t| {
            scalar(
                fused::cross_entropy(&t[0], &t[1], Some(&bias), &targets)
                    .unwrap()
                    .0,
            )
        },
        |t| {
            let logits = t[0]
                .matmul(&t[1].t().unwrap())
                .unwrap()
                .broadcast_add(&bias)
                .unwrap();
            scalar(compact_loss(&logits, &targets, &vocab).unwrap().0)
        },
        1e-5,
    );
    // The reported value is the same too.
    let (_, fast) = fused::cross_entropy(&inputs[0], &inputs[1], Some(&bias), &targets).unwrap();
    let logits = inputs[0]
        .matmul(&inputs[1].t().unwrap())
        .unwrap()
        .broadcast_add(&bias)
        .unwrap();
    let (slow, _) = compact_loss(&logits, &targets, &vocab).unwrap();
    assert!((fast - slow.to_scalar::<f32>().unwrap() as f64).abs() < 1e-5);
}
