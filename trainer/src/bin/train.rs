//! `train`: trains GPT-2 or T5 on `data/` and exports them for the page;
//! `train eval` scores an exported model through the worker's Session.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use trainer::eval::{evaluate, page_tasks, EvalOptions};
use trainer::model::ModelConfig;
use trainer::run::{run, RunOptions, Stage};
use trainer::ship::{ShipModel, ShipOptions};
use trainer::train::StageOptions;
use trainer::{gpt2, t5};

const USAGE: &str = "usage:
  train gpt2|t5 [--stage pretrain|finetune|both] [--data DIR] [--out DIR] [--minutes N]
        [--pretrain-share F] [--pretrain-steps N] [--finetune-steps N] [--seed S] [--tiny]
        [--init DIR] [--batch B] [--finetune-batch B] [--seq T] [--pack T] [--lr LR] [--finetune-lr LR] [--warmup N]
        [--weight-decay W] [--clip C] [--max-vocab K] [--mix-text F] [--export q8_0|f32]
        [--log-every N] [--valid-batches N] [--tokenizer FILE]
        [--layers N] [--width N] [--heads N]
  train eval --model DIR [--data DIR] [--max-per-task N] [--ppl-tokens N] [--samples N] [--tokenizer FILE]
  train ship --t5 DIR --gpt2 DIR [--data DIR] [--to DIR] [--sample-per-task N] [--max-per-task N] [--ppl-tokens N]";

struct Args {
    flags: HashMap<String, String>,
    switches: Vec<String>,
}

const SWITCHES: &[&str] = &["tiny"];

fn parse(args: &[String]) -> Result<Args> {
    let mut out = Args {
        flags: HashMap::new(),
        switches: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let Some(name) = a.strip_prefix("--") else {
            bail!("unexpected argument {a:?}\n{USAGE}")
        };
        if SWITCHES.contains(&name) {
            out.switches.push(name.to_string());
        } else {
            let value = it
                .next()
                .with_context(|| format!("--{name} needs a value"))?;
            out.flags.insert(name.to_string(), value.clone());
        }
    }
    Ok(out)
}

impl Args {
    fn get<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>> {
        self.flags
            .get(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| anyhow::anyhow!("--{name}: cannot read {v:?}"))
            })
            .transpose()
    }

    fn or<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T> {
        Ok(self.get(name)?.unwrap_or(default))
    }

    fn path(&self, name: &str, default: &str) -> PathBuf {
        PathBuf::from(self.flags.get(name).map_or(default, String::as_str))
    }

    fn check(&self, known: &[&str]) -> Result<()> {
        match self.flags.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => bail!("unknown option --{k}\n{USAGE}"),
            None => Ok(()),
        }
    }
}

fn repo_file(rel: &str) -> PathBuf {
    protocol::repo_root().join(rel)
}

fn train(arch: &str, args: &Args, command: &[String]) -> Result<()> {
    args.check(&[
        "stage",
        "data",
        "out",
        "minutes",
        "pretrain-share",
        "pretrain-steps",
        "finetune-steps",
        "seed",
        "init",
        "batch",
        "finetune-batch",
        "seq",
        "pack",
        "lr",
        "finetune-lr",
        "warmup",
        "weight-decay",
        "clip",
        "max-vocab",
        "export",
        "log-every",
        "valid-batches",
        "tokenizer",
        "layers",
        "width",
        "heads",
        "mix-text",
    ])?;
    let tiny = args.switches.iter().any(|s| s == "tiny");
    let layers: Option<usize> = args.get("layers")?;
    let width: Option<usize> = args.get("width")?;
    let heads: Option<usize> = args.get("heads")?;
    let (model, default_seq, tokenizer) = match arch {
        "gpt2" => {
            let mut c = if tiny {
                gpt2::Config::tiny()
            } else {
                gpt2::Config::small()
            };
            c.n_layer = layers.unwrap_or(c.n_layer);
            c.n_embd = width.unwrap_or(c.n_embd);
            c.n_head = heads.unwrap_or(c.n_head);
            c.validate()?;
            let seq = if tiny { 32 } else { 128 };
            (ModelConfig::Gpt2(c), seq, "static/tokenizers/gpt2.json")
        }
        "t5" => {
            let mut c = if tiny {
                t5::Config::tiny()
            } else {
                t5::Config::small()
            };
            c.num_layers = layers.unwrap_or(c.num_layers);
            c.num_decoder_layers = layers.unwrap_or(c.num_decoder_layers);
            if let Some(w) = width {
                c.d_model = w;
                c.d_ff = 4 * w;
            }
            c.num_heads = heads.unwrap_or(c.num_heads);
            c.d_kv = c.d_model / c.num_heads.max(1);
            c.validate()?;
            let seq = if tiny { 32 } else { 128 };
            (ModelConfig::T5(c), seq, "static/tokenizers/t5.json")
        }
        _ => unreachable!("checked by the caller"),
    };
    let stage = match args.flags.get("stage").map_or("both", String::as_str) {
        "pretrain" => Stage::Pretrain,
        "finetune" => Stage::Finetune,
        "both" => Stage::Both,
        other => bail!("--stage {other}: use pretrain, finetune or both"),
    };
    let minutes: f64 = args.or("minutes", 30.0)?;
    let share: f64 = args.or("pretrain-share", 0.6)?;
    if !(minutes > 0.0 && (0.0..=1.0).contains(&share)) {
        bail!("--minutes must be positive and --pretrain-share within 0..1")
    }
    let (pre_s, fine_s) = match stage {
        Stage::Both => (minutes * 60.0 * share, minutes * 60.0 * (1.0 - share)),
        _ => (minutes * 60.0, minutes * 60.0),
    };
    let lr: f64 = args.or("lr", 1e-3)?;
    let warmup: usize = args.or("warmup", 20)?;
    let weight_decay: f64 = args.or("weight-decay", 0.1)?;
    let clip: f64 = args.or("clip", 1.0)?;
    let log_every: usize = args.or("log-every", if tiny { 10 } else { 25 })?;
    let stage_opts = |steps, seconds, batch_size, lr, warmup| StageOptions {
        steps,
        seconds,
        batch_size,
        lr,
        min_lr_ratio: 0.1,
        warmup,
        weight_decay,
        clip,
        log_every,
    };
    let export_dtype =
        worker::weights::parse_dtype(args.flags.get("export").map_or("q8_0", String::as_str))?;
    let opts = RunOptions {
        model,
        stage,
        data: args.path("data", "data"),
        out: args.path("out", &format!("out/{arch}")),
        tokenizer: args
            .flags
            .get("tokenizer")
            .map_or_else(|| repo_file(tokenizer), PathBuf::from),
        init: args.flags.get("init").map(PathBuf::from),
        seed: args.or("seed", 42)?,
        sequence_length: args.or("seq", default_seq)?,
        pack: args.or("pack", default_seq)?,
        pretrain: stage_opts(
            args.get("pretrain-steps")?,
            pre_s,
            args.or("batch", if tiny { 8 } else { 16 })?,
            lr,
            warmup,
        ),
        finetune: stage_opts(
            args.get("finetune-steps")?,
            fine_s,
            args.or("finetune-batch", if tiny { 8 } else { 128 })?,
            args.or("finetune-lr", lr / 2.0)?,
            (warmup / 2).max(1),
        ),
        max_vocab: args.get("max-vocab")?,
        mix_text: args.or("mix-text", 0.0)?,
        export_dtype,
        valid_batches: args.or("valid-batches", 20)?,
    };
    run(&opts, command, &mut |line| println!("{line}"))?;
    Ok(())
}

fn eval(args: &Args) -> Result<()> {
    args.check(&[
        "model",
        "data",
        "max-per-task",
        "ppl-tokens",
        "samples",
        "tokenizer",
    ])?;
    let dir = PathBuf::from(args.flags.get("model").context("--model DIR is required")?);
    let arch = trainer::export::read_state(&dir)
        .map(|s| s.model.arch())
        .or_else(|_| {
            let cfg = std::fs::read_to_string(dir.join(trainer::export::CONFIG))?;
            let v: serde_json::Value = serde_json::from_str(&cfg)?;
            Ok::<_, anyhow::Error>(if v["model_type"] == "t5" {
                "t5"
            } else {
                "gpt2"
            })
        })?;
    let tokenizer = args.flags.get("tokenizer").map_or_else(
        || repo_file(&format!("static/tokenizers/{arch}.json")),
        PathBuf::from,
    );
    let tokenizer_json = std::fs::read(&tokenizer)
        .with_context(|| format!("cannot read {}", tokenizer.display()))?;
    let opts = EvalOptions {
        max_per_task: args.or("max-per-task", 200)?,
        perplexity_tokens: args.or("ppl-tokens", 20_000)?,
        samples: args.or("samples", 3)?,
        page_tasks: Some(page_tasks(&repo_file("static/tasks.json"))?),
    };
    let report = evaluate(&dir, &args.path("data", "data"), &tokenizer_json, &opts)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// `train ship`: the fine-tuned pair into `static/models/` with its manifest.
fn ship(args: &Args) -> Result<()> {
    args.check(&[
        "t5",
        "gpt2",
        "data",
        "to",
        "sample-per-task",
        "max-per-task",
        "ppl-tokens",
    ])?;
    let mut models = Vec::new();
    for (arch, id, label) in [
        ("t5", "lab-t5", "Lab T5"),
        ("gpt2", "lab-gpt2", "Lab GPT-2"),
    ] {
        let dir = args
            .flags
            .get(arch)
            .with_context(|| format!("--{arch} DIR (a fine-tuned output) is required"))?;
        let tokenizer = repo_file(&format!("static/tokenizers/{arch}.json"));
        models.push(ShipModel {
            id: id.into(),
            label: label.into(),
            dir: PathBuf::from(dir),
            tokenizer_json: std::fs::read(&tokenizer)
                .with_context(|| format!("cannot read {}", tokenizer.display()))?,
        });
    }
    let opts = ShipOptions {
        models,
        data: args.path("data", "data"),
        to: args
            .flags
            .get("to")
            .map_or_else(|| repo_file("static/models"), PathBuf::from),
        sample_per_task: args.or("sample-per-task", 20)?,
        eval: EvalOptions {
            max_per_task: args.or("max-per-task", 1000)?,
            perplexity_tokens: args.or("ppl-tokens", 20_000)?,
            samples: 3,
            page_tasks: Some(page_tasks(&repo_file("static/tasks.json"))?),
        },
    };
    let manifest = trainer::ship::ship(&opts)?;
    for m in manifest["models"].as_array().into_iter().flatten() {
        eprintln!(
            "{}: held-out mean exact match {}, sample {}, floors {}",
            m["id"],
            m["scores"]["mean_exact_match"],
            m["sample"]["mean_exact_match"],
            m["sample"]["floors"]
        );
    }
    Ok(())
}

fn main() {
    let all: Vec<String> = std::env::args().collect();
    let result = match all.get(1).map(String::as_str) {
        Some(arch @ ("gpt2" | "t5")) => parse(&all[2..]).and_then(|a| train(arch, &a, &all)),
        Some("eval") => parse(&all[2..]).and_then(|a| eval(&a)),
        Some("ship") => parse(&all[2..]).and_then(|a| ship(&a)),
        _ => Err(anyhow::anyhow!("{USAGE}")),
    };
    if let Err(e) = result {
        let message = match e.downcast_ref::<candle_core::Error>() {
            Some(c) => worker::plain_error(c),
            None => format!("{e:#}"),
        };
        eprintln!("train: {message}");
        std::process::exit(1);
    }
}
