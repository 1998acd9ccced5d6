//! A mixed-task minibatch through the shipped pair: every row of the one
//! batch gives the ids it gives alone (and alone is what a generation
//! gives), with the same logits to the bit.

use protocol::batch::Padding;
use protocol::GenerationSettings;
use worker::generation::Generation;
use worker::session::{ModelFiles, Session};

fn read(path: &str) -> Vec<u8> {
    std::fs::read(protocol::repo_root().join(path)).unwrap()
}

fn lab(arch: &str, config: bool) -> Session {
    let dir = format!("static/models/lab-{arch}");
    let config = config.then(|| String::from_utf8(read(&format!("{dir}/config.json"))).unwrap());
    Session::load(ModelFiles {
        name: arch,
        weights: &read(&format!("{dir}/model.gguf")),
        config_json: config.as_deref(),
        tokenizer_json: &read(&format!("static/tokenizers/{arch}.json")),
        quantize_to: None,
    })
    .unwrap()
}

/// What a playground generation gives for `prompt`, greedily.
fn generated(session: &Session, prompt: &str, max: usize) -> Vec<u32> {
    let mut runner = session.runner();
    let settings = GenerationSettings {
        max_new_tokens: max,
        ..Default::default()
    };
    let ids = session.encode(prompt).unwrap();
    let mut g = Generation::start(&mut runner, &session.tokenizer, ids, settings).unwrap();
    while g.next_token().unwrap().is_some() {}
    g.generated_ids().to_vec()
}

fn check(session: &Session, prompts: &[&str], padding: Padding) {
    let prompts: Vec<String> = prompts.iter().map(|p| p.to_string()).collect();
    let result = session.mixed_batch(&prompts, 12).unwrap();
    assert_eq!(result.padding, padding);
    let lengths: Vec<usize> = result
        .mask
        .iter()
        .map(|m| m.iter().filter(|&&x| x == 1).count())
        .collect();
    assert!(
        lengths.iter().any(|&l| l < result.input_ids[0].len()),
        "rows of one length pad nothing"
    );
    for (row, mask) in result.rows.iter().zip(&result.mask) {
        // Padding only on the model's side: a real token stays at the other end.
        let real_end = match padding {
            Padding::Left => mask[mask.len() - 1],
            Padding::Right => mask[0],
        };
        assert_eq!(real_end, 1, "{}: padded on the wrong side", row.prompt);
        assert_eq!(row.ids, row.alone_ids, "{}", row.prompt);
        // To the bit: padding adds exact zeros to every sum (the softmax
        // sums in order), and any last-bit difference could become a q8_0
        // activation step downstream.
        assert!(
            row.max_logit_diff == 0.0,
            "{}: off by {}",
            row.prompt,
            row.max_logit_diff
        );
        let alone = generated(session, &row.prompt, 12);
        assert_eq!(row.ids[..], alone[..row.ids.len()], "{}", row.prompt);
        println!(
            "{:?} {} -> {:?} (diff {})",
            padding, row.prompt, row.text, row.max_logit_diff
        );
    }
}

#[test]
fn gpt2_rows_in_one_left_padded_batch_are_as_alone() {
    check(
        &lab("gpt2", false),
        &[
            "reverse words: the cat sat on the mat =>",
            "sort words: pear apple fig =>",
            "spam or ham: WIN a FREE cruise now, click here =>",
        ],
        Padding::Left,
    );
}

#[test]
fn t5_rows_in_one_right_padded_batch_are_as_alone() {
    check(
        &lab("t5", true),
        &[
            "reverse words: the cat sat on the mat",
            "sort words: pear apple fig",
            "spam or ham: WIN a FREE cruise now, click here",
        ],
        Padding::Right,
    );
}
