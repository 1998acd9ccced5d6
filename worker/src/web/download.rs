//! Model files into memory: from the browser's cache when it holds them,
//! else downloaded with progress, and stopped between chunks by a Cancel.

use js_sys::{Reflect, Uint8Array};
use protocol::{Event, RequestId};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;

use super::{cache, js_error, post, scope, take_cancel};

/// Why a load stopped.
pub(crate) enum LoadFailure {
    Cancelled,
    Failed(String),
}

impl From<String> for LoadFailure {
    fn from(message: String) -> Self {
        LoadFailure::Failed(message)
    }
}

/// Largest file the worker downloads: wasm32 memory is 4 GB, and loading
/// holds the file and the model at once.
const MAX_DOWNLOAD: u64 = 1_500_000_000;

/// One file of a model, in memory.
pub(crate) struct File {
    /// Absolute URL: the cache key.
    pub url: String,
    pub bytes: Vec<u8>,
    pub from_cache: bool,
    /// Fetched over http(s), so worth keeping (a local file's blob: URL is not).
    pub cacheable: bool,
}

/// A file of load `id`: from the cache when it holds it, else downloaded with
/// progress. The page's Cancel for `id` aborts the download between chunks.
pub(crate) async fn fetch_file(
    id: RequestId,
    url: &str,
    cache: Option<&web_sys::Cache>,
) -> Result<File, LoadFailure> {
    let absolute = absolute(url)?;
    let cacheable = absolute.starts_with("http://") || absolute.starts_with("https://");
    if let (Some(cache), true) = (cache, cacheable) {
        if let Some(response) = cache::lookup(cache, &absolute).await {
            let bytes = read_body(Some(id), url, response, None, true).await?;
            return Ok(File {
                url: absolute,
                bytes,
                from_cache: true,
                cacheable,
            });
        }
    }
    let abort = web_sys::AbortController::new().ok();
    let init = web_sys::RequestInit::new();
    init.set_signal(abort.as_ref().map(|a| a.signal()).as_ref());
    let response = get(url, &absolute, &init).await?;
    let bytes = read_body(Some(id), url, response, abort, false).await?;
    Ok(File {
        url: absolute,
        bytes,
        from_cache: false,
        cacheable,
    })
}

/// `url` made absolute against the page's address: the worker runs from a
/// blob (see the app's `worker_link.rs`), whose own address resolves nothing.
pub(crate) fn absolute(url: &str) -> Result<String, String> {
    let base = js_sys::Reflect::get(&scope(), &"pretrainLabPage".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| scope().location().href());
    web_sys::Url::new_with_base(url, &base)
        .map(|u| u.href())
        .map_err(|_| format!("{url} is not a valid address"))
}

/// The response for `address` (`url` as the user wrote it names it in
/// messages); an error status is a sentence.
async fn get(url: &str, address: &str, init: &web_sys::RequestInit) -> Result<Response, String> {
    let address = absolute(address)?;
    let response = JsFuture::from(scope().fetch_with_str_and_init(&address, init))
        .await
        .map_err(|e| {
            format!(
                "{url} could not be downloaded: {} (no connection, or an address the page's security policy does not allow: a mirror on a new address is allowed once the page is reloaded)",
                js_error(e)
            )
        })?;
    let response: Response = response.unchecked_into();
    if !response.ok() {
        return Err(format!(
            "{url} could not be downloaded: the server answered {} {}",
            response.status(),
            response.status_text()
        ));
    }
    Ok(response)
}

/// A tokenizer or other small file, without progress or cache.
pub(crate) async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let response = get(url, url, &web_sys::RequestInit::new()).await?;
    match read_body(None, url, response, None, false).await {
        Ok(bytes) => Ok(bytes),
        Err(LoadFailure::Failed(message)) => Err(message),
        Err(LoadFailure::Cancelled) => Err(format!("{url}: cancelled")),
    }
}

/// Reads a response body chunk by chunk, reporting progress for request `id`
/// and stopping (aborting the download) when the page cancelled `id`.
async fn read_body(
    id: Option<RequestId>,
    url: &str,
    response: Response,
    abort: Option<web_sys::AbortController>,
    cached: bool,
) -> Result<Vec<u8>, LoadFailure> {
    let total = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<u64>().ok());
    let Some(body) = response.body() else {
        return Ok(Vec::new());
    };
    if total.is_some_and(|t| t > MAX_DOWNLOAD) {
        return Err(format!(
            "{url} is {:.1} GB: larger than this page can hold in memory ({:.1} GB)",
            total.unwrap_or(0) as f64 / 1e9,
            MAX_DOWNLOAD as f64 / 1e9
        )
        .into());
    }
    let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut bytes = Vec::new();
    loop {
        if id.is_some_and(take_cancel) {
            if let Some(abort) = &abort {
                abort.abort();
            }
            let _ = reader.cancel();
            return Err(LoadFailure::Cancelled);
        }
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|e| format!("{url}: the download broke off: {}", js_error(e)))?;
        let done = Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true);
        if done {
            break;
        }
        if let Ok(value) = Reflect::get(&chunk, &"value".into()) {
            let chunk = value.unchecked_into::<Uint8Array>().to_vec();
            if bytes.len() as u64 + chunk.len() as u64 > MAX_DOWNLOAD
                || bytes.try_reserve(chunk.len()).is_err()
            {
                return Err(format!("{url} is larger than this page can hold in memory").into());
            }
            bytes.extend(chunk);
        }
        if let Some(id) = id {
            post(&Event::Progress {
                id,
                file: url.to_string(),
                loaded: bytes.len() as u64,
                total,
                cached,
            });
        }
    }
    // A connection that closed early must not pass as the whole file.
    if let Some(total) = total.filter(|&t| t != bytes.len() as u64) {
        return Err(format!(
            "{url}: the download broke off after {} of {total} bytes",
            bytes.len()
        )
        .into());
    }
    Ok(bytes)
}
