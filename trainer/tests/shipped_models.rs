//! The pair the page ships (`static/models/`, written by `train ship`) holds
//! its quality floors on the fixed held-out sample, loaded through the
//! worker's `Session::load` as users' files are; the same architecture
//! untrained (our seeded initialisation, exported the same way) fails them.

mod common;

use common::*;
use std::collections::BTreeMap;

use protocol::manifest::{Manifest, ManifestModel, Measured};
use protocol::Arch;
use trainer::data::{read_paragraphs, read_tasks, sha256_hex, TaskExample};
use trainer::eval::{load_session, page_tasks, perplexity, score_tasks, EvalOptions};
use trainer::export;
use trainer::init::seeded_var_builder;
use trainer::model::ModelConfig;
use trainer::vocab::CompactVocab;
use worker::session::{ModelFiles, Session};

fn manifest() -> Manifest {
    let text = std::fs::read_to_string(repo_file("static/models/manifest.json"))
        .expect("static/models/manifest.json (written by `train ship`)");
    serde_json::from_str(&text).unwrap()
}

fn text_sample(manifest: &Manifest) -> Vec<String> {
    read_paragraphs(&repo_file(&format!(
        "static/models/{}",
        manifest.sample.text
    )))
    .unwrap()
}

fn sample(manifest: &Manifest) -> Vec<TaskExample> {
    let path = repo_file(&format!("static/models/{}", manifest.sample.file));
    let sample = read_tasks(&path).unwrap();
    assert_eq!(sample.len(), manifest.sample.examples);
    sample
}

/// The model's floors (and "perplexity", its ceiling) that `session` falls
/// below on the sample.
fn below_floors(
    session: &Session,
    model: &ManifestModel,
    sample: &[TaskExample],
    text: &[String],
) -> Vec<String> {
    let opts = EvalOptions {
        max_per_task: usize::MAX,
        perplexity_tokens: 0,
        samples: 0,
        page_tasks: Some(page_tasks(&repo_file("static/tasks.json")).unwrap()),
    };
    let floors = &model.sample;
    // Only the tasks that have a floor need running, unless the mean has one.
    let sample: Vec<TaskExample> = sample
        .iter()
        .filter(|ex| {
            let has =
                |f: &BTreeMap<String, Option<f64>>| matches!(f.get(&ex.score_key()), Some(Some(_)));
            floors.mean_floor.is_some() || has(&floors.floors) || has(&floors.word_floors)
        })
        .cloned()
        .collect();
    let mut scores = Measured::default();
    for (task, s) in score_tasks(session, &sample, &opts).unwrap() {
        scores.exact_match.insert(task.clone(), s.exact_match);
        scores.word_accuracy.insert(task, s.word_accuracy);
    }
    eprintln!("{}: {scores:?} (floors {:?})", model.id, floors.floors());
    let mut below = floors.below(&scores);
    let ppl = perplexity(session, text, usize::MAX).unwrap().perplexity;
    let ceiling = floors.perplexity_ceiling;
    eprintln!("{} perplexity: {ppl:.1} (ceiling {ceiling:?})", model.id);
    if ceiling.is_some_and(|c| ppl > c) {
        below.push("perplexity".into());
    }
    below
}

fn shipped(model: &ManifestModel) -> std::path::PathBuf {
    repo_file(&format!("static/models/{}", model.id))
}

/// The shipped model's architecture and config with its initial weights.
fn untrained(model: &ManifestModel) -> Session {
    let config: ModelConfig = serde_json::from_value(model.model.clone()).unwrap();
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
    let archs: Vec<Arch> = manifest.models.iter().map(|m| m.arch).collect();
    assert_eq!(archs, [Arch::T5, Arch::Gpt2]);
    for model in &manifest.models {
        for file in &model.files {
            let path = repo_file(&format!("static/models/{}", file.path));
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(bytes.len() as u64, file.bytes, "{path:?}");
            assert_eq!(sha256_hex(&bytes), file.sha256, "{path:?}");
        }
        // A floor exists where the model measured enough to fall from; a
        // perplexity ceiling where it is below a uniform guess's.
        let floors = &model.sample.floors;
        assert!(floors.len() >= 5, "{}: {floors:?}", model.id);
        assert!(
            !model.sample.floors().is_empty(),
            "{} has no floor: {floors:?}",
            model.id
        );
        assert!(model.sample.perplexity_ceiling.is_none_or(|c| c > 0.0));
        let p = &model.parameters;
        assert!(p.exported > 0 && p.trained > 0 && p.without_embeddings > 0);
    }
}

#[test]
fn shipped_models_hold_their_floors_and_untrained_ones_do_not() {
    let manifest = manifest();
    let sample = sample(&manifest);
    let text = text_sample(&manifest);
    for model in &manifest.models {
        let session = load_session(&shipped(model), &tokenizer_json(model.arch)).unwrap();
        assert_eq!(session.info.arch, model.arch);
        let below = below_floors(&session, model, &sample, &text);
        assert!(
            below.is_empty(),
            "{} is below its floors on {below:?}",
            model.id
        );

        // Every floor the model has, the untrained model falls below.
        let below = below_floors(&untrained(model), model, &sample, &text);
        let mut floors = model.sample.floors();
        if model.sample.perplexity_ceiling.is_some() {
            floors.push("perplexity".into());
        }
        assert_eq!(
            below, floors,
            "an untrained {} passes some floors",
            model.arch
        );
    }
}

/// The label words of every lab task are the tokens the model was trained
/// to answer (tokenized as training tokenized targets: GPT-2's after a
/// space), and the label chart the page draws from them tells spam from
/// ham on the held-out sample about as well as the greedy answers do; the
/// untrained model's chart does not.
#[test]
fn lab_label_words_are_the_trained_answers_and_the_chart_classifies() {
    let manifest = manifest();
    let tasks = page_tasks(&repo_file("static/tasks.json")).unwrap();
    let spam: Vec<TaskExample> = sample(&manifest)
        .into_iter()
        // The emails, which the "spam" floor is for (short messages have their own).
        .filter(|ex| ex.task == "spam" && ex.set.is_none())
        .collect();
    assert!(spam.len() >= 20, "the sample has {} emails", spam.len());
    for model in &manifest.models {
        let config: ModelConfig = serde_json::from_value(model.model.clone()).unwrap();
        let session = load_session(&shipped(model), &tokenizer_json(model.arch)).unwrap();
        let lab_tasks: Vec<_> = tasks
            .of(model.arch)
            .iter()
            .filter(|t| t.id.starts_with("lab_") && !t.labels.is_empty())
            .collect();
        assert!(
            !lab_tasks.is_empty(),
            "{}: no lab task has labels",
            model.id
        );
        for task in lab_tasks {
            let probs = session
                .label_probabilities(&task.render(&task.example, None), &task.labels)
                .unwrap();
            for (label, p) in task.labels.iter().zip(&probs) {
                let trained = TaskExample {
                    task: task.id.trim_start_matches("lab_").into(),
                    prefix: String::new(),
                    input: "x".into(),
                    target: label.trim().into(),
                    set: None,
                };
                let (_, _, mut target) =
                    trainer::corpus::tokenize_tasks(&session.tokenizer, &config, vec![trained])
                        .unwrap()
                        .remove(0);
                target.pop(); // end of text
                assert_eq!(p.token_ids, target, "{} {}: {label:?}", model.id, task.id);
            }
        }
        let task = tasks.find(model.arch, "lab_spam").unwrap();
        let accuracy = |session: &Session| {
            let right = spam
                .iter()
                .filter(|ex| {
                    let probs = session
                        .label_probabilities(&task.render(&ex.input, None), &task.labels)
                        .unwrap();
                    let best = probs
                        .iter()
                        .max_by(|a, b| a.share.total_cmp(&b.share))
                        .unwrap();
                    best.label.trim() == ex.target.trim()
                })
                .count();
            right as f64 / spam.len() as f64
        };
        let floor = model.sample.floors["spam"].expect("a spam floor");
        let (trained, untrained) = (accuracy(&session), accuracy(&untrained(model)));
        eprintln!(
            "{} label chart on spam: {trained:.3}, untrained {untrained:.3}",
            model.id
        );
        assert!(trained >= floor, "{}: {trained} < {floor}", model.id);
        assert!(untrained < floor, "{}: untrained {untrained}", model.id);
    }
}

/// The classification head's quality floor: on the spam preset, a head on
/// each shipped model's last layer (pooled the way its family suits: the
/// last token for causal GPT-2, the mean for T5's encoder) beats the
/// majority class clearly; on the same model untrained, the same head does
/// worse.
#[test]
fn a_head_on_the_shipped_models_classifies_spam_and_on_untrained_ones_worse() {
    use protocol::classify::{HeadSettings, Pooling};
    use worker::classify::{encode_rows, features, train_at};

    let text = std::fs::read_to_string(repo_file("static/presets/spam.jsonl")).unwrap();
    let examples = protocol::examples::parse(&text, "spam.jsonl").unwrap();
    let settings = HeadSettings::default();
    for model in &manifest().models {
        let session = load_session(&shipped(model), &tokenizer_json(model.arch)).unwrap();
        let pooling = match session.info.arch {
            Arch::Gpt2 => Pooling::Last,
            Arch::T5 => Pooling::Mean,
        };
        let set = protocol::examples::split(&examples, 0.25, 42).unwrap();
        let texts: Vec<String> = examples.iter().map(|e| e.text.clone()).collect();
        let at_top = |session: &Session| {
            let (ids, _, _) = encode_rows(session, &texts).unwrap();
            let features = features(session, &ids).unwrap();
            // The encoder's last layer for T5 (the decoder's state follows it).
            let top = match session.info.arch {
                Arch::Gpt2 => features.layers.len() - 1,
                Arch::T5 => session.info.encoder_layers,
            };
            let (_, report) = train_at(&features, top, pooling, &set, &settings).unwrap();
            assert_eq!(
                report.confusion.iter().flatten().sum::<u32>() as usize,
                set.test.len()
            );
            report.test_accuracy
        };
        let spam = set.classes.iter().position(|c| c == "spam").unwrap();
        let share = |c| set.test.iter().filter(|&&r| set.labels[r] == c).count() as f32;
        let majority = share(spam).max(share(1 - spam)) / set.test.len() as f32;
        let trained = at_top(&session);
        let untrained = at_top(&untrained(model));
        eprintln!(
            "{}: trained {trained:.3}, untrained {untrained:.3}, majority {majority:.3}",
            model.id
        );
        assert!(
            trained >= majority + 0.25,
            "{}: {trained} vs majority {majority}",
            model.id
        );
        assert!(
            untrained < trained - 0.05,
            "{}: untrained {untrained} vs {trained}",
            model.id
        );
    }
}
