//! `train ship`: the command line of [`trainer::ship::ship`].

use std::path::PathBuf;

use anyhow::Result;
use clap::{ArgGroup, Args};
use protocol::Arch;
use trainer::eval::{page_tasks, EvalOptions};
use trainer::ship::{ShipModel, ShipOptions};

use super::{read, repo_file, shipped_tokenizer};

/// At least one of the pair: a model not named keeps its shipped files.
#[derive(Args)]
#[command(group(ArgGroup::new("models").required(true).multiple(true).args(["t5", "gpt2"])))]
pub struct ShipArgs {
    /// The fine-tuned T5 (e.g. out/t5/finetune); without it the shipped T5 stays.
    #[arg(long, value_name = "DIR")]
    t5: Option<PathBuf>,
    /// The fine-tuned GPT-2 (e.g. out/gpt2/finetune); without it the shipped GPT-2 stays.
    #[arg(long, value_name = "DIR")]
    gpt2: Option<PathBuf>,
    /// The T5 fine-tuned the same way from random initialisation.
    #[arg(long, value_name = "DIR")]
    t5_scratch: Option<PathBuf>,
    /// The GPT-2 fine-tuned the same way from random initialisation.
    #[arg(long, value_name = "DIR")]
    gpt2_scratch: Option<PathBuf>,
    #[arg(long, value_name = "DIR", default_value = "data")]
    data: PathBuf,
    /// The out-of-distribution set (scripts/data/ood.py) [default: static/models/lab-ood.jsonl]
    #[arg(long, value_name = "FILE")]
    ood: Option<PathBuf>,
    /// Every N-th example of each out-of-distribution set joins the sample.
    #[arg(long, value_name = "N", default_value_t = 3)]
    ood_every: usize,
    /// [default: static/models]
    #[arg(long, value_name = "DIR")]
    to: Option<PathBuf>,
    /// Held-out examples per task in the floor tests' sample.
    #[arg(long, value_name = "N", default_value_t = 20)]
    sample_per_task: usize,
    #[arg(long, value_name = "N", default_value_t = 1000)]
    max_per_task: usize,
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    ppl_tokens: usize,
}

/// `train ship`: the fine-tuned pair into `static/models/` with its manifest.
pub fn run(args: ShipArgs) -> Result<()> {
    let mut models = Vec::new();
    for (arch, id, label, dir, scratch) in [
        (Arch::T5, "lab-t5", "Lab T5", args.t5, args.t5_scratch),
        (
            Arch::Gpt2,
            "lab-gpt2",
            "Lab GPT-2",
            args.gpt2,
            args.gpt2_scratch,
        ),
    ] {
        models.push(ShipModel {
            arch,
            id: id.into(),
            label: label.into(),
            dir,
            scratch,
            tokenizer_json: read(&shipped_tokenizer(arch))?,
        });
    }
    let opts = ShipOptions {
        models,
        data: args.data,
        to: args.to.unwrap_or_else(|| repo_file("static/models")),
        sample_per_task: args.sample_per_task,
        ood: args
            .ood
            .unwrap_or_else(|| repo_file("static/models/lab-ood.jsonl")),
        ood_every: args.ood_every,
        eval: EvalOptions {
            max_per_task: args.max_per_task,
            perplexity_tokens: args.ppl_tokens,
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
