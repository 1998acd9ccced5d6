//! A tokenizer.json checked before the tokenizers crate reads it. Version
//! 0.23 panics (a dead worker in the browser) on some files it should
//! refuse; the fuzz test found each of these:
//! - bytes that are not UTF-8, or broken JSON, inside its `decoder`;
//! - a post-processor template naming a special token it does not define.

use candle_core::{bail, Result};
use serde_json::Value;

pub fn check(bytes: &[u8]) -> Result<()> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        bail!("the tokenizer file is not a tokenizer.json: it is not UTF-8 text")
    };
    let value: Value = serde_json::from_str(text).map_err(|e| {
        candle_core::Error::msg(format!("the tokenizer file is not a tokenizer.json: {e}"))
    })?;
    check_processor(&value["post_processor"], 0)
}

fn check_processor(processor: &Value, depth: usize) -> Result<()> {
    match processor["type"].as_str() {
        Some("TemplateProcessing") => {
            let defined = processor["special_tokens"].as_object();
            for template in ["single", "pair"] {
                for piece in processor[template].as_array().into_iter().flatten() {
                    let Some(token) = piece["SpecialToken"]["id"].as_str() else {
                        continue;
                    };
                    if !defined.is_some_and(|d| d.contains_key(token)) {
                        bail!(
                            "the tokenizer file's template adds the special token {token:?}, which it does not define"
                        )
                    }
                }
            }
            Ok(())
        }
        Some("Sequence") if depth < 4 => processor["processors"]
            .as_array()
            .into_iter()
            .flatten()
            .try_for_each(|p| check_processor(p, depth + 1)),
        _ => Ok(()),
    }
}
