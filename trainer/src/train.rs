//! The optimisation loop of one stage: AdamW (weight decay on matrices only),
//! linear warmup then cosine decay, global gradient-norm clipping, a time box.
//!
//! Reproducible: the batches and the initial weights come from the seed, and
//! the learning rate depends on the step only. With `--minutes` and no step
//! count, the step count is planned from the speed of the first (warmup)
//! steps, whose learning rate does not depend on it; the recipe records the
//! count, so `--steps N` repeats the run exactly.

use std::time::Instant;

use candle_core::backprop::GradStore;
use candle_core::{Result, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarMap};
use serde::Serialize;

use crate::init::sorted_vars;
use crate::model::{Batch, Batcher, Model};
use crate::vocab::{CompactVocab, Mapper};

#[derive(Clone, Debug, Serialize)]
pub struct StageOptions {
    /// Exact step count; `None` plans it from `seconds`.
    pub steps: Option<usize>,
    /// Time box in seconds (the stage stops when it runs out).
    pub seconds: f64,
    /// Sequences per minibatch.
    pub batch_size: usize,
    pub lr: f64,
    pub min_lr_ratio: f64,
    pub warmup: usize,
    pub weight_decay: f64,
    pub clip: f64,
    pub log_every: usize,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct StageReport {
    pub planned_steps: usize,
    pub steps: usize,
    pub warmup_steps: usize,
    pub stopped_by_time: bool,
    pub seconds: f64,
    pub tokens: u64,
    pub target_tokens: u64,
    pub tokens_per_second: f64,
    pub epochs: usize,
    /// Mean training loss over the last tenth of the steps (full vocabulary, nats/token).
    pub final_train_loss: f64,
    pub first_train_loss: f64,
    pub valid_loss: Option<f64>,
    /// (step, mean loss since the previous entry)
    pub curve: Vec<(usize, f64)>,
}

/// The learning rate at 1-based `step` of `planned`.
pub fn learning_rate(step: usize, planned: usize, warmup: usize, peak: f64, min_ratio: f64) -> f64 {
    if step <= warmup {
        return peak * step as f64 / warmup.max(1) as f64;
    }
    let span = planned.saturating_sub(warmup).max(1) as f64;
    let progress = ((step - warmup) as f64 / span).min(1.0);
    let min = peak * min_ratio;
    min + (peak - min) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
}

fn global_norm(vars: &[Var], grads: &GradStore) -> Result<f64> {
    let mut total = 0f64;
    for v in vars {
        if let Some(g) = grads.get(v) {
            total += g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
        }
    }
    Ok(total.sqrt())
}

/// Mean loss per target token over fixed batches.
pub fn evaluate(model: &Model, batches: &[Batch], vocab: &CompactVocab) -> Result<Option<f64>> {
    let (mut sum, mut n) = (0f64, 0usize);
    for b in batches {
        let (_, loss) = model.loss(b, vocab)?;
        sum += loss * b.targets() as f64;
        n += b.targets();
    }
    Ok((n > 0).then(|| sum / n as f64))
}

/// Trains `model` (whose variables are `varmap`) on `batches` for one stage.
pub fn run_stage(
    model: &Model,
    varmap: &VarMap,
    vocab: &CompactVocab,
    batches: &mut Batcher,
    valid: &[Batch],
    opts: &StageOptions,
    log: &mut dyn FnMut(&str),
) -> Result<StageReport> {
    let mapper = Mapper::new(vocab);
    let vars: Vec<Var> = sorted_vars(varmap)?.into_iter().map(|(_, v)| v).collect();
    // Norm gains and biases are not decayed.
    let (matrices, vectors): (Vec<Var>, Vec<Var>) =
        vars.iter().cloned().partition(|v| v.rank() >= 2);
    let params = |weight_decay| ParamsAdamW {
        lr: opts.lr,
        beta1: 0.9,
        beta2: 0.95,
        eps: 1e-8,
        weight_decay,
    };
    let mut decayed = AdamW::new(matrices, params(opts.weight_decay))?;
    let mut plain = AdamW::new(vectors, params(0.0))?;

    let warmup = match opts.steps {
        Some(s) => opts.warmup.min(s / 10).max(1),
        None => opts.warmup.max(1),
    };
    let calibration = warmup.min(5);
    let mut planned = opts.steps.unwrap_or(usize::MAX);
    let mut report = StageReport {
        warmup_steps: warmup,
        ..Default::default()
    };
    let started = Instant::now();
    let mut calibration_started = started;
    let (mut interval_loss, mut interval_steps, mut interval_tokens) = (0f64, 0usize, 0usize);
    let mut interval_started = started;
    let mut losses = Vec::new();
    let mut step = 0;
    while step < planned {
        if started.elapsed().as_secs_f64() >= opts.seconds {
            report.stopped_by_time = true;
            break;
        }
        step += 1;
        let batch = batches.next_batch(&mapper)?;
        let lr = learning_rate(step, planned, warmup, opts.lr, opts.min_lr_ratio);
        decayed.set_learning_rate(lr);
        plain.set_learning_rate(lr);
        let (loss, full_loss) = model.loss(&batch, vocab)?;
        let mut grads = loss.backward()?;
        let norm = global_norm(&vars, &grads)?;
        if opts.clip > 0.0 && norm > opts.clip {
            let scale = opts.clip / norm;
            for v in &vars {
                if let Some(g) = grads.remove(v) {
                    grads.insert(v, (g * scale)?);
                }
            }
        }
        decayed.step(&grads)?;
        plain.step(&grads)?;
        if !full_loss.is_finite() {
            candle_core::bail!(
                "the loss became {full_loss} at step {step}: lower the learning rate"
            )
        }
        losses.push(full_loss);
        report.tokens += batch.tokens() as u64;
        report.target_tokens += batch.targets() as u64;
        interval_loss += full_loss;
        interval_steps += 1;
        interval_tokens += batch.tokens();

        // The first step pays for allocations: time the next ones.
        if step == 1 {
            calibration_started = Instant::now();
        }
        if opts.steps.is_none() && step == calibration {
            let per_step = if calibration > 1 {
                calibration_started.elapsed().as_secs_f64() / (calibration - 1) as f64
            } else {
                started.elapsed().as_secs_f64()
            };
            // A little room for the validation pass and the export.
            let budget = opts.seconds * 0.97 - started.elapsed().as_secs_f64();
            planned = step + (budget / per_step.max(1e-6)).max(0.0) as usize;
            log(&format!(
                "planned {planned} steps ({:.2} s/step) for {:.1} minutes",
                per_step,
                opts.seconds / 60.0
            ));
            if planned < 4 * warmup {
                log(&format!(
                    "warning: {warmup} warmup steps are more than a quarter of the run: lower --warmup"
                ));
            }
        }
        if step % opts.log_every.max(1) == 0 || step == planned {
            let secs = interval_started.elapsed().as_secs_f64().max(1e-9);
            let mean = interval_loss / interval_steps as f64;
            report.curve.push((step, mean));
            let shown_total = if planned == usize::MAX {
                "?".to_string()
            } else {
                planned.to_string()
            };
            log(&format!(
                "step {step}/{shown_total} loss {mean:.4} lr {lr:.2e} |g| {norm:.2} {:.0} tok/s {:.0}s",
                interval_tokens as f64 / secs,
                started.elapsed().as_secs_f64()
            ));
            (interval_loss, interval_steps, interval_tokens) = (0.0, 0, 0);
            interval_started = Instant::now();
        }
    }
    report.planned_steps = if planned == usize::MAX { step } else { planned };
    report.steps = step;
    report.seconds = started.elapsed().as_secs_f64();
    report.tokens_per_second = report.tokens as f64 / report.seconds.max(1e-9);
    report.epochs = batches.epochs;
    if !losses.is_empty() {
        let tail = (losses.len() / 10).max(1);
        report.final_train_loss = losses[losses.len() - tail..].iter().sum::<f64>() / tail as f64;
        report.first_train_loss = losses[0];
    }
    report.valid_loss = evaluate(model, valid, vocab)?;
    if let Some(v) = report.valid_loss {
        log(&format!("valid loss {v:.4} (perplexity {:.1})", v.exp()));
    }
    Ok(report)
}
