//! `worker::kernels` against candle's own q8_0 and q4_0 matmul
//! (`k_quants::matmul`, the path QMatMul takes in wasm) on the same weights,
//! on shapes that are not multiples of the kernel's four rows. Runs natively
//! (the portable dot product) and in wasm with SIMD128 under Node
//! (`scripts/test.sh`: `cargo test --target wasm32-unknown-unknown`).

use candle_core::quantized::k_quants::{self, BlockQ4_0, BlockQ8_0, GgmlType};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use worker::kernels::{gelu_tanh, QuantMatrix};

#[cfg(not(target_arch = "wasm32"))]
use std::println as say;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::{console_log as say, wasm_bindgen_test as test};

/// Seeded values in about [-2, 2], with a few large ones so that the
/// per-block scales differ.
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6_364_136_223_846_793_005) | 1;
    (0..n)
        .map(|i| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = (s >> 40) as f32 / (1u64 << 24) as f32 * 4.0 - 2.0;
            if i % 37 == 0 {
                u * 8.0
            } else {
                u
            }
        })
        .collect()
}

/// candle's matmul of `m × k` activations with `w` (`[n, k]`) as blocks `T`.
fn candles<T: GgmlType>(m: usize, n: usize, k: usize, xs: &[f32], w: &[f32]) -> Vec<f32> {
    let mut blocks = vec![T::zeros(); n * k / 32];
    T::from_float(w, &mut blocks);
    let mut out = vec![0f32; m * n];
    k_quants::matmul((m, k, n), xs, &blocks, &mut out).unwrap();
    out
}

/// Max |ours - candle's| over max |candle's| for `m × k` times `[n, k]`.
fn relative_error(dtype: GgmlDType, m: usize, n: usize, k: usize) -> f32 {
    let w = values(n * k, 1 + n as u64);
    let xs = values(m * k, 7 + m as u64);
    let t = Tensor::from_vec(w.clone(), (n, k), &Device::Cpu).unwrap();
    let q = QTensor::quantize(&t, dtype).unwrap();
    let ours = QuantMatrix::from_qtensor(&q)
        .unwrap()
        .expect("a q8_0 or q4_0 weight")
        .matmul(&xs, m)
        .unwrap();
    let theirs = match dtype {
        GgmlDType::Q8_0 => candles::<BlockQ8_0>(m, n, k, &xs, &w),
        _ => candles::<BlockQ4_0>(m, n, k, &xs, &w),
    };
    assert_eq!(ours.len(), theirs.len(), "{m}x{n}x{k}");
    let scale = theirs.iter().fold(0f32, |a, v| a.max(v.abs()));
    let worst = ours
        .iter()
        .zip(&theirs)
        .fold(0f32, |a, (o, t)| a.max((o - t).abs()));
    worst / scale.max(1e-6)
}

#[test]
fn odd_shapes_match_candle() {
    // (rows, weight rows, width): 1 row, rows and weight rows not multiples
    // of 4, many rows, widths of one and many blocks.
    for (m, n, k) in [
        (1, 1, 32),
        (1, 7, 64),
        (1, 768, 768),
        (3, 4, 96),
        (5, 9, 32),
        (17, 33, 128),
        (40, 13, 256),
        (18, 2304, 768),
    ] {
        for dtype in [GgmlDType::Q8_0, GgmlDType::Q4_0] {
            let err = relative_error(dtype, m, n, k);
            assert!(err < 1e-5, "{dtype:?} {m}x{n}x{k}: relative error {err}");
        }
    }
}

/// Activations that land exactly halfway between two integers once scaled
/// (max |x| = 127, so the scale is 1) round away from zero, as candle's do:
/// each output is one activation, picked by a row of the identity.
#[test]
fn activation_ties_round_as_candles() {
    let xs: Vec<f32> = (0..32)
        .map(|i| match i {
            0 => 127.0,
            1 => -127.0,
            _ => (i as f32 - 16.0) * 3.0 + 0.5,
        })
        .collect();
    let identity: Vec<f32> = (0..32 * 32)
        .map(|i| if i / 32 == i % 32 { 1.0 } else { 0.0 })
        .collect();
    let t = Tensor::from_vec(identity.clone(), (32, 32), &Device::Cpu).unwrap();
    let q = QTensor::quantize(&t, GgmlDType::Q8_0).unwrap();
    let matrix = QuantMatrix::from_qtensor(&q).unwrap().unwrap();
    // Two rows and one: both ways through the kernel.
    for m in [1, 2] {
        let rows = xs.repeat(m);
        let ours = matrix.matmul(&rows, m).unwrap();
        let theirs = candles::<BlockQ8_0>(m, 32, 32, &rows, &identity);
        for (i, (o, t)) in ours.iter().zip(&theirs).enumerate() {
            assert!((o - t).abs() < 1e-4, "value {i}: ours {o}, candle's {t}");
        }
    }
}

#[test]
fn rows_are_candles_embedding_rows() {
    let t = Tensor::from_vec(values(9 * 64, 11), (9, 64), &Device::Cpu).unwrap();
    let ids = [8u32, 0, 3, 3];
    for dtype in [GgmlDType::Q8_0, GgmlDType::Q4_0] {
        let q = QTensor::quantize(&t, dtype).unwrap();
        let theirs = q
            .embedding(&Tensor::new(&ids, &Device::Cpu).unwrap())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let table = QuantMatrix::from_qtensor(&q).unwrap().unwrap();
        assert_eq!(table.rows(&ids).unwrap(), theirs, "{dtype:?}");
        let refused = table.rows(&[9]).unwrap_err().to_string();
        assert!(refused.contains("outside the table"), "{refused}");
    }
}

#[test]
fn a_width_that_does_not_match_is_refused() {
    let t = Tensor::from_vec(values(4 * 64, 3), (4, 64), &Device::Cpu).unwrap();
    let q = QTensor::quantize(&t, GgmlDType::Q8_0).unwrap();
    let w = QuantMatrix::from_qtensor(&q).unwrap().unwrap();
    let refused = w.matmul(&values(2 * 32, 5), 2).unwrap_err().to_string();
    assert!(refused.contains("64 wide"), "{refused}");
}

#[test]
fn gelu_is_candles_gelu() {
    // A grid over [-12, 12], odd length (a tail after the fours), extremes.
    let mut xs: Vec<f32> = (0..=2400).map(|i| i as f32 / 100.0 - 12.0).collect();
    xs.extend([-1e4, -90.0, 1e-30, -1e-30, 90.0, 1e4, 3e13]);
    let t = Tensor::new(xs.as_slice(), &Device::Cpu).unwrap();
    let theirs = t.gelu().unwrap().to_vec1::<f32>().unwrap();
    let mut ours = xs.clone();
    gelu_tanh(&mut ours);
    for ((x, o), t) in xs.iter().zip(&ours).zip(&theirs) {
        let err = (o - t).abs() / x.abs().max(1.0);
        assert!(err < 5e-7, "gelu({x}): ours {o}, candle's {t}");
    }
}

#[test]
fn other_types_stay_with_candle() {
    let w = Tensor::zeros((4, 256), candle_core::DType::F32, &Device::Cpu).unwrap();
    for dtype in [
        GgmlDType::Q4K,
        GgmlDType::Q6K,
        GgmlDType::F32,
        GgmlDType::F16,
    ] {
        let q = QTensor::quantize(&w, dtype).unwrap();
        assert!(
            QuantMatrix::from_qtensor(&q).unwrap().is_none(),
            "{dtype:?}"
        );
    }
}

/// A q8_0 weight may hold −128: candle's quantizer never writes it, a file
/// can. Relaxed-SIMD builds move the activations' signs onto the weights,
/// where −128 would wrap, so such a matrix keeps the SIMD128 path; either
/// way the sums are candle's. (The matrix beside it, with −127 in place of
/// −128, takes the relaxed path in those builds.)
#[test]
fn weights_of_minus_128_match_candle() {
    use candle_core::quantized::{ggml_file::qtensor_from_ggml, QMatMul};
    use candle_core::Module;
    let (m, n, k) = (3, 9, 64);
    let xs = values(m * k, 11);
    for lowest in [-128i8, -127] {
        let mut raw = Vec::new();
        for b in 0..n * k / 32 {
            raw.extend(half::f16::from_f32(0.01 * (b + 1) as f32).to_le_bytes());
            raw.extend((0..32).map(|j| match (b * 7 + j * 13) % 11 {
                0 => lowest,
                v => (v as i8 - 5) * 25,
            } as u8));
        }
        let q = qtensor_from_ggml(GgmlDType::Q8_0, &raw, vec![n, k], &Device::Cpu).unwrap();
        let ours = QuantMatrix::from_qtensor(&q)
            .unwrap()
            .unwrap()
            .matmul(&xs, m)
            .unwrap();
        let x = Tensor::from_vec(xs.clone(), (m, k), &Device::Cpu).unwrap();
        let theirs: Vec<f32> = QMatMul::from_qtensor(q)
            .unwrap()
            .forward(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        for (i, (o, t)) in ours.iter().zip(&theirs).enumerate() {
            assert!(
                (o - t).abs() <= 1e-5 * t.abs().max(1.0),
                "lowest {lowest}, value {i}: ours {o}, candle's {t}"
            );
        }
    }
}

/// Milliseconds for gpt2's four matmuls on `m` rows, ours and candle's: the
/// kernels alone, for tuning (`--ignored --nocapture`, best with --release).
#[test]
#[ignore]
fn speed_on_gpt2_shapes() {
    use web_time::Instant;
    for m in [1, 20, 64, 512] {
        let (mut ours_ms, mut theirs_ms, mut q4_ms) = (0.0, 0.0, 0.0);
        for (n, k) in [(2304, 768), (768, 768), (3072, 768), (768, 3072)] {
            let w = values(n * k, 3);
            let xs = values(m * k, 5);
            let t = Tensor::from_vec(w.clone(), (n, k), &Device::Cpu).unwrap();
            let q = QTensor::quantize(&t, GgmlDType::Q8_0).unwrap();
            let ours = QuantMatrix::from_qtensor(&q).unwrap().unwrap();
            let q4 = QTensor::quantize(&t, GgmlDType::Q4_0).unwrap();
            let q4 = QuantMatrix::from_qtensor(&q4).unwrap().unwrap();
            let mut blocks = vec![BlockQ8_0::zeros(); n * k / 32];
            BlockQ8_0::from_float(&w, &mut blocks);
            let mut dst = vec![0f32; m * n];
            for round in 0..4 {
                let started = Instant::now();
                std::hint::black_box(ours.matmul(&xs, m).unwrap());
                let mid = Instant::now();
                k_quants::matmul((m, k, n), &xs, &blocks, &mut dst).unwrap();
                let end = Instant::now();
                std::hint::black_box(q4.matmul(&xs, m).unwrap());
                if round > 0 {
                    ours_ms += (mid - started).as_secs_f64() * 1000.0 / 3.0;
                    theirs_ms += (end - mid).as_secs_f64() * 1000.0 / 3.0;
                    q4_ms += end.elapsed().as_secs_f64() * 1000.0 / 3.0;
                }
            }
        }
        say!("{m} rows: ours {ours_ms:.2} ms (q4_0 {q4_ms:.2} ms), candle's {theirs_ms:.2} ms a layer");
    }
    // Decode as in a model: one row through 12 layers' distinct weights,
    // which do not fit in the caches, then the 50,257-row head.
    let mut shapes = vec![(50_257, 768)];
    for _ in 0..12 {
        shapes.extend([(2304, 768), (768, 768), (3072, 768), (768, 3072)]);
    }
    let weights: Vec<_> = shapes
        .iter()
        .enumerate()
        .map(|(i, &(n, k))| {
            let w = values(n * k, i as u64);
            let t = Tensor::from_vec(w.clone(), (n, k), &Device::Cpu).unwrap();
            let packed = |dtype| {
                let q = QTensor::quantize(&t, dtype).unwrap();
                QuantMatrix::from_qtensor(&q).unwrap().unwrap()
            };
            let mut blocks = vec![BlockQ8_0::zeros(); n * k / 32];
            BlockQ8_0::from_float(&w, &mut blocks);
            (
                n,
                k,
                packed(GgmlDType::Q8_0),
                packed(GgmlDType::Q4_0),
                blocks,
            )
        })
        .collect();
    let (mut ours_ms, mut q4_ms, mut theirs_ms) = (0.0, 0.0, 0.0);
    for round in 0..4 {
        for (n, k, ours, q4, blocks) in &weights {
            let xs = values(*k, 9);
            let started = Instant::now();
            std::hint::black_box(ours.matmul(&xs, 1).unwrap());
            let mid = Instant::now();
            let mut dst = vec![0f32; *n];
            k_quants::matmul((1, *k, *n), &xs, blocks, &mut dst).unwrap();
            let end = Instant::now();
            std::hint::black_box(q4.matmul(&xs, 1).unwrap());
            if round > 0 {
                ours_ms += (mid - started).as_secs_f64() * 1000.0 / 3.0;
                theirs_ms += (end - mid).as_secs_f64() * 1000.0 / 3.0;
                q4_ms += end.elapsed().as_secs_f64() * 1000.0 / 3.0;
            }
        }
    }
    say!("a gpt2 decode step, q4_0: ours {q4_ms:.2} ms");
    say!("a gpt2 decode step: ours {ours_ms:.2} ms, candle's {theirs_ms:.2} ms");
    let xs = values(20 * 3072, 13);
    let t = Tensor::from_vec(xs.clone(), xs.len(), &Device::Cpu).unwrap();
    let started = Instant::now();
    let mut ours = xs.clone();
    gelu_tanh(&mut ours);
    let mid = Instant::now();
    t.gelu().unwrap();
    let (o, c) = ((mid - started).as_secs_f64(), mid.elapsed().as_secs_f64());
    say!(
        "gelu of 20 x 3072: ours {:.2} ms, candle's {:.2} ms",
        o * 1e3,
        c * 1e3
    );
}

/// A matrix cut at any quad: the rows a helper gets (as bytes) and the rows
/// kept give, side by side, exactly the whole matrix's output.
#[test]
fn a_split_matrix_gives_the_whole_output() {
    for (dtype, m, n, k) in [(GgmlDType::Q8_0, 3, 10, 64), (GgmlDType::Q4_0, 5, 13, 96)] {
        let w = Tensor::from_vec(values(n * k, 3), (n, k), &Device::Cpu).unwrap();
        let q = QTensor::quantize(&w, dtype).unwrap();
        let whole = QuantMatrix::from_qtensor(&q).unwrap().unwrap();
        let xs = values(m * k, 11);
        let expected = whole.matmul(&xs, m).unwrap();
        for cut in 0..=whole.quads() {
            let (part, first) = QuantMatrix::from_part(&whole.part_bytes(cut)).unwrap();
            assert_eq!((part.id(), first), (whole.id(), (cut * 4).min(n)));
            let kept = whole.matmul_quads(&xs, m, 0..cut).unwrap();
            let theirs = part.matmul(&xs, m).unwrap();
            let joined: Vec<f32> = (0..m)
                .flat_map(|r| {
                    let (a, b) = (kept.len() / m, theirs.len() / m);
                    [&kept[r * a..(r + 1) * a], &theirs[r * b..(r + 1) * b]].concat()
                })
                .collect();
            assert_eq!(joined, expected, "{dtype:?} {m}x{n}x{k} cut at quad {cut}");
        }
        assert!(QuantMatrix::from_part(&whole.part_bytes(1)[..30]).is_err());
    }
}

/// A padded row's softmax is the row alone's to the bit, padding on either
/// side (GPT-2 pads left, T5 right): batch rows must equal their runs
/// alone, and q8_0 activations downstream turn a last-bit difference into
/// a whole quantization step (0.07 in a T5 logit, seen in the browser).
#[test]
fn softmax_ignores_padding_to_the_bit() {
    let row = |scores: Vec<f32>| {
        let n = scores.len();
        let t = Tensor::from_vec(scores, (1, n), &Device::Cpu).unwrap();
        let probs = worker::nn::softmax_last_dim(&t).unwrap();
        probs.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    };
    for n in [1, 5, 17, 37] {
        let scores = values(n, n as u64);
        let alone = row(scores.clone());
        for pad in 1..40 {
            let masked = vec![worker::nn::MASKED; pad];
            let right = row([scores.clone(), masked.clone()].concat());
            let left = row([masked, scores.clone()].concat());
            assert_eq!(
                right[..n],
                alone[..],
                "{n} scores, {pad} padded on the right"
            );
            assert_eq!(
                left[pad..],
                alone[..],
                "{n} scores, {pad} padded on the left"
            );
        }
    }
}
