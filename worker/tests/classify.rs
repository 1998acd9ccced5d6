//! The classification head's plumbing on the shipped pair: features made in
//! length-ordered batches are each row's features alone, in the input's
//! order; an exported head predicts what it predicted before export and
//! refuses another model; the baselines measure what they say.

use protocol::classify::{HeadFile, HeadSettings, LabelledSet, Pooling};
use protocol::examples::{split, Example};
use worker::classify::{baselines, encode_rows, features, head_file, predict, train_at};
use worker::features::pooled_features;
use worker::session::{ModelFiles, Session};

fn read(path: &str) -> Vec<u8> {
    std::fs::read(protocol::repo_root().join(path)).unwrap()
}

fn lab(arch: &str) -> Session {
    let dir = format!("static/models/lab-{arch}");
    let config = String::from_utf8(read(&format!("{dir}/config.json"))).unwrap();
    Session::load(ModelFiles {
        name: &format!("lab-{arch}"),
        weights: &read(&format!("{dir}/model.gguf")),
        config_json: Some(&config),
        tokenizer_json: &read(&format!("static/tokenizers/{arch}.json")),
        quantize_to: None,
    })
    .unwrap()
}

/// Two classes a single word tells apart, texts of many lengths.
fn fruit() -> Vec<Example> {
    let filler = [
        "",
        "today",
        "at the market",
        "for the whole family this week",
        "again",
    ];
    let mut out = Vec::new();
    for i in 0..24 {
        let (label, word) = if i % 3 == 0 {
            ("a", "apples")
        } else {
            ("b", "bananas")
        };
        out.push(Example {
            label: label.into(),
            text: format!("we bought {word} {}", filler[i % filler.len()]),
        });
    }
    out
}

fn texts(examples: &[Example]) -> Vec<String> {
    examples.iter().map(|e| e.text.clone()).collect()
}

#[test]
fn batched_features_are_each_rows_features_alone_in_the_inputs_order() {
    for arch in ["gpt2", "t5"] {
        let session = lab(arch);
        let (rows, cut, _) = encode_rows(&session, &texts(&fruit())).unwrap();
        assert_eq!(cut, 0);
        let all = features(&session, &rows).unwrap();
        // A text longer than the model reads is cut, and counted.
        let long = vec!["word ".repeat(600)];
        let (long_rows, cut, max) = encode_rows(&session, &long).unwrap();
        assert_eq!((cut, long_rows[0].len()), (1, max));
        assert_eq!(all.rows(), rows.len());
        for (r, row) in rows.iter().enumerate() {
            let alone = pooled_features(&session.model, std::slice::from_ref(row)).unwrap();
            for layer in 0..all.layers.len() {
                for pooling in Pooling::ALL {
                    let (a, b) = (all.get(r, layer, pooling), alone.get(0, layer, pooling));
                    let d = a
                        .iter()
                        .zip(b)
                        .map(|(x, y)| (x - y).abs())
                        .fold(0.0, f32::max);
                    assert!(d < 1e-3, "{arch} row {r} layer {layer} {pooling:?}: {d}");
                }
            }
        }
    }
}

#[test]
fn an_exported_head_predicts_as_before_and_refuses_another_model() {
    let (gpt2, t5) = (lab("gpt2"), lab("t5"));
    let examples = fruit();
    let set = split(&examples, 0.25, 3).unwrap();
    let (rows, _, _) = encode_rows(&gpt2, &texts(&examples)).unwrap();
    let feats = features(&gpt2, &rows).unwrap();
    let settings = HeadSettings::default();
    let (head, report) = train_at(&feats, 4, Pooling::Last, &set, &settings).unwrap();
    assert_eq!(report.predictions.len(), set.test.len());
    let file = head_file(&gpt2, &head, &feats, 4, Pooling::Last, &set, &settings);
    let json = serde_json::to_string(&file).unwrap();
    let back = HeadFile::from_json(&json).unwrap();
    assert_eq!(
        (back.layer, back.pooling, back.model.as_str()),
        (4, Pooling::Last, "lab-gpt2")
    );
    let row = set.test[0];
    let before = head.probabilities(feats.get(row, 4, Pooling::Last));
    let after = predict(&gpt2, &back, &examples[row].text).unwrap();
    let d = before
        .iter()
        .zip(&after)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(d < 1e-4, "{before:?} vs {after:?}");

    let refused = predict(&t5, &back, "we bought apples")
        .unwrap_err()
        .to_string();
    assert!(refused.contains("trained on lab-gpt2"), "{refused}");
    let mut cut = back.clone();
    cut.classes.pop();
    // A head sent to the worker is checked the same way: refused, no panic.
    let sent = predict(&gpt2, &cut, "we bought apples")
        .unwrap_err()
        .to_string();
    assert!(sent.contains("do not fit together"), "{sent}");
    let broken = HeadFile::from_json(&serde_json::to_string(&cut).unwrap()).unwrap_err();
    assert!(broken.contains("do not fit together"), "{broken}");
    assert!(HeadFile::from_json("{\"format\": 1}")
        .unwrap_err()
        .contains("not a head file"));
    // Sizes whose product overflows (found by the fuzz test): refused, no panic.
    let mut huge = back.clone();
    huge.out.inputs = usize::MAX / 2 + 1;
    huge.out.outputs = 2;
    let message = HeadFile::from_json(&serde_json::to_string(&huge).unwrap()).unwrap_err();
    assert!(message.contains("do not fit together"), "{message}");
}

#[test]
fn the_baselines_measure_the_majority_and_the_words() {
    let session = lab("t5");
    let examples = fruit();
    let set = split(&examples, 0.25, 5).unwrap();
    let (rows, _, _) = encode_rows(&session, &texts(&examples)).unwrap();
    let b = baselines(&rows, &set, &HeadSettings::default()).unwrap();
    // One word decides the class: the bag of words gets every test row.
    assert_eq!(b.bag_of_words, 1.0);
    let b_share = set.test.iter().filter(|&&r| set.labels[r] == 1).count() as f32;
    assert_eq!(
        b.majority,
        b_share / set.test.len() as f32,
        "class b is the majority"
    );
    // Stale rows are refused, not misread.
    let stale = LabelledSet {
        labels: vec![0; 3],
        ..set
    };
    assert!(baselines(&rows, &stale, &HeadSettings::default()).is_err());
}
