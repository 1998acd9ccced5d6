//! `train`: trains GPT-2 or T5 on `data/` and exports them for the page;
//! `train eval` scores an exported model through the worker's Session;
//! `train ship` puts the fine-tuned pair into `static/models/`.
//! `train --help` and `train <command> --help` list the flags.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use candle_core::quantized::GgmlDType;
use clap::{Args, Parser, Subcommand, ValueEnum};
use protocol::Arch;
use trainer::eval::{evaluate, page_tasks, EvalOptions};
use trainer::export;
use trainer::model::ModelConfig;
use trainer::run::{run, RunOptions, Stage};
use trainer::train::StageOptions;
use trainer::{gpt2, t5};
use worker::session::config_model_type;

#[path = "train/from_scratch.rs"]
mod from_scratch;
#[path = "train/ship.rs"]
mod ship;

/// Trains the lab's small GPT-2 and T5, scores them, and ships them to the page.
#[derive(Parser)]
#[command(name = "train")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Trains a GPT-2 (decoder-only).
    Gpt2(TrainArgs),
    /// Trains a T5 (encoder–decoder).
    T5(TrainArgs),
    /// Scores an exported model; the report is JSON on stdout.
    Eval(EvalArgs),
    /// Copies the fine-tuned pair into static/models/ with its manifest.
    Ship(ship::ShipArgs),
    /// Scores fine-tuning runs from random weights into the shipped
    /// manifest's `scores.from_scratch`, beside the shipped models.
    FromScratch(from_scratch::FromScratchArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum StageArg {
    Pretrain,
    Finetune,
    Both,
}

#[derive(Args)]
struct TrainArgs {
    #[arg(long, value_enum, default_value_t = StageArg::Both)]
    stage: StageArg,
    /// Written by scripts/data/fetch.sh.
    #[arg(long, value_name = "DIR", default_value = "data")]
    data: PathBuf,
    /// [default: out/ARCH]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The whole run's time box.
    #[arg(long, value_name = "N", default_value_t = 30.0)]
    minutes: f64,
    /// The share of --minutes for pretraining when both stages run.
    #[arg(long, value_name = "F", default_value_t = 0.6)]
    pretrain_share: f64,
    /// Exact step count (the time box still applies).
    #[arg(long, value_name = "N")]
    pretrain_steps: Option<usize>,
    /// Exact step count (the time box still applies).
    #[arg(long, value_name = "N")]
    finetune_steps: Option<usize>,
    #[arg(long, value_name = "S", default_value_t = 42)]
    seed: u64,
    /// A tiny model and short sequences, for quick checks.
    #[arg(long)]
    tiny: bool,
    /// Continue from an output directory (e.g. out/t5/pretrain).
    #[arg(long, value_name = "DIR")]
    init: Option<PathBuf>,
    /// Pretraining sequences per batch [default: 16; 8 with --tiny]
    #[arg(long, value_name = "B")]
    batch: Option<usize>,
    /// Fine-tuning examples per batch [default: 128; 8 with --tiny]
    #[arg(long, value_name = "B")]
    finetune_batch: Option<usize>,
    /// GPT-2 tokens per sequence, T5 encoder tokens [default: 128; 32 with --tiny]
    #[arg(long, value_name = "T")]
    seq: Option<usize>,
    /// Tokens per fine-tuning row, which holds several examples (T5: encoder
    /// tokens); 1 = one example per row [default: 128; 32 with --tiny]
    #[arg(long, value_name = "T")]
    pack: Option<usize>,
    #[arg(long, value_name = "LR", default_value_t = 1e-3)]
    lr: f64,
    /// [default: half of --lr]
    #[arg(long, value_name = "LR")]
    finetune_lr: Option<f64>,
    /// Warmup steps (half for fine-tuning).
    #[arg(long, value_name = "N", default_value_t = 20)]
    warmup: usize,
    #[arg(long, value_name = "W", default_value_t = 0.1)]
    weight_decay: f64,
    /// Global gradient-norm clip.
    #[arg(long, value_name = "C", default_value_t = 1.0)]
    clip: f64,
    /// Keep only the K most frequent ids (the rest share one row).
    #[arg(long, value_name = "K")]
    max_vocab: Option<usize>,
    /// Pretraining-text examples per task example in fine-tuning.
    #[arg(long, value_name = "F", default_value_t = 0.0)]
    mix_text: f64,
    /// Type of the exported 2-D weights (q8_0 or f32).
    #[arg(long, value_name = "TYPE", default_value = "q8_0", value_parser = dtype)]
    export: GgmlDType,
    /// [default: 25; 10 with --tiny]
    #[arg(long, value_name = "N")]
    log_every: Option<usize>,
    #[arg(long, value_name = "N", default_value_t = 20)]
    valid_batches: usize,
    /// [default: static/tokenizers/ARCH.json]
    #[arg(long, value_name = "FILE")]
    tokenizer: Option<PathBuf>,
    /// Layers (T5: each of encoder and decoder).
    #[arg(long, value_name = "N")]
    layers: Option<usize>,
    #[arg(long, value_name = "N")]
    width: Option<usize>,
    #[arg(long, value_name = "N")]
    heads: Option<usize>,
    /// T5's relative-position buckets: the encoder gives each direction
    /// half, and a distance under a quarter of them has a bucket of its own [default: 32]
    #[arg(long, value_name = "N")]
    buckets: Option<usize>,
}

#[derive(Args)]
struct EvalArgs {
    /// A trainer output or a folder with model.gguf and config.json.
    #[arg(long, value_name = "DIR")]
    model: PathBuf,
    #[arg(long, value_name = "DIR", default_value = "data")]
    data: PathBuf,
    #[arg(long, value_name = "N", default_value_t = 200)]
    max_per_task: usize,
    /// Held-out tokens for the perplexity.
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    ppl_tokens: usize,
    /// Outputs shown per task.
    #[arg(long, value_name = "N", default_value_t = 3)]
    samples: usize,
    /// [default: static/tokenizers/ARCH.json]
    #[arg(long, value_name = "FILE")]
    tokenizer: Option<PathBuf>,
}

/// `--export` values; clap names the flag when one is refused.
fn dtype(name: &str) -> Result<GgmlDType, String> {
    worker::weights::parse_dtype(name).map_err(|e| worker::plain_error(&e))
}

fn repo_file(rel: &str) -> PathBuf {
    protocol::repo_root().join(rel)
}

/// The tokenizer the page ships for an architecture.
fn shipped_tokenizer(arch: Arch) -> PathBuf {
    repo_file("static").join(arch.default_tokenizer_url())
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn model_config(arch: Arch, args: &TrainArgs) -> Result<ModelConfig> {
    Ok(match arch {
        Arch::Gpt2 => {
            if args.buckets.is_some() {
                bail!("--buckets is T5's: GPT-2 has learnt absolute positions")
            }
            let mut c = if args.tiny {
                gpt2::Config::tiny()
            } else {
                gpt2::Config::small()
            };
            c.n_layer = args.layers.unwrap_or(c.n_layer);
            c.n_embd = args.width.unwrap_or(c.n_embd);
            c.n_head = args.heads.unwrap_or(c.n_head);
            c.validate()?;
            ModelConfig::Gpt2(c)
        }
        Arch::T5 => {
            let mut c = if args.tiny {
                t5::Config::tiny()
            } else {
                t5::Config::small()
            };
            c.num_layers = args.layers.unwrap_or(c.num_layers);
            c.num_decoder_layers = args.layers.unwrap_or(c.num_decoder_layers);
            if let Some(w) = args.width {
                c.d_model = w;
                c.d_ff = 4 * w;
            }
            c.num_heads = args.heads.unwrap_or(c.num_heads);
            c.d_kv = c.d_model / c.num_heads.max(1);
            c.relative_attention_num_buckets =
                args.buckets.unwrap_or(c.relative_attention_num_buckets);
            c.validate()?;
            ModelConfig::T5(c)
        }
    })
}

fn train(arch: Arch, args: TrainArgs, command: &[String]) -> Result<()> {
    let model = model_config(arch, &args)?;
    let tiny = args.tiny;
    let default_seq = if tiny { 32 } else { 128 };
    let stage = match args.stage {
        StageArg::Pretrain => Stage::Pretrain,
        StageArg::Finetune => Stage::Finetune,
        StageArg::Both => Stage::Both,
    };
    let (minutes, share) = (args.minutes, args.pretrain_share);
    if !(minutes > 0.0 && (0.0..=1.0).contains(&share)) {
        bail!("--minutes must be positive and --pretrain-share within 0..1")
    }
    let (pre_s, fine_s) = match stage {
        Stage::Both => (minutes * 60.0 * share, minutes * 60.0 * (1.0 - share)),
        _ => (minutes * 60.0, minutes * 60.0),
    };
    let log_every = args.log_every.unwrap_or(if tiny { 10 } else { 25 });
    let stage_opts = |steps, seconds, batch_size, lr, warmup| StageOptions {
        steps,
        seconds,
        batch_size,
        lr,
        min_lr_ratio: 0.1,
        warmup,
        weight_decay: args.weight_decay,
        clip: args.clip,
        log_every,
    };
    let opts = RunOptions {
        model,
        stage,
        pretrain: stage_opts(
            args.pretrain_steps,
            pre_s,
            args.batch.unwrap_or(if tiny { 8 } else { 16 }),
            args.lr,
            args.warmup,
        ),
        finetune: stage_opts(
            args.finetune_steps,
            fine_s,
            args.finetune_batch.unwrap_or(if tiny { 8 } else { 128 }),
            args.finetune_lr.unwrap_or(args.lr / 2.0),
            (args.warmup / 2).max(1),
        ),
        data: args.data,
        out: args.out.unwrap_or_else(|| format!("out/{arch}").into()),
        tokenizer: args.tokenizer.unwrap_or_else(|| shipped_tokenizer(arch)),
        init: args.init,
        seed: args.seed,
        sequence_length: args.seq.unwrap_or(default_seq),
        pack: args.pack.unwrap_or(default_seq),
        max_vocab: args.max_vocab,
        mix_text: args.mix_text,
        export_dtype: args.export,
        valid_batches: args.valid_batches,
    };
    run(&opts, command, &mut |line| println!("{line}"))?;
    Ok(())
}

/// The architecture of a trainer output (its trainer.json), else of an
/// exported folder (config.json's `model_type`); never a guess.
fn model_arch(dir: &Path) -> Result<Arch> {
    if let Ok(state) = export::read_state(dir) {
        return Ok(state.model.arch());
    }
    let path = dir.join(export::CONFIG);
    let config = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let model_type = config_model_type(Some(config.as_str()))?
        .with_context(|| format!("{} names no model_type", path.display()))?;
    model_type.parse::<Arch>().map_err(anyhow::Error::msg)
}

fn eval(args: EvalArgs) -> Result<()> {
    let arch = model_arch(&args.model)?;
    let tokenizer = args.tokenizer.unwrap_or_else(|| shipped_tokenizer(arch));
    let opts = EvalOptions {
        max_per_task: args.max_per_task,
        perplexity_tokens: args.ppl_tokens,
        samples: args.samples,
        page_tasks: Some(page_tasks(&repo_file("static/tasks.json"))?),
    };
    let report = evaluate(&args.model, &args.data, &read(&tokenizer)?, &opts)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// The command line, or exit: a usage error reads `train: ...` like every
/// other failure; `--help` prints as clap prints it.
fn parse(argv: &[String]) -> Cli {
    Cli::try_parse_from(argv).unwrap_or_else(|e| {
        let text = e.to_string();
        match text.strip_prefix("error: ") {
            Some(message) => {
                eprint!("train: {message}");
                std::process::exit(e.exit_code())
            }
            None => e.exit(),
        }
    })
}

fn main() {
    // The whole command line goes into each stage's recipe.json.
    let argv: Vec<String> = std::env::args().collect();
    let result = match parse(&argv).command {
        Command::Gpt2(args) => train(Arch::Gpt2, args, &argv),
        Command::T5(args) => train(Arch::T5, args, &argv),
        Command::Eval(args) => eval(args),
        Command::Ship(args) => ship::run(args),
        Command::FromScratch(args) => from_scratch::run(args),
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
