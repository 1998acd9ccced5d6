//! What is fuzzed: every kind of file the page reads and every request the
//! worker decodes, each checked the way the worker uses it.

use std::path::Path;

use candle_core::quantized::gguf_file;
use protocol::Arch;
use serde_json::Value;
use tokenizers::Tokenizer;
use worker::session::{load_model, tokenizer_from_bytes, Session};

use super::mutate::{self, Rng};

/// A seed file and the length of its structured part (where most
/// mutations go).
pub struct Seed {
    pub name: String,
    pub bytes: Vec<u8>,
    pub header: usize,
}

pub enum Mutation {
    Bytes,
    Json,
}

/// Reads one input as the worker would: `Ok` for a file or request it
/// accepts, a sentence for one it refuses.
pub type Check = Box<dyn Fn(&[u8]) -> Result<(), String>>;

pub struct Target {
    pub name: &'static str,
    pub seeds: Vec<Seed>,
    pub mutation: Mutation,
    pub check: Check,
}

impl Target {
    pub fn input(&self, rng: &mut Rng) -> Vec<u8> {
        let seed = rng.pick(&self.seeds);
        match self.mutation {
            Mutation::Bytes => mutate::bytes(rng, &seed.bytes, seed.header),
            Mutation::Json => {
                let value: Value = serde_json::from_slice(&seed.bytes).expect("seeds are JSON");
                mutate::json(rng, &value)
            }
        }
    }
}

fn read(path: &str) -> Vec<u8> {
    let full = protocol::repo_root().join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("fuzz seed {}: {e}", full.display()))
}

fn seed(path: &str, header: usize) -> Seed {
    let bytes = read(path);
    let header = if header == 0 { bytes.len() } else { header };
    Seed {
        name: Path::new(path).display().to_string(),
        bytes,
        header,
    }
}

/// A GGUF seed: its structure ends where the tensor data starts.
fn gguf_seed(path: &str) -> Seed {
    let bytes = read(path);
    let content = gguf_file::Content::read(&mut std::io::Cursor::new(&bytes)).expect("seed reads");
    seed(path, content.tensor_data_offset as usize)
}

fn text(message: candle_core::Error) -> String {
    worker::plain_error(&message)
}

/// A model that loaded must also run: a few tokens through it.
fn run_a_little(model: worker::session::Model, info: protocol::ModelInfo) -> Result<(), String> {
    let tokenizer = Tokenizer::new(tokenizers::models::bpe::BPE::default());
    let session = Session {
        model,
        tokenizer,
        info,
    };
    let ids: Vec<u32> = (0..4).map(|i| i % session.info.vocab_size as u32).collect();
    let mut runner = session.runner();
    worker::generation::LanguageModel::prefill(&mut runner, &ids).map_err(text)?;
    Ok(())
}

pub fn model_files() -> Target {
    let t5_config = String::from_utf8(read("worker/tests/fixtures/flan-tiny/config.json")).unwrap();
    let gpt2_config =
        String::from_utf8(read("worker/tests/fixtures/gpt2-tiny/config.json")).unwrap();
    Target {
        name: "GGUF files and model loading",
        seeds: vec![
            gguf_seed("worker/tests/fixtures/gpt2-tiny/llama-q8_0.gguf"),
            gguf_seed("worker/tests/fixtures/gpt2-tiny/hf-q8_0.gguf"),
            gguf_seed("worker/tests/fixtures/gpt2-tiny/llama-q4_0.gguf"),
            gguf_seed("worker/tests/fixtures/gpt2-tiny/llama-f16.gguf"),
            gguf_seed("worker/tests/fixtures/flan-tiny/model-q8_0.gguf"),
            gguf_seed("worker/tests/fixtures/flan-tiny/model-q4_0.gguf"),
        ],
        mutation: Mutation::Bytes,
        check: Box::new(move |bytes| {
            // A T5 GGUF needs its config.json, and so does a GPT-2 one with
            // Hugging Face's tensor names; llama.cpp's carries its own.
            let has = |text: &[u8]| bytes.windows(text.len()).any(|w| w == text);
            let config = if has(b"encoder") {
                Some(t5_config.as_str())
            } else if !has(b"gpt2.block_count") {
                Some(gpt2_config.as_str())
            } else {
                None
            };
            let (model, info) = load_model("fuzz", bytes, config, None).map_err(text)?;
            run_a_little(model, info)
        }),
    }
}

pub fn safetensors_files() -> Target {
    let gpt2 = String::from_utf8(read("worker/tests/fixtures/gpt2-tiny/config.json")).unwrap();
    let header = |path: &str| {
        let b = read(path);
        8 + u64::from_le_bytes(b[..8].try_into().unwrap()) as usize
    };
    let path = "worker/tests/fixtures/gpt2-tiny/model.safetensors";
    Target {
        name: "safetensors files",
        seeds: vec![seed(path, header(path))],
        mutation: Mutation::Bytes,
        check: Box::new(move |bytes| {
            let (model, info) = load_model("fuzz", bytes, Some(&gpt2), None).map_err(text)?;
            run_a_little(model, info)
        }),
    }
}

pub fn configs() -> Target {
    let gpt2 = read("worker/tests/fixtures/gpt2-tiny/model.safetensors");
    let t5 = read("worker/tests/fixtures/t5-tiny/model.safetensors");
    let flan = read("worker/tests/fixtures/flan-tiny/model.safetensors");
    Target {
        name: "config.json (GPT-2 and T5)",
        seeds: vec![
            seed("worker/tests/fixtures/gpt2-tiny/config.json", 0),
            seed("worker/tests/fixtures/t5-tiny/config.json", 0),
            seed("worker/tests/fixtures/flan-tiny/config.json", 0),
        ],
        mutation: Mutation::Json,
        check: Box::new(move |bytes| {
            let config = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
            let weights = if config.contains("\"gated") {
                &flan
            } else if config.contains("d_model") {
                &t5
            } else {
                &gpt2
            };
            let (model, info) = load_model("fuzz", weights, Some(config), None).map_err(text)?;
            run_a_little(model, info)
        }),
    }
}

/// The real tokenizers, cut to their first `keep` entries so that each
/// input parses in milliseconds: the structure is the real file's.
fn small_tokenizer(path: &str, keep: usize) -> Seed {
    let mut t: Value = serde_json::from_slice(&read(path)).unwrap();
    let model = &mut t["model"];
    match model["vocab"].take() {
        Value::Object(vocab) => {
            let kept: serde_json::Map<String, Value> = vocab
                .into_iter()
                .filter(|(_, id)| id.as_u64().is_some_and(|id| (id as usize) < keep))
                .collect();
            model["vocab"] = Value::Object(kept);
            let merges = model["merges"].as_array().unwrap()[..keep - 256].to_vec();
            model["merges"] = Value::Array(merges);
        }
        Value::Array(pieces) => model["vocab"] = Value::Array(pieces[..keep].to_vec()),
        _ => panic!("an unknown tokenizer model"),
    }
    if let Some(added) = t["added_tokens"].as_array_mut() {
        added.truncate(4);
    }
    let bytes = serde_json::to_vec(&t).unwrap();
    Seed {
        name: format!("{path} (first {keep})"),
        header: bytes.len(),
        bytes,
    }
}

pub fn tokenizers() -> Target {
    Target {
        name: "tokenizer.json",
        seeds: vec![
            small_tokenizer("static/tokenizers/gpt2.json", 600),
            small_tokenizer("static/tokenizers/t5.json", 600),
        ],
        mutation: Mutation::Json,
        check: Box::new(|bytes| {
            let tokenizer = tokenizer_from_bytes(bytes).map_err(text)?;
            let text = "The cat sat on the mat, the cat! 42 é 😀 \n\t end";
            let ids = tokenizer.encode(text, true).map_err(|e| e.to_string())?;
            tokenizer
                .decode(ids.get_ids(), false)
                .map_err(|e| e.to_string())?;
            Ok(())
        }),
    }
}

pub fn page_data() -> Target {
    Target {
        name: "catalog, tasks and manifest",
        seeds: vec![
            seed("static/models/catalog.json", 0),
            seed("static/tasks.json", 0),
            seed("static/models/manifest.json", 0),
        ],
        mutation: Mutation::Json,
        check: Box::new(|bytes| {
            let json = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
            if json.contains("\"hub\"") {
                let catalog = protocol::catalog::Catalog::from_json(json)?;
                for model in &catalog.models {
                    model.spec(&catalog.hub);
                }
                catalog.default_model();
            } else if json.contains("\"sample\"") {
                let manifest: protocol::manifest::Manifest =
                    serde_json::from_str(json).map_err(|e| e.to_string())?;
                for model in &manifest.models {
                    model.sample.floors();
                }
            } else {
                let tasks = protocol::tasks::Tasks::from_json(json)?;
                for arch in [Arch::Gpt2, Arch::T5] {
                    for task in tasks.of(arch) {
                        task.render("a b c", Some("d"));
                    }
                }
            }
            Ok(())
        }),
    }
}

pub fn example_files() -> Target {
    let spam = String::from_utf8(read("static/presets/spam.jsonl")).unwrap();
    let jsonl: String = spam.lines().take(30).collect::<Vec<_>>().join("\n");
    let csv = "label,text\nham,\"Lunch at noon, then the library?\"\nspam,WIN a FREE phone now\nham,see you tomorrow\nspam,\"Click here, claim £500\"\n";
    let as_seed = |name: &str, text: &str| Seed {
        name: name.into(),
        bytes: text.as_bytes().to_vec(),
        header: text.len(),
    };
    Target {
        name: "example files (CSV, JSONL)",
        seeds: vec![as_seed("spam.jsonl", &jsonl), as_seed("examples.csv", csv)],
        mutation: Mutation::Bytes,
        check: Box::new(|bytes| {
            // The page reads a file as the browser decodes it: bad UTF-8 becomes U+FFFD.
            let text = String::from_utf8_lossy(bytes);
            let examples = protocol::examples::parse(&text, "")?;
            protocol::examples::split(&examples, 0.25, 7)?;
            Ok(())
        }),
    }
}
