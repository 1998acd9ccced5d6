//! `lab`: the worker's model code on the command line, for checking model
//! files before class and for benchmarks.
//!
//!   lab inspect FILE [--config config.json]
//!   lab generate --model FILE [--config FILE] [--tokenizer FILE] [--prefix TEXT]
//!                --prompt TEXT [--max-new-tokens N] [--temperature T] [--top-k K]
//!                [--top-p P] [--repeat-penalty R] [--seed S] [--quantize TYPE] [--json]
//!   lab classify --model FILE [--config FILE] [--tokenizer FILE] --task ID
//!                --prompt TEXT [--second TEXT] [--tasks tasks.json]

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    if let Err(e) = cli::run(std::env::args().skip(1).collect()) {
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
    use std::collections::HashMap;
    use std::io::Write;
    use std::path::{Path, PathBuf};

    use anyhow::{bail, Context, Result};
    use protocol::GenerationSettings;
    use worker::generation::Generation;
    use worker::session::{load_model, ModelFiles, Session};
    use worker::weights::{dtype_name, gguf_architecture, parse_dtype, TensorStore};

    const USAGE: &str = "usage: lab inspect FILE [--config FILE]\n       lab generate --model FILE --prompt TEXT [--config FILE] [--tokenizer FILE] [--prefix TEXT] [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P] [--repeat-penalty R] [--seed S] [--quantize TYPE] [--json]\n       lab classify --model FILE --task ID --prompt TEXT [--second TEXT] [--config FILE] [--tokenizer FILE] [--tasks FILE]";

    /// `--flag value` pairs, `--json` alone, and positional arguments.
    struct Args {
        flags: HashMap<String, String>,
        switches: Vec<String>,
        positional: Vec<String>,
    }

    fn parse(args: &[String]) -> Result<Args> {
        let mut parsed = Args {
            flags: HashMap::new(),
            switches: Vec::new(),
            positional: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if a == "--json" {
                parsed.switches.push(a.clone());
            } else if let Some(name) = a.strip_prefix("--") {
                let value = it
                    .next()
                    .with_context(|| format!("--{name} needs a value"))?;
                parsed.flags.insert(name.to_string(), value.clone());
            } else {
                parsed.positional.push(a.clone());
            }
        }
        Ok(parsed)
    }

    impl Args {
        fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T> {
            match self.flags.get(name) {
                None => Ok(default),
                Some(v) => v
                    .parse()
                    .map_err(|_| anyhow::anyhow!("--{name} takes a number, got {v:?}")),
            }
        }

        fn check_known(&self, known: &[&str]) -> Result<()> {
            for k in self.flags.keys() {
                if !known.contains(&k.as_str()) {
                    bail!("unknown option --{k}\n{USAGE}")
                }
            }
            Ok(())
        }
    }

    pub fn run(args: Vec<String>) -> Result<()> {
        let Some(command) = args.first() else {
            bail!("{USAGE}")
        };
        let args = parse(&args[1..])?;
        match command.as_str() {
            "inspect" => inspect(&args),
            "generate" => generate(&args),
            "classify" => classify(&args),
            _ => bail!("unknown command {command}\n{USAGE}"),
        }
    }

    fn read(path: &Path) -> Result<Vec<u8>> {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
    }

    fn read_config(args: &Args) -> Result<Option<String>> {
        args.flags
            .get("config")
            .map(|p| std::fs::read_to_string(p).with_context(|| format!("cannot read {p}")))
            .transpose()
    }

    fn inspect(args: &Args) -> Result<()> {
        args.check_known(&["config"])?;
        let [file] = args.positional.as_slice() else {
            bail!("{USAGE}")
        };
        let bytes = read(Path::new(file))?;
        let store = TensorStore::from_bytes(&bytes, None)?;
        let (params, types) = store.summary();
        let arch = store
            .metadata_str("general.architecture")
            .unwrap_or("(none in file)")
            .to_string();
        println!("file: {file} ({} bytes, {:?})", bytes.len(), store.format);
        println!("arch: {arch}");
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
        let config = read_config(args)?;
        let (_, i) = load_model(file, &bytes, config.as_deref(), None)?;
        println!(
            "loads as {}: {} layers, hidden {}, vocab {}, context {}, {} parameters in use",
            i.arch, i.layers, i.hidden_size, i.vocab_size, i.context_length, i.parameters
        );
        Ok(())
    }

    /// The tokenizer shipped in `static/tokenizers/` for an architecture.
    fn default_tokenizer(arch: &str) -> Result<PathBuf> {
        let name = match arch {
            "t5" => "t5.json",
            _ => "gpt2.json",
        };
        let root = protocol::repo_root().join("static/tokenizers");
        Ok(root.join(name))
    }

    /// Loads the model named by `--model` with its tokenizer (`--tokenizer`,
    /// else the shipped one for the file's architecture).
    fn open_session(args: &Args) -> Result<Session> {
        let model = args
            .flags
            .get("model")
            .context("--model FILE is required")?;
        let weights = read(Path::new(model))?;
        let config = read_config(args)?;
        let quantize_to = args
            .flags
            .get("quantize")
            .map(|q| parse_dtype(q))
            .transpose()?;
        let arch = gguf_architecture(&weights)
            .or_else(|| config_model_type(config.as_deref()))
            .unwrap_or_else(|| "gpt2".into());
        let tokenizer = match args.flags.get("tokenizer") {
            Some(p) => PathBuf::from(p),
            None => default_tokenizer(&arch)?,
        };
        Ok(Session::load(ModelFiles {
            name: model,
            weights: &weights,
            config_json: config.as_deref(),
            tokenizer_json: &read(&tokenizer)?,
            quantize_to,
        })?)
    }

    fn config_model_type(config: Option<&str>) -> Option<String> {
        let v: serde_json::Value = serde_json::from_str(config?).ok()?;
        v.get("model_type")?.as_str().map(String::from)
    }

    fn classify(args: &Args) -> Result<()> {
        args.check_known(&[
            "model",
            "config",
            "tokenizer",
            "task",
            "prompt",
            "second",
            "tasks",
        ])?;
        let task_id = args.flags.get("task").context("--task ID is required")?;
        let prompt = args
            .flags
            .get("prompt")
            .context("--prompt TEXT is required")?;
        let tasks_path = match args.flags.get("tasks") {
            Some(p) => PathBuf::from(p),
            None => protocol::repo_root().join("static/tasks.json"),
        };
        let tasks_json = std::fs::read_to_string(&tasks_path)
            .with_context(|| format!("cannot read {}", tasks_path.display()))?;
        let tasks = protocol::tasks::Tasks::from_json(&tasks_json).map_err(anyhow::Error::msg)?;
        let session = open_session(args)?;
        let task = tasks.find(&session.info.arch, task_id).with_context(|| {
            format!("no task {task_id} for {} in tasks.json", session.info.arch)
        })?;
        let text = task.render(prompt, args.flags.get("second").map(String::as_str));
        println!("{text}");
        for p in session.label_probabilities(&text, &task.labels)? {
            println!(
                "{:>16} {:6.2}% (token {}, {:.4} of all)",
                p.label,
                100.0 * p.share,
                p.token_id,
                p.prob
            );
        }
        Ok(())
    }

    fn generate(args: &Args) -> Result<()> {
        args.check_known(&[
            "model",
            "config",
            "tokenizer",
            "prefix",
            "prompt",
            "max-new-tokens",
            "temperature",
            "top-k",
            "top-p",
            "repeat-penalty",
            "seed",
            "quantize",
        ])?;
        let json = args.switches.iter().any(|s| s == "--json");
        let prompt = args
            .flags
            .get("prompt")
            .context("--prompt TEXT is required")?;
        let session = open_session(args)?;
        let defaults = GenerationSettings::default();
        let settings = GenerationSettings {
            max_new_tokens: args.number("max-new-tokens", defaults.max_new_tokens)?,
            temperature: args.number("temperature", 0.0)?,
            top_k: args.number("top-k", 0)?,
            top_p: args.number("top-p", 1.0)?,
            repeat_penalty: args.number("repeat-penalty", 1.0)?,
            seed: args.number("seed", defaults.seed)?,
            stop: Vec::new(),
            top_alternatives: 5,
        };
        let text = match args.flags.get("prefix") {
            Some(prefix) => format!("{prefix} {prompt}"),
            None => prompt.clone(),
        };
        let prompt_ids = session.encode(&text)?;
        let mut runner = session.runner();
        let mut generation =
            Generation::start(&mut runner, &session.tokenizer, prompt_ids, settings)?;
        let mut steps = Vec::new();
        let mut out = std::io::stdout();
        if !json {
            print!("{text}");
        }
        while let Some(step) = generation.next_token()? {
            if !json {
                print!("{}", step.text);
                out.flush()?;
            }
            steps.push(step);
        }
        let stats = generation.stats().clone();
        if json {
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
