//! The training data and how each model sees it.
//!
//! Files (written by `scripts/data/fetch.sh`): `pretrain/{train,valid}.txt`,
//! one paragraph per line, and `tasks/{train,valid}.jsonl`, one
//! `{"task", "prefix", "input", "target"}` object per line.
//!
//! Prompt formats, shared by training and `eval`:
//! - T5: encoder `"{prefix} {input}</s>"`, decoder target `"{target}</s>"`.
//! - GPT-2: `"{prefix} {input} =>"` then `" {target}<|endoftext|>"`; the loss
//!   covers the target tokens and `<|endoftext|>` only.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokenizers::Tokenizer;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskExample {
    pub task: String,
    pub prefix: String,
    pub input: String,
    pub target: String,
    /// The out-of-distribution set it comes from (`scripts/data/ood.py`);
    /// `None` for the held-out data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<String>,
}

impl TaskExample {
    /// What it is scored under (`protocol::manifest::score_key`).
    pub fn score_key(&self) -> String {
        protocol::manifest::score_key(&self.task, self.set.as_deref())
    }

    /// T5's encoder text (and the start of GPT-2's prompt).
    pub fn source(&self) -> String {
        if self.prefix.is_empty() || self.prefix.ends_with(char::is_whitespace) {
            format!("{}{}", self.prefix, self.input)
        } else {
            format!("{} {}", self.prefix, self.input)
        }
    }

    /// GPT-2's prompt: the model continues after `=>`.
    pub fn gpt2_prompt(&self) -> String {
        format!("{} =>", self.source())
    }

    /// GPT-2's continuation, before `<|endoftext|>`.
    pub fn gpt2_target(&self) -> String {
        format!(" {}", self.target.trim())
    }
}

/// Non-empty lines of a text file.
pub fn read_paragraphs(path: &Path) -> Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect())
}

pub fn read_tasks(path: &Path) -> Result<Vec<TaskExample>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let ex: TaskExample = serde_json::from_str(line)
            .with_context(|| format!("{} line {}: not a task example", path.display(), n + 1))?;
        out.push(ex);
    }
    Ok(out)
}

/// Token ids of `text`, without the special tokens the tokenizer would add.
pub fn encode(tokenizer: &Tokenizer, text: &str) -> Result<Vec<u32>> {
    let enc = tokenizer
        .encode(text, false)
        .map_err(|e| anyhow::anyhow!("cannot tokenize: {e}"))?;
    Ok(enc.get_ids().to_vec())
}

/// Where the data files are, and what they hold (for the recipe).
#[derive(Clone, Debug)]
pub struct DataDir(pub PathBuf);

impl DataDir {
    pub fn pretrain(&self, split: &str) -> PathBuf {
        self.0.join("pretrain").join(format!("{split}.txt"))
    }

    pub fn tasks(&self, split: &str) -> PathBuf {
        self.0.join("tasks").join(format!("{split}.jsonl"))
    }

    /// Words whose tokens the compact vocabulary keeps, one a line (optional).
    pub fn cover(&self) -> PathBuf {
        self.0.join("tasks").join("cover.txt")
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct FileRecord {
    pub path: String,
    pub bytes: u64,
    pub lines: usize,
    pub sha256: String,
}

pub fn file_record(path: &Path) -> Result<FileRecord> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(FileRecord {
        path: path.display().to_string(),
        bytes: bytes.len() as u64,
        lines: bytes.iter().filter(|&&b| b == b'\n').count(),
        sha256: sha256_hex(&bytes),
    })
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The paragraphs as one token stream, each followed by `separator` if given.
pub fn token_stream(
    tokenizer: &Tokenizer,
    paragraphs: &[String],
    separator: Option<u32>,
) -> Result<Vec<u32>> {
    let mut stream = Vec::new();
    for p in paragraphs {
        stream.extend(encode(tokenizer, p)?);
        stream.extend(separator);
    }
    if stream.is_empty() {
        bail!("the pretraining text is empty")
    }
    Ok(stream)
}
