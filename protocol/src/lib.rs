//! The messages between the page (`app`) and the model worker (`worker`).
//!
//! Both sides use these enums and nothing else: the page posts a [`Request`],
//! the worker answers with [`Event`]s carrying the same request id.

use serde::{Deserialize, Serialize};

pub use arch::Arch;
pub use generation::{
    Alternative, GenerationSettings, GenerationStats, LabelProbability, StopReason, TokenStep,
    MAX_ALTERNATIVES,
};
pub use model::{CachedFile, FileSource, HeldModel, ModelInfo, ModelRef, ModelSpec};

pub mod arch;
pub mod attention;
pub mod batch;
pub mod catalog;
pub mod classify;
pub mod examples;
pub mod generation;
pub mod manifest;
pub mod model;
pub mod tasks;

/// The repository's top folder, for tests and the native CLIs. Read when the
/// program runs (cargo sets `CARGO_MANIFEST_DIR` for `cargo test` and `cargo
/// run`): checkouts that share a target directory reuse each other's builds,
/// so a path fixed at compile time may name another checkout.
pub fn repo_root() -> std::path::PathBuf {
    let crate_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    // Every crate of the workspace sits one folder below the top.
    crate_dir
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or(crate_dir)
}

/// Chosen by the page; every event about a request carries it back.
pub type RequestId = u64;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Asks the worker to introduce itself (answered by [`Event::Ready`]).
    Hello,
    /// Splits text into token ids with the tokenizer at `tokenizer_url`.
    Tokenize {
        id: RequestId,
        tokenizer_url: String,
        text: String,
    },
    /// Downloads the files of a model and loads it. The worker holds one
    /// model per architecture, so a T5 and a GPT-2 stay loaded side by side:
    /// this replaces only the held model of the same architecture.
    Load { id: RequestId, model: ModelSpec },
    /// Runs the models on `threads` threads (1 or 2; 2 needs a cross-origin
    /// isolated page). Answered by [`Event::Threads`].
    SetThreads { id: RequestId, threads: u32 },
    /// Streams a continuation of `prompt` from the held model `model`.
    Generate {
        id: RequestId,
        model: ModelRef,
        prompt: String,
        settings: GenerationSettings,
    },
    /// Stops the generation `id` before its next token.
    Cancel { id: RequestId },
    /// The probability of each label word as the model's first output token.
    Classify {
        id: RequestId,
        model: ModelRef,
        prompt: String,
        labels: Vec<String>,
    },
    /// The attention probabilities of the held model `model` while it wrote
    /// `output_ids` after reading `input_ids` ([`Event::Attention`]). Nothing
    /// of this is computed for a generation.
    Attention {
        id: RequestId,
        model: ModelRef,
        input_ids: Vec<u32>,
        output_ids: Vec<u32>,
    },
    /// Runs `prompts` greedily as one left- (GPT-2) or right-padded (T5)
    /// batch, then each alone ([`Event::Batch`]).
    Batch {
        id: RequestId,
        model: ModelRef,
        prompts: Vec<String>,
        max_new_tokens: usize,
    },
    /// Every layer's pooled hidden states of `texts` from the held model
    /// `model`, made in small batches with [`Event::FeaturesProgress`] and
    /// kept by the worker (one set at a time) for the trainings and sweeps
    /// that name this id. Cancel stops it between batches.
    Features {
        id: RequestId,
        model: ModelRef,
        texts: Vec<String>,
    },
    /// Trains a head on the features `features` at one layer and pooling
    /// ([`Event::HeadTrained`]).
    TrainHead {
        id: RequestId,
        features: RequestId,
        layer: usize,
        pooling: classify::Pooling,
        set: classify::LabelledSet,
        settings: classify::HeadSettings,
    },
    /// A head at every layer × pooling of the features `features`, a
    /// [`Event::SweepCell`] each, then the baselines ([`Event::SweepDone`]).
    /// Cancel stops it between cells.
    Sweep {
        id: RequestId,
        features: RequestId,
        set: classify::LabelledSet,
        settings: classify::HeadSettings,
    },
    /// The class probabilities `head` gives `text` on the held model `model`
    /// ([`Event::Prediction`]); a head trained on another model is refused.
    Predict {
        id: RequestId,
        model: ModelRef,
        head: Box<classify::HeadFile>,
        text: String,
    },
    /// The model's own answer as text: each label word's share, for each
    /// prompt ([`Event::LabelAnswers`]).
    LabelAnswers {
        id: RequestId,
        model: ModelRef,
        prompts: Vec<String>,
        labels: Vec<String>,
    },
    /// Lists the model files kept in the browser's cache ([`Event::Cache`]).
    ListCache { id: RequestId },
    /// Deletes every cached model file, then answers with [`Event::Cache`].
    ClearCache { id: RequestId },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// The worker runs; `simd` says whether its wasm was built with SIMD128,
    /// `relaxed_simd` whether with relaxed SIMD's int8 dot products too.
    Ready {
        simd: bool,
        #[serde(default)]
        relaxed_simd: bool,
        version: String,
    },
    /// Threads now in use; `note` says why fewer than asked.
    Threads {
        id: RequestId,
        threads: u32,
        note: Option<String>,
    },
    Tokenized {
        id: RequestId,
        ids: Vec<u32>,
        tokens: Vec<String>,
    },
    /// Bytes of `file` received so far; `total` when the server said it.
    /// `cached`: read from the browser's cache, not the network.
    Progress {
        id: RequestId,
        file: String,
        loaded: u64,
        total: Option<u64>,
        cached: bool,
    },
    /// The model is ready (what it is and where its files came from is in
    /// the [`Event::Held`] sent just before).
    Loaded {
        id: RequestId,
        info: ModelInfo,
    },
    /// Every model the worker holds now, one per architecture; sent when a
    /// load succeeds, just before its [`Event::Loaded`].
    Held {
        models: Vec<HeldModel>,
    },
    /// The load `id` was cancelled by the page; nothing of it was kept.
    LoadCancelled {
        id: RequestId,
    },
    /// What the model cache holds (answer to `ListCache` and `ClearCache`).
    /// `note` says why caching is off or what went wrong, if anything.
    Cache {
        id: RequestId,
        files: Vec<CachedFile>,
        note: Option<String>,
    },
    /// Generation began: the model that runs it (its name), the prompt as
    /// token ids and the settings in force.
    Started {
        id: RequestId,
        model: String,
        prompt_ids: Vec<u32>,
        settings: GenerationSettings,
    },
    Token {
        id: RequestId,
        step: TokenStep,
    },
    Done {
        id: RequestId,
        reason: StopReason,
        stats: GenerationStats,
    },
    /// Answer to [`Request::Classify`], in the order of the labels asked.
    LabelProbabilities {
        id: RequestId,
        labels: Vec<LabelProbability>,
    },
    /// Answer to [`Request::Attention`]: GPT-2's one causal map, or T5's
    /// encoder, decoder and cross-attention maps. `note` says what was left
    /// out of a long input.
    Attention {
        id: RequestId,
        maps: Vec<attention::AttentionMap>,
        note: Option<String>,
    },
    Batch {
        id: RequestId,
        result: batch::BatchResult,
    },
    /// Rows of [`Request::Features`] done so far.
    FeaturesProgress {
        id: RequestId,
        done: usize,
        total: usize,
    },
    /// The features are made and held by the worker.
    Features {
        summary: classify::FeatureSummary,
    },
    HeadTrained {
        id: RequestId,
        head: Box<classify::HeadFile>,
        report: classify::HeadReport,
    },
    /// One cell of a sweep; `done` of `total` cells so far.
    SweepCell {
        id: RequestId,
        cell: classify::SweepCell,
        done: usize,
        total: usize,
    },
    SweepDone {
        id: RequestId,
        baselines: classify::Baselines,
        ms: f64,
    },
    Prediction {
        id: RequestId,
        probabilities: Vec<f32>,
    },
    /// Per prompt, each label's share among the labels (they sum to 1).
    LabelAnswers {
        id: RequestId,
        shares: Vec<Vec<f32>>,
    },
    /// The features or sweep `id` stopped at the page's Cancel.
    Cancelled {
        id: RequestId,
    },
    /// The long request `id` (a load, generation, features or sweep) waits
    /// its turn, just after `behind`: long requests run one at a time, in
    /// the order they came.
    Queued {
        id: RequestId,
        behind: RequestId,
    },
    /// The queued request `id` runs now.
    Running {
        id: RequestId,
    },
    /// A failure, in words a person can act on.
    Error {
        id: Option<RequestId>,
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_through_json() {
        let request = Request::Generate {
            id: 7,
            model: ModelRef {
                arch: Arch::Gpt2,
                load: 3,
            },
            prompt: "Hello".into(),
            settings: GenerationSettings::default(),
        };
        let json = serde_json::to_string(&request).unwrap();
        assert_eq!(serde_json::from_str::<Request>(&json).unwrap(), request);
    }

    #[test]
    fn settings_are_clamped_into_range() {
        let odd = GenerationSettings {
            max_new_tokens: 0,
            temperature: 1e-30,
            top_p: f64::NAN,
            repeat_penalty: -2.0,
            top_alternatives: 1000,
            ..Default::default()
        }
        .clamped();
        assert_eq!(odd.max_new_tokens, 1);
        assert_eq!(odd.temperature, 0.0);
        assert_eq!(odd.top_p, 1.0);
        assert_eq!(odd.repeat_penalty, 1.0);
        assert_eq!(odd.top_alternatives, MAX_ALTERNATIVES);
        let fine = GenerationSettings {
            temperature: 0.7,
            top_p: 0.9,
            top_k: 40,
            ..Default::default()
        };
        assert_eq!(fine.clone().clamped(), fine);
        let wide = GenerationSettings {
            top_p: 3.0,
            ..Default::default()
        };
        assert_eq!(wide.clamped().top_p, 1.0);
    }
}
