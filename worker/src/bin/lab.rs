//! `lab`: the worker's model code on the command line, for checking model
//! files before class and for benchmarks. `lab --help` and
//! `lab <command> --help` list the flags.
//!
//!   lab inspect FILE [--config config.json]
//!   lab generate --model FILE --prompt TEXT [--prefix TEXT] [--json] ...
//!   lab classify --model FILE --task ID --prompt TEXT [--second TEXT] ...
//!   lab sweep --model FILE --examples static/presets/spam.jsonl ...
//!   lab bench-models --out DIR

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    if let Err(e) = cli::run(cli::parse()) {
        let message = match e.downcast_ref::<candle_core::Error>() {
            Some(candle) => worker::plain_error(candle),
            None => format!("{e:#}"),
        };
        eprintln!("lab: {message}");
        std::process::exit(1);
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use std::io::Write;
    use std::path::{Path, PathBuf};

    use anyhow::{Context, Result};
    use candle_core::quantized::GgmlDType;
    use clap::{Args, Parser, Subcommand};
    use protocol::classify::HeadSettings;
    use protocol::tasks::Tasks;
    use protocol::{Arch, GenerationSettings};
    use worker::generation::Generation;
    use worker::session::{detect_arch, load_model, tokenizer_from_bytes, Session};
    use worker::weights::{dtype_name, parse_dtype, TensorStore};

    /// The worker's model code on the command line: the same files and code as the page.
    #[derive(Parser)]
    #[command(name = "lab")]
    pub struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(Subcommand)]
    enum Command {
        /// Lists a model file's tensors and checks that it loads.
        Inspect {
            /// The model file (GGUF or safetensors).
            file: PathBuf,
            /// Hugging Face config.json for the model (T5 files need it).
            #[arg(long, value_name = "FILE")]
            config: Option<PathBuf>,
        },
        /// Generates text after a prompt and reports its speed.
        Generate(GenerateArgs),
        /// Prints the label words' probabilities for a classification task.
        Classify(ClassifyArgs),
        /// Trains a classification head at every layer × pooling on labelled
        /// examples and prints each one's held-out accuracy.
        Sweep(SweepArgs),
        /// Writes random weights of the real gpt2 (124M) and t5-small shapes
        /// in q8_0 and q4_0: the benchmark's models (`scripts/bench.sh`).
        BenchModels {
            #[arg(long, value_name = "DIR")]
            out: PathBuf,
        },
    }

    #[derive(Args)]
    struct SweepArgs {
        #[command(flatten)]
        model: ModelArgs,
        /// Labelled examples: JSONL or `label,text` CSV (e.g. static/presets/spam.jsonl).
        #[arg(long, value_name = "FILE")]
        examples: PathBuf,
        #[arg(long, value_name = "F", default_value_t = 0.25)]
        test_fraction: f64,
        /// Seeds the split and the heads.
        #[arg(long, value_name = "S", default_value_t = 42)]
        seed: u64,
        /// Units of one hidden layer in the head (none: a linear head).
        #[arg(long, value_name = "N")]
        hidden: Option<usize>,
    }

    /// The model files of `generate` and `classify`.
    #[derive(Args)]
    struct ModelArgs {
        /// The model file (GGUF or safetensors).
        #[arg(long, value_name = "FILE")]
        model: PathBuf,
        /// Hugging Face config.json for the model.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// tokenizer.json [default: the one shipped for the model's architecture]
        #[arg(long, value_name = "FILE")]
        tokenizer: Option<PathBuf>,
    }

    #[derive(Args)]
    struct GenerateArgs {
        #[command(flatten)]
        model: ModelArgs,
        /// Text put before the prompt, with a space (e.g. a T5 task prefix).
        #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
        prefix: Option<String>,
        #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
        prompt: String,
        #[arg(long, value_name = "N", default_value_t = GenerationSettings::default().max_new_tokens)]
        max_new_tokens: usize,
        /// 0 is greedy.
        #[arg(long, value_name = "T", default_value_t = 0.0)]
        temperature: f64,
        /// 0 keeps every token.
        #[arg(long, value_name = "K", default_value_t = 0)]
        top_k: usize,
        #[arg(long, value_name = "P", default_value_t = 1.0)]
        top_p: f64,
        #[arg(long, value_name = "R", default_value_t = 1.0)]
        repeat_penalty: f32,
        #[arg(long, value_name = "S", default_value_t = GenerationSettings::default().seed)]
        seed: u64,
        /// Converts the weights at load (f32, f16, q8_0, q4_0, q4_k, q6_k).
        #[arg(long, value_name = "TYPE", value_parser = dtype)]
        quantize: Option<GgmlDType>,
        /// One JSON object on stdout: ids, per-step probabilities, speed.
        #[arg(long)]
        json: bool,
    }

    #[derive(Args)]
    struct ClassifyArgs {
        #[command(flatten)]
        model: ModelArgs,
        /// A task id of tasks.json, e.g. sst2.
        #[arg(long, value_name = "ID")]
        task: String,
        #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
        prompt: String,
        /// The second sentence of a pair task (e.g. rte).
        #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
        second: Option<String>,
        /// The task list [default: static/tasks.json]
        #[arg(long, value_name = "FILE")]
        tasks: Option<PathBuf>,
    }

    /// The command line, or exit: a usage error reads `lab: ...` like every
    /// other failure; `--help` prints as clap prints it.
    pub fn parse() -> Cli {
        Cli::try_parse().unwrap_or_else(|e| {
            let text = e.to_string();
            match text.strip_prefix("error: ") {
                Some(message) => {
                    eprint!("lab: {message}");
                    std::process::exit(e.exit_code())
                }
                None => e.exit(),
            }
        })
    }

    /// `--quantize` values; clap names the flag when one is refused.
    fn dtype(name: &str) -> Result<GgmlDType, String> {
        parse_dtype(name).map_err(|e| worker::plain_error(&e))
    }

    pub fn run(cli: Cli) -> Result<()> {
        match cli.command {
            Command::Inspect { file, config } => inspect(&file, config.as_deref()),
            Command::Generate(args) => generate(&args),
            Command::Classify(args) => classify(&args),
            Command::Sweep(args) => sweep(&args),
            Command::BenchModels { out } => bench_models(&out),
        }
    }

    fn bench_models(out: &Path) -> Result<()> {
        use worker::random_models::{gpt2_124m, t5_small, T5_SMALL_CONFIG};
        std::fs::create_dir_all(out)?;
        let write = |name: &str, bytes: &[u8]| -> Result<()> {
            let path = out.join(name);
            std::fs::write(&path, bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!("{}: {} bytes", path.display(), bytes.len());
            Ok(())
        };
        write("t5-small-config.json", T5_SMALL_CONFIG.as_bytes())?;
        for dtype in [GgmlDType::Q8_0, GgmlDType::Q4_0] {
            let name = dtype_name(dtype);
            write(&format!("gpt2-124M-{name}.gguf"), &gpt2_124m(dtype)?)?;
            write(&format!("t5-small-{name}.gguf"), &t5_small(dtype)?)?;
        }
        Ok(())
    }

    fn read(path: &Path) -> Result<Vec<u8>> {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
    }

    fn read_config(path: Option<&Path>) -> Result<Option<String>> {
        path.map(|p| {
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
        })
        .transpose()
    }

    fn inspect(file: &Path, config: Option<&Path>) -> Result<()> {
        let bytes = read(file)?;
        let config = read_config(config)?;
        let store = TensorStore::from_bytes(&bytes, None)?;
        let (params, types) = store.summary();
        println!(
            "file: {} ({} bytes, {:?})",
            file.display(),
            bytes.len(),
            store.format
        );
        // An unknown family still lists its tensors; loading below says why.
        match detect_arch(&store, config.as_deref()) {
            Ok(arch) => println!("arch: {arch}"),
            Err(_) => println!("arch: unknown"),
        }
        println!("parameters: {params}");
        let types: Vec<String> = types.iter().map(|(t, n)| format!("{t}×{n}")).collect();
        println!("tensor types: {}", types.join(", "));
        let mut names: Vec<&String> = store.names().collect();
        names.sort();
        for name in names {
            let t = store.get(name)?;
            println!("  {name} {:?} {}", t.shape().dims(), dtype_name(t.dtype()));
        }
        // Loading proves the file is a usable model, not only a readable one.
        let name = file.display().to_string();
        let (_, i) = load_model(&name, &bytes, config.as_deref(), None)?;
        println!(
            "loads as {}: {} layers, hidden {}, vocab {}, context {}, {} parameters in use",
            i.arch, i.layers, i.hidden_size, i.vocab_size, i.context_length, i.parameters
        );
        Ok(())
    }

    /// The tokenizer shipped in `static/tokenizers/` for an architecture.
    fn shipped_tokenizer(arch: Arch) -> PathBuf {
        protocol::repo_root()
            .join("static")
            .join(arch.default_tokenizer_url())
    }

    /// Loads `--model` with its tokenizer: `--tokenizer`, else the shipped
    /// one for the architecture the file holds.
    fn open_session(args: &ModelArgs, quantize_to: Option<GgmlDType>) -> Result<Session> {
        let weights = read(&args.model)?;
        let config = read_config(args.config.as_deref())?;
        let name = args.model.display().to_string();
        let (model, info) = load_model(&name, &weights, config.as_deref(), quantize_to)?;
        let tokenizer = args
            .tokenizer
            .clone()
            .unwrap_or_else(|| shipped_tokenizer(info.arch));
        let tokenizer = tokenizer_from_bytes(&read(&tokenizer)?)?;
        Ok(Session::new(model, info, tokenizer)?)
    }

    fn classify(args: &ClassifyArgs) -> Result<()> {
        let tasks_path = args
            .tasks
            .clone()
            .unwrap_or_else(|| protocol::repo_root().join("static/tasks.json"));
        let tasks_json = std::fs::read_to_string(&tasks_path)
            .with_context(|| format!("cannot read {}", tasks_path.display()))?;
        let tasks = Tasks::from_json(&tasks_json).map_err(anyhow::Error::msg)?;
        let session = open_session(&args.model, None)?;
        let arch = session.info.arch;
        let task = tasks
            .find(arch, &args.task)
            .with_context(|| format!("no task {} for {arch} in tasks.json", args.task))?;
        let text = task.render(&args.prompt, args.second.as_deref());
        println!("{text}");
        for p in session.label_probabilities(&text, &task.labels)? {
            println!(
                "{:>16} {:6.2}% (tokens {:?}, {:.4} of all)",
                p.label,
                100.0 * p.share,
                p.token_ids,
                p.prob
            );
        }
        Ok(())
    }

    fn sweep(args: &SweepArgs) -> Result<()> {
        let text = std::fs::read_to_string(&args.examples)
            .with_context(|| format!("cannot read {}", args.examples.display()))?;
        let name = args.examples.display().to_string();
        let examples = protocol::examples::parse(&text, &name).map_err(anyhow::Error::msg)?;
        let session = open_session(&args.model, None)?;
        let settings = HeadSettings {
            hidden: args.hidden,
            seed: args.seed,
            ..HeadSettings::default()
        };
        let report = worker::classify::sweep_examples(
            &session,
            &examples,
            args.test_fraction,
            args.seed,
            &settings,
        )?;
        println!("{}: {name}\n\n{}", report.model, report.table());
        Ok(())
    }

    fn generate(args: &GenerateArgs) -> Result<()> {
        let session = open_session(&args.model, args.quantize)?;
        let settings = GenerationSettings {
            max_new_tokens: args.max_new_tokens,
            temperature: args.temperature,
            top_k: args.top_k,
            top_p: args.top_p,
            repeat_penalty: args.repeat_penalty,
            seed: args.seed,
            stop: Vec::new(),
            top_alternatives: 5,
        };
        let text = match &args.prefix {
            Some(prefix) => format!("{prefix} {}", args.prompt),
            None => args.prompt.clone(),
        };
        let prompt_ids = session.encode(&text)?;
        let mut runner = session.runner();
        let mut generation =
            Generation::start(&mut runner, &session.tokenizer, prompt_ids, settings)?;
        let mut steps = Vec::new();
        let mut out = std::io::stdout();
        if !args.json {
            print!("{text}");
        }
        while let Some(step) = generation.next_token()? {
            if !args.json {
                print!("{}", step.text);
                out.flush()?;
            }
            steps.push(step);
        }
        let stats = generation.stats().clone();
        if args.json {
            let steps: Vec<_> = steps
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "id": s.id,
                        "prob": s.prob,
                        "top": s.top.iter().map(|a| (a.id, a.prob)).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let value = serde_json::json!({
                "prompt_ids": generation.prompt_ids(),
                "generated_ids": generation.generated_ids(),
                "text": generation.text(),
                "steps": steps,
                "stop_reason": format!("{:?}", generation.finished()),
                "prefill_tok_s": stats.prefill_tok_s,
                "decode_tok_s": stats.decode_tok_s,
            });
            println!("{value}");
        } else {
            println!();
            eprintln!(
                "[{} prompt tokens, prefill {:.1} tok/s; {} new tokens, decode {:.1} tok/s; stop: {:?}]",
                stats.prompt_tokens,
                stats.prefill_tok_s,
                stats.generated_tokens,
                stats.decode_tok_s,
                generation.finished()
            );
        }
        Ok(())
    }
}
