//! Packed rows (several examples per row, segment masks, per-example
//! positions) give the logits each example gets in a row of its own.

mod common;

use common::*;
use trainer::init::seeded_var_builder;
use trainer::model::{lm_batch, seq2seq_batch, Batch, LmExample, ModelConfig, Seq2SeqExample};
use trainer::vocab::{CompactVocab, Mapper};
use trainer::{gpt2, t5};

fn rows(b: &Batch) -> usize {
    match b {
        Batch::Lm { ids, .. } | Batch::Seq2Seq { input: ids, .. } => ids.dim(0).unwrap(),
    }
}

fn max_diff(a: &candle_core::Tensor, b: &candle_core::Tensor) -> f32 {
    let d = (a - b).unwrap().abs().unwrap().flatten_all().unwrap();
    d.max(0).unwrap().to_scalar::<f32>().unwrap()
}

#[test]
fn packed_gpt2_rows_equal_separate_rows() {
    let config = ModelConfig::Gpt2(gpt2::Config::tiny());
    let vocab = CompactVocab::new((0..40).chain([gpt2::EOS]).collect(), gpt2::FULL_VOCAB).unwrap();
    let varmap = candle_nn::VarMap::new();
    let model = config
        .build(seeded_var_builder(&varmap, 5), &vocab)
        .unwrap();
    perturb(&varmap, 6, 0.3, 0.0);
    let examples: Vec<LmExample> = [(7, 3), (5, 2), (11, 6), (3, 1), (9, 4)]
        .iter()
        .enumerate()
        .map(|(k, &(len, loss_from))| LmExample {
            tokens: (0..len).map(|i| ((i * 3 + k * 5) % 40) as u32).collect(),
            loss_from,
        })
        .collect();
    let refs: Vec<&LmExample> = examples.iter().collect();
    let mapper = Mapper::new(&vocab);
    let packed = lm_batch(&refs, &mapper, 24).unwrap();
    let alone = lm_batch(&refs, &mapper, 1).unwrap();
    assert_eq!((rows(&packed), rows(&alone)), (2, 5));
    assert_eq!(packed.targets(), alone.targets());
    let d = max_diff(
        &model.logits(&packed).unwrap(),
        &model.logits(&alone).unwrap(),
    );
    assert!(d < 1e-4, "packed logits differ by {d}");
}

#[test]
fn packed_t5_rows_equal_separate_rows() {
    let config = ModelConfig::T5(t5::Config::tiny());
    // Ids 0..40 include PAD (0) and EOS (1).
    let ids: Vec<u32> = (0..40).collect();
    let vocab = CompactVocab::new(ids, t5::FULL_VOCAB).unwrap();
    let varmap = candle_nn::VarMap::new();
    let model = config
        .build(seeded_var_builder(&varmap, 5), &vocab)
        .unwrap();
    perturb(&varmap, 6, 0.01, 0.3);
    let examples: Vec<Seq2SeqExample> = [(7, 3), (5, 6), (12, 2), (3, 4)]
        .iter()
        .enumerate()
        .map(|(k, &(s, t))| Seq2SeqExample {
            input: (0..s)
                .map(|i| ((i * 7 + k) % 40) as u32)
                .chain([t5::EOS])
                .collect(),
            target: (0..t)
                .map(|i| ((i * 11 + k) % 40) as u32)
                .chain([t5::EOS])
                .collect(),
        })
        .collect();
    let refs: Vec<&Seq2SeqExample> = examples.iter().collect();
    let mapper = Mapper::new(&vocab);
    let packed = seq2seq_batch(&refs, &mapper, (20, 12)).unwrap();
    let alone = seq2seq_batch(&refs, &mapper, (1, 1)).unwrap();
    assert_eq!((rows(&packed), rows(&alone)), (2, 4));
    let d = max_diff(
        &model.logits(&packed).unwrap(),
        &model.logits(&alone).unwrap(),
    );
    assert!(d < 1e-4, "packed logits differ by {d}");
}
