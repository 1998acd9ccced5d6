//! (a) A tiny model trained for a few dozen steps on inline data: the loss
//! falls clearly; (e) the same seed gives the same run; and the whole
//! command path (both stages, export, eval through the worker) works.

mod common;

use common::*;
use protocol::Arch;
use trainer::corpus::tokenize_tasks;
use trainer::eval::{evaluate, EvalOptions};
use trainer::model::ModelConfig;
use trainer::run::{run, Stage};
use trainer::{data, gpt2, t5};

fn recipe(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("recipe.json")).unwrap()).unwrap()
}

fn train(model: ModelConfig, name: &str, stage: Stage, steps: usize) -> Vec<serde_json::Value> {
    let dir = temp_dir(name);
    write_data(&dir.join("data"));
    let opts = options(model, &dir, stage, steps);
    let written = run(&opts, &[], &mut |l| println!("{l}")).unwrap();
    let recipes = written.iter().map(|d| recipe(d)).collect();
    let _ = std::fs::remove_dir_all(&dir);
    recipes
}

fn losses(r: &serde_json::Value) -> (f64, f64) {
    let report = &r["report"];
    (
        report["first_train_loss"].as_f64().unwrap(),
        report["final_train_loss"].as_f64().unwrap(),
    )
}

#[test]
fn gpt2_loss_falls() {
    let r = train(
        ModelConfig::Gpt2(gpt2::Config::tiny()),
        "gpt2-falls",
        Stage::Both,
        40,
    );
    let (first, last) = losses(&r[0]);
    println!("gpt2 pretrain {first:.3} -> {last:.3}");
    // Starts near ln(50257) = 10.8: the full-vocabulary loss.
    assert!((first - 50257f64.ln()).abs() < 0.5, "{first}");
    assert!(last < first - 4.0, "pretraining loss {first} -> {last}");
    let (f_first, f_last) = losses(&r[1]);
    println!("gpt2 finetune {f_first:.3} -> {f_last:.3}");
    assert!(
        f_last < f_first - 1.0,
        "fine-tuning loss {f_first} -> {f_last}"
    );
}

#[test]
fn t5_loss_falls() {
    let r = train(
        ModelConfig::T5(t5::Config::tiny()),
        "t5-falls",
        Stage::Both,
        40,
    );
    let (first, last) = losses(&r[0]);
    println!("t5 pretrain {first:.3} -> {last:.3}");
    assert!(last < first - 3.0, "pretraining loss {first} -> {last}");
    let (f_first, f_last) = losses(&r[1]);
    println!("t5 finetune {f_first:.3} -> {f_last:.3}");
    assert!(
        f_last < f_first - 1.0,
        "fine-tuning loss {f_first} -> {f_last}"
    );
}

#[test]
fn same_seed_same_run() {
    let model = ModelConfig::T5(t5::Config::tiny());
    let a = train(model.clone(), "seed-a", Stage::Pretrain, 12);
    let b = train(model, "seed-b", Stage::Pretrain, 12);
    assert_eq!(a[0]["report"]["curve"], b[0]["report"]["curve"]);
    assert_eq!(a[0]["report"]["valid_loss"], b[0]["report"]["valid_loss"]);
}

#[test]
fn the_command_path_trains_exports_and_evaluates() {
    let dir = temp_dir("path");
    write_data(&dir.join("data"));
    let opts = options(ModelConfig::T5(t5::Config::tiny()), &dir, Stage::Both, 15);
    let written = run(&opts, &["test".into()], &mut |_| {}).unwrap();
    assert_eq!(
        written,
        [dir.join("out/pretrain"), dir.join("out/finetune")]
    );
    let r = recipe(&written[1]);
    assert_eq!(r["stage"], "finetune");
    assert_eq!(r["report"]["steps"], 15);
    assert_eq!(r["data"].as_array().unwrap().len(), 4);
    assert_eq!(r["data"][0]["sha256"].as_str().unwrap().len(), 64);

    let report = evaluate(
        &written[1],
        &dir.join("data"),
        &tokenizer_json(Arch::T5),
        &EvalOptions {
            max_per_task: 3,
            perplexity_tokens: 200,
            samples: 1,
            page_tasks: None,
        },
    )
    .unwrap();
    assert_eq!(report.arch, Arch::T5);
    assert_eq!(report.tasks.len(), 2);
    assert_eq!(report.tasks["copy"].examples, 3);
    let ppl = report.perplexity.unwrap();
    assert!(ppl.perplexity.is_finite() && ppl.tokens > 0);

    // Eval prompts are tokenized by the Session exactly as training did.
    let session = trainer::eval::load_session(&written[1], &tokenizer_json(Arch::T5)).unwrap();
    let examples = data::read_tasks(&dir.join("data/tasks/valid.jsonl")).unwrap();
    let tokenized = tokenize_tasks(&session.tokenizer, &opts.model, examples).unwrap();
    for (ex, source, _) in &tokenized {
        let prompt = trainer::eval::prompt(&session, ex);
        assert_eq!(session.encode(&prompt).unwrap(), *source, "{prompt}");
    }
    // GPT-2: Session::encode is the tokenizer with its specials (none for GPT-2).
    let gpt2_tok = worker::session::tokenizer_from_bytes(&tokenizer_json(Arch::Gpt2)).unwrap();
    let gpt2_model = ModelConfig::Gpt2(gpt2::Config::tiny());
    let examples = data::read_tasks(&dir.join("data/tasks/valid.jsonl")).unwrap();
    for (ex, prompt, target) in tokenize_tasks(&gpt2_tok, &gpt2_model, examples).unwrap() {
        let enc = gpt2_tok.encode(ex.gpt2_prompt(), true).unwrap();
        assert_eq!(enc.get_ids(), prompt.as_slice());
        assert_eq!(target.last(), Some(&gpt2::EOS));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fine_tuning_mixes_in_pretraining_text_on_request() {
    for model in [
        ModelConfig::Gpt2(gpt2::Config::tiny()),
        ModelConfig::T5(t5::Config::tiny()),
    ] {
        let arch = model.arch();
        let dir = temp_dir(&format!("mix-{arch}"));
        write_data(&dir.join("data"));
        let mut opts = options(model, &dir, Stage::Finetune, 3);
        // One text window per eight task examples: the inline text has one.
        opts.mix_text = 0.125;
        let mut lines = Vec::new();
        let written = run(&opts, &[], &mut |l| lines.push(l.to_string())).unwrap();
        assert!(
            lines.contains(&"fine-tuning mixes in 1 pretraining-text examples".to_string()),
            "{arch}: {lines:?}"
        );
        assert_eq!(recipe(&written[0])["examples"], TASKS.len() + 1, "{arch}");
        // More text than there is: a clear error, not a short mix.
        opts.mix_text = 1.0;
        let err = run(&opts, &[], &mut |_| {}).unwrap_err().to_string();
        assert!(
            err.contains("--mix-text wants 8 text windows"),
            "{arch}: {err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
