//! The classification head's work on a held model, apart from the worker's
//! messages (so `lab`, the benchmark and the native tests run the very same
//! code): features of labelled texts, a head at one layer and pooling, the
//! layer × pooling sweep with its baselines, and predictions of a head file.

use std::collections::HashMap;

use candle_core::Result;
use protocol::classify::{
    Baselines, HeadFile, HeadReport, HeadSettings, LabelledSet, Pooling, SweepCell,
};

use crate::features::{pooled_features, Features};
use crate::head::{train, Head};
use crate::session::Session;

/// Texts are read up to this many tokens (or the model's context, if
/// shorter): labelled examples are short, and a long one costs every row of
/// its batch.
pub const MAX_FEATURE_TOKENS: usize = 256;
/// Rows per forward pass: small enough to report progress and see Cancel.
pub const FEATURE_BATCH: usize = 8;
/// The bag-of-words baseline reads the most frequent token ids in training.
const BAG_OF_WORDS_VOCABULARY: usize = 2_000;

/// The texts as token ids, each cut to what the model reads, and how many
/// were cut.
pub fn encode_rows(session: &Session, texts: &[String]) -> Result<(Vec<Vec<u32>>, usize, usize)> {
    let max = MAX_FEATURE_TOKENS.min(session.info.context_length.max(1));
    let mut cut = 0;
    let mut rows = Vec::with_capacity(texts.len());
    for (i, text) in texts.iter().enumerate() {
        let mut ids = session.encode(text)?;
        if ids.is_empty() {
            candle_core::bail!("example {} has no text the tokenizer keeps", i + 1)
        }
        if ids.len() > max {
            ids.truncate(max);
            cut += 1;
        }
        rows.push(ids);
    }
    Ok((rows, cut, max))
}

/// The rows in the order they are batched: by length, so that a batch
/// pads little (features come back in the input's order, see
/// [`Features::in_original_order`]).
pub fn length_order(rows: &[Vec<u32>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| rows[i].len());
    order
}

/// The rows of one batch of `order`.
pub fn batch_rows(rows: &[Vec<u32>], batch: &[usize]) -> Vec<Vec<u32>> {
    batch.iter().map(|&i| rows[i].clone()).collect()
}

/// Features of every row, `FEATURE_BATCH` rows at a time (for the native
/// callers; the worker runs the batches itself between messages).
pub fn features(session: &Session, rows: &[Vec<u32>]) -> Result<Features> {
    let order = length_order(rows);
    let mut all: Option<Features> = None;
    for batch in order.chunks(FEATURE_BATCH) {
        let more = pooled_features(&session.model, &batch_rows(rows, batch))?;
        match &mut all {
            Some(all) => all.extend(more),
            None => all = Some(more),
        }
    }
    match all {
        Some(all) => Ok(all.in_original_order(&order)),
        None => candle_core::bail!("there are no examples to make features of"),
    }
}

fn check_set(set: &LabelledSet, rows: usize) -> Result<()> {
    let in_range = |i: &usize| *i < rows && *i < set.labels.len();
    if set.labels.len() != rows
        || !set.train.iter().all(in_range)
        || !set.test.iter().all(in_range)
        || set.labels.iter().any(|&c| c >= set.classes.len())
    {
        candle_core::bail!("the examples changed since their features were made: make them again")
    }
    if set.train.is_empty() || set.test.is_empty() || set.classes.len() < 2 {
        candle_core::bail!("a head needs training and test rows of at least two classes")
    }
    Ok(())
}

/// A head trained on the training rows of `features` at `layer` and
/// `pooling`, and what it measured on the test rows.
pub fn train_at(
    features: &Features,
    layer: usize,
    pooling: Pooling,
    set: &LabelledSet,
    settings: &HeadSettings,
) -> Result<(Head, HeadReport)> {
    check_set(set, features.rows())?;
    if layer >= features.layers.len() {
        candle_core::bail!(
            "there is no layer {layer}: the model has {}",
            features.layers.len()
        )
    }
    let started = web_time::Instant::now();
    let rows = |which: &[usize]| -> Vec<Vec<f32>> {
        which
            .iter()
            .map(|&r| features.get(r, layer, pooling).to_vec())
            .collect()
    };
    let classes_of =
        |which: &[usize]| -> Vec<usize> { which.iter().map(|&r| set.labels[r]).collect() };
    let (x, y) = (rows(&set.train), classes_of(&set.train));
    let head = train(&x, &y, set.classes.len(), &settings.clone().clamped());
    let train_accuracy = accuracy(&x.iter().map(|r| head.predict(r)).collect::<Vec<_>>(), &y);
    let test_y = classes_of(&set.test);
    let predictions: Vec<usize> = rows(&set.test).iter().map(|r| head.predict(r)).collect();
    let mut confusion = vec![vec![0u32; set.classes.len()]; set.classes.len()];
    for (&truth, &guess) in test_y.iter().zip(&predictions) {
        confusion[truth][guess] += 1;
    }
    let report = HeadReport {
        train_accuracy,
        test_accuracy: accuracy(&predictions, &test_y),
        confusion,
        predictions,
        train_ms: started.elapsed().as_secs_f64() * 1e3,
    };
    Ok((head, report))
}

/// The test accuracy of a head at one cell of the sweep.
pub fn sweep_cell(
    features: &Features,
    layer: usize,
    pooling: Pooling,
    set: &LabelledSet,
    settings: &HeadSettings,
) -> Result<SweepCell> {
    let (_, report) = train_at(features, layer, pooling, set, settings)?;
    Ok(SweepCell {
        layer,
        pooling,
        accuracy: report.test_accuracy,
    })
}

/// What a head has to beat: the majority class, and a logistic regression
/// on which token ids occur in a text (the same head, without a model).
pub fn baselines(
    ids: &[Vec<u32>],
    set: &LabelledSet,
    settings: &HeadSettings,
) -> Result<Baselines> {
    check_set(set, ids.len())?;
    let mut counts = vec![0usize; set.classes.len()];
    set.train.iter().for_each(|&r| counts[set.labels[r]] += 1);
    let majority = (0..counts.len())
        .max_by_key(|&c| (counts[c], usize::MAX - c))
        .unwrap_or(0);
    let test_y: Vec<usize> = set.test.iter().map(|&r| set.labels[r]).collect();
    let majority_accuracy = accuracy(&vec![majority; test_y.len()], &test_y);

    // The vocabulary: the ids in the most training texts (ties by id).
    let mut df: HashMap<u32, usize> = HashMap::new();
    for &r in &set.train {
        let mut seen = ids[r].clone();
        seen.sort_unstable();
        seen.dedup();
        seen.into_iter()
            .for_each(|id| *df.entry(id).or_default() += 1);
    }
    let mut vocabulary: Vec<(u32, usize)> = df.into_iter().collect();
    vocabulary.sort_unstable_by_key(|&(id, n)| (usize::MAX - n, id));
    vocabulary.truncate(BAG_OF_WORDS_VOCABULARY);
    let column: HashMap<u32, usize> = vocabulary
        .iter()
        .enumerate()
        .map(|(c, &(id, _))| (id, c))
        .collect();
    let bag = |r: usize| {
        let mut v = vec![0.0f32; column.len()];
        ids[r]
            .iter()
            .filter_map(|id| column.get(id))
            .for_each(|&c| v[c] = 1.0);
        v
    };
    let x: Vec<Vec<f32>> = set.train.iter().map(|&r| bag(r)).collect();
    let y: Vec<usize> = set.train.iter().map(|&r| set.labels[r]).collect();
    let linear = HeadSettings {
        hidden: None,
        ..settings.clone().clamped()
    };
    let head = train(&x, &y, set.classes.len(), &linear);
    let guesses: Vec<usize> = set.test.iter().map(|&r| head.predict(&bag(r))).collect();
    Ok(Baselines {
        majority: majority_accuracy,
        bag_of_words: accuracy(&guesses, &test_y),
        bag_of_words_vocabulary: column.len(),
    })
}

/// The file of a head trained on `session`'s model.
pub fn head_file(
    session: &Session,
    head: &Head,
    features: &Features,
    layer: usize,
    pooling: Pooling,
    set: &LabelledSet,
    settings: &HeadSettings,
) -> HeadFile {
    let mut file = HeadFile {
        format: HeadFile::FORMAT.to_string(),
        model: session.info.name.clone(),
        arch: session.info.arch,
        dim: features.dim,
        layer,
        layer_name: features.layers[layer].clone(),
        pooling,
        classes: set.classes.clone(),
        settings: settings.clone(),
        mean: Vec::new(),
        scale: Vec::new(),
        hidden: None,
        out: protocol::classify::Dense {
            inputs: 0,
            outputs: 0,
            w: Vec::new(),
            b: Vec::new(),
        },
    };
    head.to_file(&mut file);
    file
}

/// The class probabilities `file`'s head gives `text` on `session`'s model;
/// a head trained on another model is refused.
pub fn predict(session: &Session, file: &HeadFile, text: &str) -> Result<Vec<f32>> {
    let info = &session.info;
    if file.model != info.name || file.arch != info.arch {
        candle_core::bail!(
            "this head was trained on {} ({}), not on {} ({}): load that model, or train a new head",
            file.model,
            file.arch,
            info.name,
            info.arch
        )
    }
    if text.trim().is_empty() {
        candle_core::bail!("type a text to classify first")
    }
    file.check().map_err(candle_core::Error::msg)?;
    let (rows, _, _) = encode_rows(session, &[text.to_string()])?;
    let features = pooled_features(&session.model, &rows)?;
    if file.layer >= features.layers.len() || features.dim != file.dim {
        candle_core::bail!(
            "this head reads {}-wide features at layer {}, which {} does not have",
            file.dim,
            file.layer,
            info.name
        )
    }
    Ok(Head::from_file(file).probabilities(features.get(0, file.layer, file.pooling)))
}

/// For each prompt, each label word's share among the labels: the model's
/// own answer as text.
pub fn label_answers(
    session: &Session,
    prompts: &[String],
    labels: &[String],
) -> Result<Vec<Vec<f32>>> {
    prompts
        .iter()
        .map(|p| {
            let answer = session.label_probabilities(p, labels)?;
            Ok(answer.iter().map(|l| l.share).collect())
        })
        .collect()
}

fn accuracy(guesses: &[usize], truth: &[usize]) -> f32 {
    let right = guesses.iter().zip(truth).filter(|(g, t)| g == t).count();
    right as f32 / truth.len().max(1) as f32
}

/// The whole measurement on labelled examples: features, a head at every
/// layer × pooling, the baselines, and how long each part took.
pub struct SweepReport {
    pub model: String,
    pub layers: Vec<String>,
    pub cells: Vec<SweepCell>,
    pub baselines: Baselines,
    pub rows: usize,
    pub test_rows: usize,
    pub features_ms: f64,
    pub sweep_ms: f64,
}

/// Splits `examples` (`test_fraction`, `seed`) and sweeps every cell.
pub fn sweep_examples(
    session: &Session,
    examples: &[protocol::examples::Example],
    test_fraction: f64,
    seed: u64,
    settings: &HeadSettings,
) -> Result<SweepReport> {
    let set = protocol::examples::split(examples, test_fraction, seed)
        .map_err(candle_core::Error::msg)?;
    let texts: Vec<String> = examples.iter().map(|e| e.text.clone()).collect();
    let started = web_time::Instant::now();
    let (ids, _, _) = encode_rows(session, &texts)?;
    let features = features(session, &ids)?;
    let features_ms = started.elapsed().as_secs_f64() * 1e3;
    let started = web_time::Instant::now();
    let mut cells = Vec::new();
    for layer in 0..features.layers.len() {
        for pooling in Pooling::ALL {
            cells.push(sweep_cell(&features, layer, pooling, &set, settings)?);
        }
    }
    let baselines = baselines(&ids, &set, settings)?;
    Ok(SweepReport {
        model: session.info.name.clone(),
        layers: features.layers.clone(),
        cells,
        baselines,
        rows: examples.len(),
        test_rows: set.test.len(),
        features_ms,
        sweep_ms: started.elapsed().as_secs_f64() * 1e3,
    })
}

impl SweepReport {
    pub fn accuracy(&self, layer: usize, pooling: Pooling) -> f32 {
        self.cells
            .iter()
            .find(|c| c.layer == layer && c.pooling == pooling)
            .map_or(0.0, |c| c.accuracy)
    }

    /// The best cell (the earliest layer among equals).
    pub fn best(&self) -> &SweepCell {
        let mut best = &self.cells[0];
        for cell in &self.cells {
            if cell.accuracy > best.accuracy {
                best = cell;
            }
        }
        best
    }

    /// The layer × pooling table as Markdown, with the baselines below.
    pub fn table(&self) -> String {
        let mut out = String::from("| layer | mean | first | last |\n|---|---|---|---|\n");
        for (l, name) in self.layers.iter().enumerate() {
            let row: Vec<String> = Pooling::ALL
                .iter()
                .map(|&p| format!("{:.3}", self.accuracy(l, p)))
                .collect();
            out += &format!("| {name} | {} |\n", row.join(" | "));
        }
        out += &format!(
            "\nmajority class {:.3}, bag of words {:.3} ({} token ids); {} rows, {} tested; \
             features {:.0} ms, sweep {:.0} ms\n",
            self.baselines.majority,
            self.baselines.bag_of_words,
            self.baselines.bag_of_words_vocabulary,
            self.rows,
            self.test_rows,
            self.features_ms,
            self.sweep_ms
        );
        out
    }
}
