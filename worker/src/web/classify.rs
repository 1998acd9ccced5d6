//! The classification head's requests: features made batch by batch (with
//! progress, and Cancel seen between batches), a head trained on them, the
//! layer × pooling sweep cell by cell, predictions and T5's own answer.

use std::rc::Rc;

use protocol::classify::{FeatureSummary, HeadSettings, LabelledSet, Pooling};
use protocol::{Event, ModelRef, RequestId};

use super::{held_session, post, take_cancel, yield_to_event_loop, STATE};
use crate::classify::{self, FEATURE_BATCH};
use crate::features::{pooled_features, Features};
use crate::session::Session;

/// The one set of features the worker keeps: the last one made.
#[derive(Clone)]
pub(super) struct HeldFeatures {
    id: RequestId,
    model: ModelRef,
    features: Rc<Features>,
    /// The rows' token ids, for the bag-of-words baseline.
    ids: Rc<Vec<Vec<u32>>>,
}

pub(super) async fn features(
    id: RequestId,
    model: ModelRef,
    texts: Vec<String>,
) -> Result<(), String> {
    let session = held_session(model)?;
    if texts.is_empty() {
        return Err("there are no examples to make features of".into());
    }
    let started = web_time::Instant::now();
    let (rows, cut, max_tokens) =
        classify::encode_rows(&session, &texts).map_err(|e| crate::plain_error(&e))?;
    // The last set is dropped first: its memory is needed for this one.
    STATE.with(|s| s.borrow_mut().features = None);
    let order = classify::length_order(&rows);
    let mut all: Option<Features> = None;
    for (done, chunk) in order.chunks(FEATURE_BATCH).enumerate() {
        yield_to_event_loop().await;
        if take_cancel(id) {
            post(&Event::Cancelled { id });
            return Ok(());
        }
        let batch = pooled_features(&session.model, &classify::batch_rows(&rows, chunk))
            .map_err(|e| crate::plain_error(&e))?;
        match &mut all {
            Some(all) => all.extend(batch),
            None => all = Some(batch),
        }
        post(&Event::FeaturesProgress {
            id,
            done: (done * FEATURE_BATCH + chunk.len()).min(rows.len()),
            total: rows.len(),
        });
    }
    let Some(features) = all else {
        return Err("there are no examples to make features of".into());
    };
    let features = features.in_original_order(&order);
    // A newer load of this family makes these features stale.
    held_session(model)?;
    let summary = FeatureSummary {
        id,
        layers: features.layers.clone(),
        dim: features.dim,
        rows: features.rows(),
        cut,
        max_tokens,
        ms: started.elapsed().as_secs_f64() * 1e3,
    };
    STATE.with(|s| {
        s.borrow_mut().features = Some(HeldFeatures {
            id,
            model,
            features: Rc::new(features),
            ids: Rc::new(rows),
        })
    });
    post(&Event::Features { summary });
    Ok(())
}

/// The held features `id` names, with the model they came from.
fn held_features(id: RequestId) -> Result<(Rc<Session>, HeldFeatures), String> {
    let held = STATE
        .with(|s| s.borrow().features.clone())
        .filter(|f| f.id == id);
    let held = held.ok_or_else(|| {
        "these features are gone (new ones were made, or the worker restarted): make them again"
            .to_string()
    })?;
    Ok((held_session(held.model)?, held))
}

pub(super) fn train_head(
    id: RequestId,
    features_id: RequestId,
    layer: usize,
    pooling: Pooling,
    set: LabelledSet,
    settings: HeadSettings,
) -> Result<(), String> {
    let (session, held) = held_features(features_id)?;
    let features = held.features;
    let settings = settings.clamped();
    let (head, report) = classify::train_at(&features, layer, pooling, &set, &settings)
        .map_err(|e| crate::plain_error(&e))?;
    let head = classify::head_file(&session, &head, &features, layer, pooling, &set, &settings);
    post(&Event::HeadTrained {
        id,
        head: Box::new(head),
        report,
    });
    Ok(())
}

pub(super) async fn sweep(
    id: RequestId,
    features_id: RequestId,
    set: LabelledSet,
    settings: HeadSettings,
) -> Result<(), String> {
    let (_, held) = held_features(features_id)?;
    let (features, ids) = (held.features, held.ids);
    let started = web_time::Instant::now();
    let settings = settings.clamped();
    let cells: Vec<(usize, Pooling)> = (0..features.layers.len())
        .flat_map(|l| Pooling::ALL.map(|p| (l, p)))
        .collect();
    for (done, &(layer, pooling)) in cells.iter().enumerate() {
        yield_to_event_loop().await;
        if take_cancel(id) {
            post(&Event::Cancelled { id });
            return Ok(());
        }
        let cell = classify::sweep_cell(&features, layer, pooling, &set, &settings)
            .map_err(|e| crate::plain_error(&e))?;
        post(&Event::SweepCell {
            id,
            cell,
            done: done + 1,
            total: cells.len(),
        });
    }
    yield_to_event_loop().await;
    if take_cancel(id) {
        post(&Event::Cancelled { id });
        return Ok(());
    }
    let baselines =
        classify::baselines(&ids, &set, &settings).map_err(|e| crate::plain_error(&e))?;
    post(&Event::SweepDone {
        id,
        baselines,
        ms: started.elapsed().as_secs_f64() * 1e3,
    });
    Ok(())
}
