//! Loading a model in the worker: its files fetched (or read from the
//! cache), checked, built and warmed up; then held in place of the model of
//! its architecture, its files stored in the cache, and the second thread
//! given the new matrices.

use std::rc::Rc;

use protocol::{Event, FileSource, HeldModel, ModelSpec, RequestId};

use super::download::{fetch_file, LoadFailure};
use super::{cache, post, threads, yield_to_event_loop, Held, STATE};
use crate::session::{load_model, tokenizer_from_bytes, Session};

/// Loads `spec` for request `id`; a cancelled load never lands.
pub(super) async fn load(id: RequestId, spec: ModelSpec) -> Result<(), LoadFailure> {
    let started = web_time::Instant::now();
    let cache = cache::open().await.ok();
    let mut files = Vec::new();
    // A local file's address is a blob URL: its messages name the file.
    let named = |failure: LoadFailure| match failure {
        LoadFailure::Failed(message) if spec.weights_url.starts_with("blob:") => {
            LoadFailure::Failed(message.replace(&spec.weights_url, &spec.name))
        }
        other => other,
    };
    let weights = fetch_file(id, &spec.weights_url, cache.as_ref())
        .await
        .map_err(named)?;
    crate::expected::check_expected(
        &spec.weights_url,
        &weights.bytes,
        spec.weights_bytes,
        spec.weights_sha256.as_deref(),
    )?;
    let config = match &spec.config_url {
        Some(url) => {
            let file = fetch_file(id, url, cache.as_ref()).await?;
            let text = String::from_utf8(file.bytes.clone())
                .map_err(|_| format!("{url} is not a text file"))?;
            files.push(file);
            Some(text)
        }
        None => None,
    };
    let cannot_load = |e: candle_core::Error| {
        format!("{} cannot be loaded: {}", spec.name, crate::plain_error(&e))
    };
    let (model, info) =
        load_model(&spec.name, &weights.bytes, config.as_deref(), None).map_err(cannot_load)?;
    let tokenizer_url = spec
        .tokenizer_url
        .clone()
        .unwrap_or_else(|| info.arch.default_tokenizer_url().to_string());
    let tokenizer_file = fetch_file(id, &tokenizer_url, cache.as_ref()).await?;
    let tokenizer = tokenizer_from_bytes(&tokenizer_file.bytes).map_err(cannot_load)?;
    let session = Session::new(model, info, tokenizer).map_err(cannot_load)?;
    // Twice, with a turn of the event loop between: the browser optimizes
    // the functions the first run made hot while the second one runs.
    session.warm_up().map_err(cannot_load)?;
    yield_to_event_loop().await;
    session.warm_up().map_err(cannot_load)?;
    files.insert(0, weights);
    files.push(tokenizer_file);
    // Checked and held with no await between: a load cancelled (or replaced
    // by a newer one) before this point never lands.
    if STATE.with(|s| s.borrow().cancelled.contains(&id)) {
        return Err(LoadFailure::Cancelled);
    }
    let info = session.info.clone();
    let session = Rc::new(session);
    // It replaces the held model of its architecture; the other stays.
    STATE.with(|s| {
        let held = &mut s.borrow_mut().held;
        held.retain(|h| h.about.info.arch != info.arch);
        held.push(Held {
            session: session.clone(),
            about: HeldModel {
                load: id,
                load_ms: started.elapsed().as_secs_f64() * 1e3,
                spec,
                info: info.clone(),
                files: Vec::new(),
            },
        });
    });
    // Only a model that loaded is kept: a partial or wrong file never is.
    let mut sources = Vec::new();
    for file in files {
        let not_stored = match (&cache, file.from_cache) {
            (Some(cache), false) if file.cacheable => cache::store(cache, &file).await.err(),
            _ => None,
        };
        sources.push(FileSource {
            stored: !file.from_cache && file.cacheable && cache.is_some() && not_stored.is_none(),
            url: file.url,
            bytes: file.bytes.len() as u64,
            from_cache: file.from_cache,
            not_stored,
        });
    }
    let held = STATE.with(|s| {
        let mut state = s.borrow_mut();
        // Still this load's model, unless a newer load replaced it meanwhile.
        if let Some(h) = state
            .held
            .iter_mut()
            .find(|h| Rc::ptr_eq(&h.session, &session))
        {
            h.about.files = sources;
        }
        state.held.iter().map(|h| h.about.clone()).collect()
    });
    // The second thread, if on, gets the new matrices (and warms up on them).
    match threads::refresh().await {
        Ok(()) if threads::in_use().0 > 1 => {
            session.warm_up().map_err(|e| crate::plain_error(&e))?;
        }
        Ok(()) => {}
        Err(why) => post(&Event::Threads {
            id,
            threads: 1,
            note: Some(format!(
                "The second thread stopped ({why}); the models run on one thread."
            )),
        }),
    }
    // What the worker holds first, so the page never shows a load as done
    // before it can show the model.
    post(&Event::Held { models: held });
    post(&Event::Loaded { id, info });
    Ok(())
}
