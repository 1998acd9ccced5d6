//! Where a prefill's time goes, on random weights of t5-small's and gpt2's
//! real shapes: the whole prefill, its matmuls alone, and the other tensor
//! operations one by one. For tuning, in wasm SIMD128 under Node:
//! `cargo test --release -p worker --test prefill_profile --target
//! wasm32-unknown-unknown -- --include-ignored --nocapture`.

use candle_core::quantized::GgmlDType;
use candle_core::{Device, Module, Tensor, D};
use web_time::Instant;
use worker::generation::LanguageModel;
use worker::nn::{softmax_last_dim, RmsNorm};
use worker::random_models::{gpt2_124m, t5_small, T5_SMALL_CONFIG};
use worker::session::{load_model, Model, Runner};

#[cfg(not(target_arch = "wasm32"))]
use std::println as say;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::{console_log as say, wasm_bindgen_test as test};

/// Median milliseconds of `f` over seven runs after five warm ones.
fn ms(mut f: impl FnMut()) -> f64 {
    for _ in 0..5 {
        f();
    }
    let mut times: Vec<f64> = (0..7)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[3]
}

fn values(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|i| ((i * 7919 % 1000) as f32 / 500.0) - 1.0)
        .collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

#[test]
#[ignore]
fn t5_small_prefill() {
    let bytes = t5_small(GgmlDType::Q8_0).unwrap();
    let (model, _) = load_model("t5-small", &bytes, Some(T5_SMALL_CONFIG), None).unwrap();
    let Model::T5(t5) = &model else {
        panic!("not a T5")
    };
    let prompt: Vec<u32> = (0..21).map(|i| 100 + i * 37).collect();
    let whole = ms(|| {
        let mut runner = Runner::T5 {
            model: t5,
            encoded: None,
            cache: t5.new_cache(),
        };
        runner.prefill(&prompt).unwrap();
    });
    say!("t5-small prefill of 21 tokens: {whole:.2} ms");
    let ids = Tensor::new(prompt.as_slice(), &Device::Cpu)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    let enc = ms(|| {
        t5.encode(&ids, None, Default::default()).unwrap();
    });
    say!("  encoder: {enc:.2} ms");
    operations(21, 512, 8, 2048);
}

#[test]
#[ignore]
fn gpt2_prefill() {
    let bytes = gpt2_124m(GgmlDType::Q8_0).unwrap();
    let (model, _) = load_model("gpt2", &bytes, None, None).unwrap();
    let Model::Gpt2(gpt2) = &model else {
        panic!("not a GPT-2")
    };
    let prompt: Vec<u32> = (0..18).map(|i| 100 + i * 37).collect();
    let whole = ms(|| {
        let mut runner = Runner::Gpt2 {
            model: gpt2,
            cache: gpt2.new_cache(),
        };
        runner.prefill(&prompt).unwrap();
    });
    say!("gpt2 prefill of 18 tokens: {whole:.2} ms");
    operations(18, 768, 12, 3072);
}

/// One layer's operations other than the weight matmuls, at `t` tokens.
fn operations(t: usize, d: usize, heads: usize, ff: usize) {
    let dk = d / heads;
    let xs = values(&[1, t, d]);
    let norm = RmsNorm::new(values(&[d]), 1e-6);
    say!(
        "  rms norm: {:.3} ms",
        ms(|| {
            norm.forward(&xs).unwrap();
        })
    );
    say!(
        "  split heads: {:.3} ms",
        ms(|| {
            xs.reshape((1, t, heads, dk))
                .unwrap()
                .transpose(1, 2)
                .unwrap()
                .contiguous()
                .unwrap();
        })
    );
    let q = values(&[1, heads, t, dk]);
    let k = values(&[1, heads, t, dk]);
    say!(
        "  q kT: {:.3} ms",
        ms(|| {
            q.matmul(&k.t().unwrap().contiguous().unwrap()).unwrap();
        })
    );
    let scores = values(&[1, heads, t, t]);
    let bias = values(&[1, heads, t, t]);
    say!(
        "  + bias: {:.3} ms",
        ms(|| {
            scores.broadcast_add(&bias).unwrap();
        })
    );
    say!(
        "  softmax: {:.3} ms",
        ms(|| {
            softmax_last_dim(&scores).unwrap();
        })
    );
    say!(
        "  p v: {:.3} ms",
        ms(|| {
            scores.matmul(&k).unwrap();
        })
    );
    let ys = values(&[1, heads, t, dk]);
    say!(
        "  merge heads: {:.3} ms",
        ms(|| {
            ys.transpose(1, 2).unwrap().reshape((1, t, d)).unwrap();
        })
    );
    say!(
        "  residual add: {:.3} ms",
        ms(|| {
            (&xs + &xs).unwrap();
        })
    );
    let h = values(&[1, t, ff]);
    say!(
        "  relu of the feed-forward: {:.3} ms",
        ms(|| {
            h.relu().unwrap();
        })
    );
    say!(
        "  to_vec + from_vec of the input: {:.3} ms",
        ms(|| {
            let v = xs.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            Tensor::from_vec(v, (t, d), &Device::Cpu).unwrap();
        })
    );
    say!(
        "  mean over last dim: {:.3} ms",
        ms(|| {
            xs.mean_keepdim(D::Minus1).unwrap();
        })
    );
}
