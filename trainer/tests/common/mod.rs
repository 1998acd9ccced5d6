//! Tiny inline data and helpers shared by the trainer's tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use protocol::Arch;
use trainer::init::{sorted_vars, Normal};
use trainer::model::ModelConfig;
use trainer::run::{RunOptions, Stage};
use trainer::train::StageOptions;

pub const TEXT: &[&str] = &[
    "The cat sat on the mat and looked at the door.",
    "A dog ran across the park to find the red ball.",
    "The students trained a small model in their browser.",
    "It learned to continue sentences after reading a few examples.",
    "The cat sat on the mat and the dog ran to the park.",
    "Every morning the baker opens the shop and sells fresh bread.",
    "The river flows past the old mill and into the sea.",
    "A small model can learn simple patterns from a little text.",
];

pub const TASKS: &[(&str, &str, &str, &str)] = &[
    (
        "reverse",
        "reverse words:",
        "red green blue",
        "blue green red",
    ),
    ("reverse", "reverse words:", "cat dog bird", "bird dog cat"),
    (
        "reverse",
        "reverse words:",
        "one two three",
        "three two one",
    ),
    (
        "reverse",
        "reverse words:",
        "sun moon star",
        "star moon sun",
    ),
    ("copy", "copy:", "the red ball", "the red ball"),
    ("copy", "copy:", "a small model", "a small model"),
    ("copy", "copy:", "fresh bread", "fresh bread"),
    ("copy", "copy:", "the old mill", "the old mill"),
];

pub fn repo_file(rel: &str) -> PathBuf {
    protocol::repo_root().join(rel)
}

/// The tokenizer the page ships for `arch` (`static/tokenizers/`).
pub fn tokenizer_path(arch: Arch) -> PathBuf {
    repo_file("static").join(arch.default_tokenizer_url())
}

pub fn tokenizer_json(arch: Arch) -> Vec<u8> {
    std::fs::read(tokenizer_path(arch)).unwrap()
}

/// A fresh directory under the system temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("trainer-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes the inline data in `scripts/data/fetch.sh`'s layout.
pub fn write_data(dir: &Path) {
    std::fs::create_dir_all(dir.join("pretrain")).unwrap();
    std::fs::create_dir_all(dir.join("tasks")).unwrap();
    let text: String = TEXT.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join("pretrain/train.txt"), &text).unwrap();
    std::fs::write(dir.join("pretrain/valid.txt"), &text).unwrap();
    let tasks: String = TASKS
        .iter()
        .map(|(task, prefix, input, target)| {
            serde_json::json!({"task": task, "prefix": prefix, "input": input, "target": target})
                .to_string()
                + "\n"
        })
        .collect();
    std::fs::write(dir.join("tasks/train.jsonl"), &tasks).unwrap();
    std::fs::write(dir.join("tasks/valid.jsonl"), &tasks).unwrap();
}

pub fn stage(steps: usize, lr: f64) -> StageOptions {
    StageOptions {
        steps: Some(steps),
        seconds: 120.0,
        batch_size: 4,
        lr,
        min_lr_ratio: 0.1,
        warmup: 5,
        weight_decay: 0.0,
        clip: 1.0,
        log_every: 10,
    }
}

/// Options for a tiny run on the inline data in `dir/data`.
pub fn options(model: ModelConfig, dir: &Path, stage_: Stage, steps: usize) -> RunOptions {
    let tokenizer = tokenizer_path(model.arch());
    RunOptions {
        model,
        stage: stage_,
        data: dir.join("data"),
        out: dir.join("out"),
        tokenizer,
        init: None,
        seed: 7,
        sequence_length: 24,
        pack: 24,
        pretrain: stage(steps, 3e-3),
        finetune: stage(steps, 3e-3),
        max_vocab: None,
        mix_text: 0.0,
        export_dtype: candle_core::quantized::GgmlDType::F32,
        valid_batches: 2,
    }
}

/// Moves every weight off its initial value (norm gains off 1, biases off
/// 0), so that a test sees a mistake in any of them: noise of std
/// `absolute + relative × rms(tensor)`.
pub fn perturb(varmap: &VarMap, seed: u64, absolute: f64, relative: f64) {
    let mut rng = Normal::new(seed);
    for (_, var) in sorted_vars(varmap).unwrap() {
        let t = var.as_tensor();
        let rms = t
            .sqr()
            .unwrap()
            .mean_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap() as f64;
        let std = absolute + relative * rms.sqrt();
        let noise: Vec<f32> = (0..t.elem_count())
            .map(|_| (rng.sample() * std) as f32)
            .collect();
        let noise = Tensor::from_vec(noise, t.shape(), &Device::Cpu).unwrap();
        var.set(&(t + noise).unwrap()).unwrap();
    }
}

pub fn to_vec2(t: &Tensor) -> Vec<Vec<f32>> {
    t.to_vec2().unwrap()
}
