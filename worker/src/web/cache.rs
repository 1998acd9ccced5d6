//! Model files kept in the browser's Cache API, so a model downloaded once
//! loads on the next visit without the network.

use js_sys::{Array, Uint8Array};
use protocol::{CachedFile, Event, RequestId};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Cache, Headers, Response, ResponseInit};

use super::download::File;
use super::{js_error, scope};

/// Versioned: a later page that stores files differently bumps the name and
/// never reads these entries as its own.
pub const CACHE_NAME: &str = "pretrain-lab-models-v1";

pub async fn open() -> Result<Cache, String> {
    let storage = scope()
        .caches()
        .map_err(|e| format!("this browser keeps no cache here: {}", js_error(e)))?;
    let cache = JsFuture::from(storage.open(CACHE_NAME))
        .await
        .map_err(|e| format!("the model cache cannot be opened: {}", js_error(e)))?;
    Ok(cache.unchecked_into())
}

/// The cached response for `url`, if there is one.
pub async fn lookup(cache: &Cache, url: &str) -> Option<Response> {
    let found = JsFuture::from(cache.match_with_str(url)).await.ok()?;
    found.dyn_into::<Response>().ok()
}

/// Keeps a whole, loaded file. Its length goes in the headers so the cache
/// listing can show sizes without reading the bodies.
pub async fn store(cache: &Cache, file: &File) -> Result<(), String> {
    let headers = Headers::new().map_err(js_error)?;
    headers
        .set("content-length", &file.bytes.len().to_string())
        .map_err(js_error)?;
    headers
        .set("content-type", "application/octet-stream")
        .map_err(js_error)?;
    let init = ResponseInit::new();
    init.set_headers_headers(&headers);
    let body = Uint8Array::from(file.bytes.as_slice());
    let response =
        Response::new_with_opt_buffer_source_and_init(Some(&body), &init).map_err(js_error)?;
    JsFuture::from(cache.put_with_str(&file.url, &response))
        .await
        .map_err(|e| {
            format!(
                "the browser would not keep it for the next visit (its storage for this page may be full): {}",
                js_error(e)
            )
        })?;
    Ok(())
}

/// What the cache holds, after deleting everything first when `clear`.
pub async fn contents(id: RequestId, clear: bool) -> Event {
    let mut note = None;
    if clear {
        if let Ok(storage) = scope().caches() {
            if let Err(e) = JsFuture::from(storage.delete(CACHE_NAME)).await {
                note = Some(format!("the cache could not be cleared: {}", js_error(e)));
            }
        }
    }
    let files = match list().await {
        Ok(files) => files,
        Err(e) => {
            note.get_or_insert(e);
            Vec::new()
        }
    };
    Event::Cache { id, files, note }
}

async fn list() -> Result<Vec<CachedFile>, String> {
    let cache = open().await?;
    let requests: Array = JsFuture::from(cache.keys())
        .await
        .map_err(js_error)?
        .unchecked_into();
    let mut files = Vec::new();
    for request in requests.iter() {
        let request: web_sys::Request = request.unchecked_into();
        let url = request.url();
        let bytes = match lookup(&cache, &url).await {
            Some(response) => response
                .headers()
                .get("content-length")
                .ok()
                .flatten()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            None => 0,
        };
        files.push(CachedFile { url, bytes });
    }
    files.sort_by(|a, b| a.url.cmp(&b.url));
    Ok(files)
}
