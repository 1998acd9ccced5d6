//! The pair the page ships (`static/models/`, written by `train ship`) holds
//! its quality floors on the fixed held-out sample, loaded through the
//! worker's `Session::load` as users' files are; the same architecture
//! untrained (our seeded initialisation, exported the same way) fails them.

mod common;

use common::*;
use serde_json::Value;
use trainer::data::{read_paragraphs, read_tasks, sha256_hex, TaskExample};
use trainer::eval::{load_session, perplexity, score_tasks, EvalOptions};
use trainer::export;
use trainer::init::seeded_var_builder;
use trainer::model::ModelConfig;
use trainer::vocab::CompactVocab;
use worker::session::{ModelFiles, Session};

fn manifest() -> Value {
    let text = std::fs::read_to_string(repo_file("static/models/manifest.json"))
        .expect("static/models/manifest.json (written by `train ship`)");
    serde_json::from_str(&text).unwrap()
}

fn text_sample(manifest: &Value) -> Vec<String> {
    let file = manifest["sample"]["text"].as_str().unwrap();
    read_paragraphs(&repo_file(&format!("static/models/{file}"))).unwrap()
}

fn sample(manifest: &Value) -> Vec<TaskExample> {
    let file = manifest["sample"]["file"].as_str().unwrap();
    let sample = read_tasks(&repo_file(&format!("static/models/{file}"))).unwrap();
    assert_eq!(
        sample.len() as u64,
        manifest["sample"]["examples"].as_u64().unwrap()
    );
    sample
}

/// Tasks (and "mean", "perplexity") where `session` falls below the
/// model's floors (above its perplexity ceiling).
fn below_floors(
    session: &Session,
    model: &Value,
    sample: &[TaskExample],
    text: &[String],
) -> Vec<String> {
    let opts = EvalOptions {
        max_per_task: usize::MAX,
        perplexity_tokens: 0,
        samples: 0,
    };
    let floors = model["sample"]["floors"].as_object().unwrap();
    let mean_floor = model["sample"]["mean_floor"].as_f64();
    // Only the tasks that have a floor need running, unless the mean has one.
    let sample: Vec<TaskExample> = sample
        .iter()
        .filter(|ex| mean_floor.is_some() || floors[&ex.task].is_number())
        .cloned()
        .collect();
    let scores = score_tasks(session, &sample, &opts).unwrap();
    let mut below = Vec::new();
    for (task, floor) in floors {
        let Some(got) = scores.get(task).map(|s| s.exact_match) else {
            continue;
        };
        eprintln!("{} {task}: {got:.2} (floor {floor})", model["id"]);
        if floor.as_f64().is_some_and(|f| got < f) {
            below.push(task.clone());
        }
    }
    let mean = scores.values().map(|s| s.exact_match).sum::<f64>() / scores.len() as f64;
    if mean_floor.is_some_and(|f| mean < f) {
        below.push("mean".into());
    }
    let ppl = perplexity(session, text, usize::MAX).unwrap().perplexity;
    let ceiling = model["sample"]["perplexity_ceiling"].as_f64().unwrap();
    eprintln!("{} perplexity: {ppl:.1} (ceiling {ceiling})", model["id"]);
    if ppl > ceiling {
        below.push("perplexity".into());
    }
    below
}

fn shipped(model: &Value) -> std::path::PathBuf {
    repo_file(&format!("static/models/{}", model["id"].as_str().unwrap()))
}

/// The shipped model's architecture and config with its initial weights.
fn untrained(model: &Value) -> Session {
    let config: ModelConfig = serde_json::from_value(model["model"].clone()).unwrap();
    let full = config.full_vocab();
    let vocab = CompactVocab::new((0..full as u32 - 1).collect(), full).unwrap();
    let varmap = candle_nn::VarMap::new();
    config
        .build(seeded_var_builder(&varmap, 42), &vocab)
        .unwrap();
    let weights = export::gguf_bytes(
        &varmap,
        &config,
        &vocab,
        candle_core::quantized::GgmlDType::Q8_0,
    )
    .unwrap();
    let config_json = config.hf_json().to_string();
    Session::load(ModelFiles {
        name: "untrained",
        weights: &weights,
        config_json: Some(&config_json),
        tokenizer_json: &tokenizer_json(config.arch()),
        quantize_to: None,
    })
    .unwrap()
}

#[test]
fn the_manifest_describes_the_files_that_ship() {
    let manifest = manifest();
    let models = manifest["models"].as_array().unwrap();
    let archs: Vec<&str> = models.iter().map(|m| m["arch"].as_str().unwrap()).collect();
    assert_eq!(archs, ["t5", "gpt2"]);
    for model in models {
        for file in model["files"].as_array().unwrap() {
            let path = repo_file(&format!("static/models/{}", file["path"].as_str().unwrap()));
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(
                bytes.len() as u64,
                file["bytes"].as_u64().unwrap(),
                "{path:?}"
            );
            assert_eq!(sha256_hex(&bytes), file["sha256"], "{path:?}");
        }
        // A floor exists where the model measured enough to fall from; the
        // perplexity ceiling always.
        let floors = model["sample"]["floors"].as_object().unwrap();
        assert!(floors.len() >= 5, "{}: {floors:?}", model["id"]);
        assert!(
            floors.values().any(Value::is_number),
            "{} has no task with a floor: {floors:?}",
            model["id"]
        );
        assert!(model["sample"]["perplexity_ceiling"].as_f64().is_some());
        for key in ["exported", "trained", "without_embeddings"] {
            assert!(model["parameters"][key].as_u64().unwrap() > 0);
        }
    }
}

#[test]
fn shipped_models_hold_their_floors_and_untrained_ones_do_not() {
    let manifest = manifest();
    let sample = sample(&manifest);
    let text = text_sample(&manifest);
    for model in manifest["models"].as_array().unwrap() {
        let arch = model["arch"].as_str().unwrap();
        let session = load_session(&shipped(model), &tokenizer_json(arch)).unwrap();
        assert_eq!(session.info.arch, arch);
        let below = below_floors(&session, model, &sample, &text);
        assert!(
            below.is_empty(),
            "{} is below its floors on {below:?}",
            model["id"]
        );

        // Every floor the model has, the untrained model falls below.
        let below = below_floors(&untrained(model), model, &sample, &text);
        let mut floors: Vec<String> = model["sample"]["floors"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, f)| f.is_number())
            .map(|(t, _)| t.clone())
            .collect();
        if model["sample"]["mean_floor"].is_number() {
            floors.push("mean".into());
        }
        floors.push("perplexity".into());
        assert_eq!(below, floors, "an untrained {arch} passes some floors");
    }
}
