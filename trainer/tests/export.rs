//! (b) The exported files load through the worker's `Session::load` and give
//! the trainer's logits; (c) the compact softmax (used ids + one `w_other`
//! logit with `+ ln N`) equals the exported full-vocabulary softmax.

mod common;

use candle_core::quantized::GgmlDType;
use candle_core::{Device, Tensor, D};
use common::*;
use protocol::Arch;
use trainer::export;
use trainer::gpt2;
use trainer::init::seeded_var_builder;
use trainer::model::{Model as TrainModel, ModelConfig};
use trainer::t5;
use trainer::vocab::{CompactVocab, Mapper};
use worker::gpt2::Capture;
use worker::session::{Model, ModelFiles, Session};

/// A handful of real ids as the compact vocabulary.
fn vocab(ids: &[u32], full: usize) -> CompactVocab {
    CompactVocab::new(ids.to_vec(), full).unwrap()
}

fn session(dir: &std::path::Path, arch: Arch) -> Session {
    let weights = std::fs::read(dir.join(export::GGUF)).unwrap();
    let config = std::fs::read_to_string(dir.join(export::CONFIG)).unwrap();
    Session::load(ModelFiles {
        name: "trained",
        weights: &weights,
        config_json: Some(&config),
        tokenizer_json: &tokenizer_json(arch),
        quantize_to: None,
    })
    .unwrap()
}

/// Compact logits `[t, rows]` of the trainer and full logits `[t, V]` of the
/// loaded model for the same ids (full ids; one of them without its own row).
fn logits_both(
    config: &ModelConfig,
    vocab: &CompactVocab,
    dtype: GgmlDType,
    input: &[u32],
    decoder: &[u32],
    name: &str,
) -> (Tensor, Tensor) {
    let dir = temp_dir(name);
    let varmap = candle_nn::VarMap::new();
    let model = config.build(seeded_var_builder(&varmap, 3), vocab).unwrap();
    // Off the initial values, so that every tensor matters. GPT-2's 0.02
    // init gives tiny logits: absolute noise; T5's scaled init: relative.
    match config {
        ModelConfig::Gpt2(_) => perturb(&varmap, 11, 0.3, 0.0),
        ModelConfig::T5(_) => perturb(&varmap, 11, 0.01, 0.3),
    }
    export::export(&dir, &varmap, config, vocab, dtype).unwrap();
    let mapper = Mapper::new(vocab);
    let compact = |ids: &[u32]| -> Tensor {
        let c: Vec<u32> = ids.iter().map(|&i| mapper.map(i).unwrap()).collect();
        Tensor::new(c.as_slice(), &Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap()
    };
    let full = |ids: &[u32]| {
        Tensor::new(ids, &Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap()
    };
    let loaded = session(&dir, config.arch());
    let (ours, theirs) = match (&model, &loaded.model) {
        (TrainModel::Gpt2(m), Model::Gpt2(w)) => {
            let h = m.hidden(&compact(input)).unwrap().squeeze(0).unwrap();
            let out = w
                .forward(&full(input), None, &mut w.new_cache(), Capture::default())
                .unwrap();
            (m.logits(&h).unwrap(), out.logits.squeeze(0).unwrap())
        }
        (TrainModel::T5(m), Model::T5(w)) => {
            let ones = vec![vec![1f32; input.len()]];
            let bias = t5::key_mask_bias(&ones, &Device::Cpu).unwrap();
            let enc = m.encode(&compact(input), &bias).unwrap();
            let h = m.decode(&compact(decoder), &enc, None, &bias).unwrap();
            let encoded = w.encode(&full(input), None, Capture::default()).unwrap();
            let out = w
                .decode(
                    &full(decoder),
                    &encoded,
                    &mut w.new_cache(),
                    Capture::default(),
                )
                .unwrap();
            (
                m.logits(&h.squeeze(0).unwrap()).unwrap(),
                out.logits.squeeze(0).unwrap(),
            )
        }
        _ => panic!("the loaded model is not the trained architecture"),
    };
    let _ = std::fs::remove_dir_all(&dir);
    (ours, theirs)
}

/// Largest difference between the compact values and the full ones at the
/// used ids, and at every unused id against the other bucket minus `shift`.
fn compare(compact: &Tensor, full: &Tensor, vocab: &CompactVocab, other_shift: f32) -> f32 {
    let c = to_vec2(compact);
    let f = to_vec2(full);
    let table = vocab.table();
    let mut worst = 0f32;
    for (cr, fr) in c.iter().zip(&f) {
        assert_eq!(fr.len(), vocab.full_size);
        for (id, &fv) in fr.iter().enumerate() {
            let row = table[id] as usize;
            let mut cv = cr[row];
            if row == vocab.used() {
                cv -= other_shift;
            }
            worst = worst.max((cv - fv).abs());
        }
    }
    worst
}

fn log_softmax(t: &Tensor) -> Tensor {
    candle_nn::ops::log_softmax(t, D::Minus1).unwrap()
}

fn gpt2_case(dtype: GgmlDType, name: &str) -> (f32, f32, f32) {
    let config = ModelConfig::Gpt2(gpt2::Config::tiny());
    // "Hello world" and a few more GPT-2 ids, plus <|endoftext|>.
    let v = vocab(
        &[gpt2::EOS, 15496, 995, 11, 616, 3290, 318, 13779],
        gpt2::FULL_VOCAB,
    );
    // 40 has no row of its own: its input embedding is w_other.
    let input = [15496, 995, 11, 40, 616, 3290, 318, 13779, gpt2::EOS, 995];
    let (ours, theirs) = logits_both(&config, &v, dtype, &input, &[], name);
    let ln_n = v.other_log_count() as f32;
    let logits = compare(&ours, &theirs, &v, ln_n);
    let probs = compare(&log_softmax(&ours), &log_softmax(&theirs), &v, ln_n);
    let scale = to_vec2(&theirs)
        .iter()
        .flatten()
        .fold(0f32, |m, x| m.max(x.abs()));
    (logits, probs, scale)
}

fn t5_case(dtype: GgmlDType, name: &str) -> (f32, f32, f32) {
    let config = ModelConfig::T5(t5::Config::tiny());
    // "translate English to German: The house is wonderful." and sentinels.
    let ids = [13959, 1566, 12, 2968, 10, 37, 629, 19, 1627, 5];
    let mut used = vec![t5::PAD, t5::EOS, t5::FIRST_SENTINEL, t5::FIRST_SENTINEL - 1];
    used.extend_from_slice(&ids);
    let v = vocab(&used, t5::FULL_VOCAB);
    let mut input = ids.to_vec();
    input.insert(3, 444); // an id without its own row
    input.push(t5::EOS);
    // Decoder positions past 9 so that the causal buckets matter.
    let decoder = [
        t5::PAD,
        32099,
        37,
        629,
        19,
        32098,
        1627,
        5,
        37,
        629,
        19,
        1627,
        5,
        13959,
        1566,
    ];
    let (ours, theirs) = logits_both(&config, &v, dtype, &input, &decoder, name);
    let ln_n = v.other_log_count() as f32;
    let logits = compare(&ours, &theirs, &v, ln_n);
    let probs = compare(&log_softmax(&ours), &log_softmax(&theirs), &v, ln_n);
    let scale = to_vec2(&theirs)
        .iter()
        .flatten()
        .fold(0f32, |m, x| m.max(x.abs()));
    (logits, probs, scale)
}

#[test]
fn gpt2_f32_export_gives_the_trainers_logits_and_softmax() {
    let (logits, log_probs, scale) = gpt2_case(GgmlDType::F32, "gpt2-f32");
    println!("gpt2 f32: logits {logits:e}, log-probs {log_probs:e}, |logit| up to {scale}");
    assert!(scale > 1.0, "logits this small would hide mistakes");
    assert!(logits <= 1e-4, "logits differ by {logits}");
    assert!(log_probs <= 1e-4, "log-probabilities differ by {log_probs}");
}

#[test]
fn t5_f32_export_gives_the_trainers_logits_and_softmax() {
    let (logits, log_probs, scale) = t5_case(GgmlDType::F32, "t5-f32");
    println!("t5 f32: logits {logits:e}, log-probs {log_probs:e}, |logit| up to {scale}");
    assert!(scale > 1.0, "logits this small would hide mistakes");
    assert!(logits <= 1e-4, "logits differ by {logits}");
    assert!(log_probs <= 1e-4, "log-probabilities differ by {log_probs}");
}

#[test]
fn q8_0_exports_stay_close() {
    let (g, gp, gs) = gpt2_case(GgmlDType::Q8_0, "gpt2-q8");
    let (t, tp, ts) = t5_case(GgmlDType::Q8_0, "t5-q8");
    println!("q8_0: gpt2 logits {g} log-probs {gp} (|logit| {gs}); t5 logits {t} log-probs {tp} (|logit| {ts})");
    assert!(
        g > 1e-3 && t > 1e-3,
        "q8_0 weights cannot be this exact: are they f32?"
    );
    assert!(
        g < 0.05 * gs && gp < 0.05 * gs,
        "gpt2 q8_0 error {g} / {gp}"
    );
    assert!(t < 0.05 * ts && tp < 0.05 * ts, "t5 q8_0 error {t} / {tp}");
}

#[test]
fn the_exported_files_are_what_the_loader_expects() {
    let dir = temp_dir("layout");
    let config = ModelConfig::Gpt2(gpt2::Config::tiny());
    let v = vocab(&[gpt2::EOS, 15496, 995], gpt2::FULL_VOCAB);
    let varmap = candle_nn::VarMap::new();
    config.build(seeded_var_builder(&varmap, 1), &v).unwrap();
    export::export(&dir, &varmap, &config, &v, GgmlDType::Q8_0).unwrap();
    // The llama.cpp layout loads without config.json too (config in metadata).
    let weights = std::fs::read(dir.join(export::GGUF)).unwrap();
    let s = Session::load(ModelFiles {
        name: "no-config",
        weights: &weights,
        config_json: None,
        tokenizer_json: &tokenizer_json(Arch::Gpt2),
        quantize_to: None,
    })
    .unwrap();
    assert_eq!((s.info.arch, s.info.vocab_size), (Arch::Gpt2, 50257));
    assert!(s.info.tensor_types.iter().any(|(t, _)| t == "q8_0"));
    let config_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(export::CONFIG)).unwrap()).unwrap();
    assert_eq!(config_json["model_type"], "gpt2");
    let _ = std::fs::remove_dir_all(&dir);
}
