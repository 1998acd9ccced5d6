//! A classification head on a held model's hidden states: which layer and
//! pooling, how it trains, what it measured, and the head itself as a file
//! the page can export and import.

use serde::{Deserialize, Serialize};

use crate::{Arch, ModelInfo, RequestId};

/// How one layer's token states become one vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Pooling {
    /// The mean over the real tokens (padding left out).
    Mean,
    /// The first real token.
    First,
    /// The last real token: in a causal stack, the only one that has seen
    /// the whole input.
    Last,
}

impl Pooling {
    pub const ALL: [Pooling; 3] = [Pooling::Mean, Pooling::First, Pooling::Last];

    pub fn as_str(self) -> &'static str {
        match self {
            Pooling::Mean => "mean",
            Pooling::First => "first",
            Pooling::Last => "last",
        }
    }

    pub fn named(name: &str) -> Option<Pooling> {
        Pooling::ALL.into_iter().find(|p| p.as_str() == name)
    }

    pub fn index(self) -> usize {
        Pooling::ALL.iter().position(|&p| p == self).unwrap_or(0)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeadSettings {
    /// Units of one hidden ReLU layer; `None` is a linear (softmax) head.
    pub hidden: Option<usize>,
    /// The L2 penalty, `l2 / 2 · Σ w²` over the weights (not the biases),
    /// added to the mean cross-entropy.
    pub l2: f32,
    pub steps: usize,
    pub learning_rate: f32,
    pub seed: u64,
}

impl Default for HeadSettings {
    fn default() -> Self {
        Self {
            hidden: None,
            l2: 1e-2,
            steps: 300,
            learning_rate: 0.05,
            seed: 42,
        }
    }
}

impl HeadSettings {
    /// Every value in a range that trains: the one place the page's inputs,
    /// a shared link and the worker clamp them.
    pub fn clamped(mut self) -> Self {
        self.hidden = self.hidden.filter(|&h| h > 0).map(|h| h.min(512));
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            self.l2 = 0.0;
        }
        self.l2 = self.l2.min(100.0);
        self.steps = self.steps.clamp(1, 5_000);
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            self.learning_rate = 0.05;
        }
        self.learning_rate = self.learning_rate.min(1.0);
        self
    }
}

/// The examples as the worker needs them: each row's class, and which rows
/// train and which test (indices into the rows the features were made of).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LabelledSet {
    pub classes: Vec<String>,
    /// The class (index into `classes`) of each row.
    pub labels: Vec<usize>,
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

/// One dense layer, `outputs × inputs` row-major.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dense {
    pub inputs: usize,
    pub outputs: usize,
    pub w: Vec<f32>,
    pub b: Vec<f32>,
}

/// A trained head as a file: what it was trained on and its weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeadFile {
    /// Always [`HeadFile::FORMAT`]: a file of something else is refused.
    pub format: String,
    /// The model's name; a head refuses any other model.
    pub model: String,
    pub arch: Arch,
    /// The width of the features it reads.
    pub dim: usize,
    pub layer: usize,
    pub layer_name: String,
    pub pooling: Pooling,
    pub classes: Vec<String>,
    pub settings: HeadSettings,
    /// The features' standardization, learned from the training rows.
    pub mean: Vec<f32>,
    pub scale: Vec<f32>,
    pub hidden: Option<Dense>,
    pub out: Dense,
}

impl HeadFile {
    pub const FORMAT: &'static str = "pretrain-lab head v1";

    /// Reads an exported head, or says in a sentence why it is not one.
    pub fn from_json(json: &str) -> Result<HeadFile, String> {
        let head: HeadFile = serde_json::from_str(json)
            .map_err(|e| format!("This is not a head file exported by this page ({e})."))?;
        if head.format != Self::FORMAT {
            return Err(format!(
                "This head file is {:?}, not {:?}.",
                head.format,
                Self::FORMAT
            ));
        }
        head.check()?;
        Ok(head)
    }

    /// Whether the weights' shapes fit together (a file may have been cut or
    /// edited; the worker checks a head it is sent the same way).
    pub fn check(&self) -> Result<(), String> {
        let head = self;
        let width = head.hidden.as_ref().map_or(head.dim, |h| h.outputs);
        let consistent = head.mean.len() == head.dim
            && head.scale.len() == head.dim
            && head.hidden.as_ref().is_none_or(|h| h.inputs == head.dim)
            && [&head.out]
                .into_iter()
                .chain(head.hidden.as_ref())
                // Checked: a file's sizes may multiply past usize (found by the fuzz test).
                .all(|d| {
                    d.inputs.checked_mul(d.outputs) == Some(d.w.len()) && d.b.len() == d.outputs
                })
            && head.out.inputs == width
            && head.out.outputs == head.classes.len()
            && head.classes.len() >= 2;
        if !consistent {
            return Err(
                "This head file's weights do not fit together: it was cut or edited.".into(),
            );
        }
        Ok(())
    }
}

/// What a trained head measured on the held-out rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeadReport {
    pub train_accuracy: f32,
    pub test_accuracy: f32,
    /// `confusion[true class][predicted class]`, counting the test rows.
    pub confusion: Vec<Vec<u32>>,
    /// The predicted class of each test row, in the order of `test`.
    pub predictions: Vec<usize>,
    pub train_ms: f64,
}

/// One cell of the layer × pooling sweep: a head trained there, its
/// held-out accuracy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepCell {
    pub layer: usize,
    pub pooling: Pooling,
    pub accuracy: f32,
}

/// What any head should beat.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Baselines {
    /// Always answering the most frequent training class.
    pub majority: f32,
    /// Logistic regression on which token ids occur (no model at all).
    pub bag_of_words: f32,
    /// The token ids the bag of words used (the most frequent in training).
    pub bag_of_words_vocabulary: usize,
}

/// Which rows' features the worker holds, for trainings and sweeps that
/// follow without sending the texts again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureSummary {
    /// The [`crate::Request::Features`] that made them.
    pub id: RequestId,
    pub layers: Vec<String>,
    pub dim: usize,
    pub rows: usize,
    /// Rows longer than the model reads, cut to `max_tokens`.
    pub cut: usize,
    pub max_tokens: usize,
    pub ms: f64,
}

/// "embeddings", "block 1" … "block N (after the final norm)": the hidden
/// states of a stack with `count - 1` blocks, as Hugging Face numbers them.
pub fn stack_layer_names(count: usize, stack: &str) -> Vec<String> {
    (0..count)
        .map(|i| match i {
            0 => format!("{stack}embeddings"),
            i if i == count - 1 => format!("{stack}block {i} (after the final norm)"),
            i => format!("{stack}block {i}"),
        })
        .collect()
}

/// Every layer a head can read on a model, named as the worker names its
/// features: GPT-2's one stack; T5's encoder, then the decoder's state at
/// its first step.
pub fn layer_names(info: &ModelInfo) -> Vec<String> {
    match info.arch {
        Arch::Gpt2 => stack_layer_names(info.layers + 1, ""),
        Arch::T5 => {
            let mut names = stack_layer_names(info.encoder_layers + 1, "encoder ");
            names.push(DECODER_FIRST_STEP.to_string());
            names
        }
    }
}

pub const DECODER_FIRST_STEP: &str = "decoder, first step";

/// Where a head suits each family best by design: GPT-2's last layer read
/// at its last token (the only one that has seen the whole input), T5's
/// encoder output averaged over the tokens (every one has seen them all).
pub fn suited(info: &ModelInfo) -> (usize, Pooling) {
    match info.arch {
        Arch::Gpt2 => (info.layers, Pooling::Last),
        Arch::T5 => (info.encoder_layers, Pooling::Mean),
    }
}
