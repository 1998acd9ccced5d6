//! `train from-scratch`: the command line of
//! [`trainer::from_scratch::into_manifest`].

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use protocol::Arch;
use trainer::eval::{page_tasks, EvalOptions};

use super::{model_arch, read, repo_file, shipped_tokenizer};

#[derive(Args)]
pub struct FromScratchArgs {
    /// The T5 fine-tuned like the shipped one from random weights (its last phase).
    #[arg(long, value_name = "DIR")]
    t5: Option<PathBuf>,
    /// The GPT-2 likewise.
    #[arg(long, value_name = "DIR")]
    gpt2: Option<PathBuf>,
    #[arg(long, value_name = "DIR", default_value = "data")]
    data: PathBuf,
    /// [default: static/models/manifest.json]
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// As `train ship` scores the shipped models.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    max_per_task: usize,
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    ppl_tokens: usize,
}

/// `train from-scratch`: what pretraining buys, into the shipped manifest.
pub fn run(args: FromScratchArgs) -> Result<()> {
    let path = args
        .manifest
        .unwrap_or_else(|| repo_file("static/models/manifest.json"));
    let opts = EvalOptions {
        max_per_task: args.max_per_task,
        perplexity_tokens: args.ppl_tokens,
        samples: 3,
        page_tasks: Some(page_tasks(&repo_file("static/tasks.json"))?),
    };
    let mut runs = Vec::new();
    for (arch, dir) in [(Arch::T5, args.t5), (Arch::Gpt2, args.gpt2)] {
        if let Some(dir) = dir {
            if model_arch(&dir)? != arch {
                anyhow::bail!("{} does not hold a {arch:?}", dir.display())
            }
            runs.push((arch, dir, read(&shipped_tokenizer(arch))?));
        }
    }
    let ood = repo_file("static/models/lab-ood.jsonl");
    trainer::from_scratch::into_manifest(&path, &runs, &args.data, &ood, &opts)
}
