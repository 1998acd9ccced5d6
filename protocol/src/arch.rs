//! The two model families the lab runs. Every place that needs to know which
//! one a model is asks this enum; an architecture it does not name is an error
//! with a sentence, never silently the other family.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Arch {
    /// Decoder-only: one causal stack over prompt and output.
    #[serde(rename = "gpt2")]
    Gpt2,
    /// Encoder–decoder: a bidirectional encoder, a causal decoder with
    /// cross-attention over the encoder's output.
    #[serde(rename = "t5")]
    T5,
}

impl Arch {
    pub const ALL: [Arch; 2] = [Arch::T5, Arch::Gpt2];

    /// The name used in files (GGUF `general.architecture`, `model_type`,
    /// catalog, manifest, tasks.json).
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::Gpt2 => "gpt2",
            Arch::T5 => "t5",
        }
    }

    /// The family's name for people.
    pub fn label(self) -> &'static str {
        match self {
            Arch::Gpt2 => "GPT-2, decoder-only",
            Arch::T5 => "T5, encoder–decoder",
        }
    }

    /// The tokenizer the page ships for this family.
    pub fn default_tokenizer_url(self) -> &'static str {
        match self {
            Arch::Gpt2 => "tokenizers/gpt2.json",
            Arch::T5 => "tokenizers/t5.json",
        }
    }

    pub fn is_encoder_decoder(self) -> bool {
        self == Arch::T5
    }
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Arch {
    type Err = String;

    /// Accepts the names files use; anything else says what is supported.
    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "gpt2" => Ok(Arch::Gpt2),
            "t5" => Ok(Arch::T5),
            other => Err(format!(
                "models of architecture {other:?} are not supported: this page runs gpt2 and t5"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for arch in Arch::ALL {
            assert_eq!(arch.as_str().parse::<Arch>(), Ok(arch));
            let json = serde_json::to_string(&arch).unwrap();
            assert_eq!(json, format!("\"{arch}\""));
        }
        let err = "llama".parse::<Arch>().unwrap_err();
        assert!(
            err.contains("llama") && err.contains("not supported"),
            "{err}"
        );
        assert!(serde_json::from_str::<Arch>("\"bert\"").is_err());
    }
}
