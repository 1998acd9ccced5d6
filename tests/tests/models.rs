//! The model manager in headless Chromium: catalog models fetched from a hub
//! address (served here by the test's own server in the hub's layout, since
//! the real hub cannot be reached), download progress, the Cache API on
//! reload, clearing it, Cancel mid-download, broken and missing downloads
//! (local files: `local_files.rs`).

use std::path::PathBuf;

use e2e::manager::{cached_urls, fixture, greedy_gpt2_matches_the_reference, load_from_catalog};
use e2e::{repo_root, Page, SLOW_BYTES_PER_SECOND};
use serde_json::json;

const TINY_GPT2: &str = "gpt2-tiny-vocab/llama-q8_0.gguf";
/// The catalog's distilgpt2 file, as a hub mirror would hold it.
const DISTILGPT2: &str = "QuantFactory/distilgpt2-GGUF/resolve/main/distilgpt2.Q8_0.gguf";

/// A folder in the hub's `{repo}/resolve/main/{file}` layout holding the
/// test models under catalog names: the page reaches them exactly as it
/// would reach huggingface.co, only at another hub address.
fn hub_folder(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lab-hub-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (to, from) in [
        (DISTILGPT2, TINY_GPT2),
        (
            "lmz/candle-quantized-t5/resolve/main/model.gguf",
            "t5-tiny-vocab/model-q8_0.gguf",
        ),
        (
            "lmz/candle-quantized-t5/resolve/main/config.json",
            "t5-tiny-vocab/config.json",
        ),
        (
            "not-a-model/QuantFactory/distilgpt2-GGUF/resolve/main/distilgpt2.Q8_0.gguf",
            "gpt2-tiny-vocab/config.json",
        ),
    ] {
        let to = dir.join(to);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(fixture(from), &to).unwrap();
    }
    dir
}

async fn open_with_hub(tag: &str) -> Page {
    let page = Page::open_with_mounts(vec![("hub/".into(), hub_folder(tag))]).await;
    page.wait_attr("#worker-status", "data-ready", "true", 60)
        .await;
    // With nothing saved, the page opens with the catalog's default model,
    // the lab's trained T5; the tests then start from the tiny reference GPT-2.
    page.wait_attr("#model-info", "data-name", "lab-t5", 60)
        .await;
    load_from_catalog(&page, "tiny-gpt2").await;
    page.wait_attr("#model-info", "data-name", "tiny-gpt2", 60)
        .await;
    page
}

async fn set_hub(page: &Page, hub: &str) {
    page.set_value("#hub-url", &format!("{}{hub}", page.base_url))
        .await;
}

/// How many cache listings the worker has sent so far.
async fn cache_version(page: &Page) -> u64 {
    page.attr("#model-cache", "data-version")
        .await
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Waits for a cache listing newer than `seen`.
async fn fresh_listing(page: &Page, seen: u64) {
    page.wait_for("a fresh cache listing", 10, || async {
        (cache_version(page).await > seen).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_hub_model_downloads_with_progress_and_comes_from_the_cache_on_reload() {
    let page = open_with_hub("cache").await;
    let ready_ms: f64 = page
        .attr("#model-info", "data-ready-ms")
        .await
        .unwrap()
        .parse()
        .unwrap();
    eprintln!("page open to default model ready: {ready_ms:.0} ms");
    std::fs::create_dir_all(repo_root().join("test-artifacts")).unwrap();
    std::fs::write(
        repo_root().join("test-artifacts/first-interaction.json"),
        json!({ "default_model_ready_ms": ready_ms }).to_string(),
    )
    .unwrap();

    // The catalog states size and type before anything is downloaded.
    let item = page
        .text("#catalog [data-model='distilgpt2']")
        .await
        .unwrap();
    assert!(item.contains("q8_0") && item.contains("MB"), "{item}");
    assert_eq!(
        page.attr("#catalog [data-model='distilgpt2']", "data-cached")
            .await
            .as_deref(),
        Some("false")
    );

    set_hub(&page, "slow/hub/").await;
    load_from_catalog(&page, "distilgpt2").await;
    let size = std::fs::metadata(fixture(TINY_GPT2)).unwrap().len();
    let mut seen = Vec::new();
    let mut rate_shown = false;
    let started = std::time::Instant::now();
    // The playground keeps its model until the new one is in.
    while page.attr("#model-info", "data-name").await.as_deref() != Some("distilgpt2") {
        assert!(
            started.elapsed().as_secs() < 60,
            "the download did not finish: {:?}",
            page.text("#error").await
        );
        let loaded = page.attr("#load-progress", "data-loaded").await;
        let total = page.attr("#load-progress", "data-total").await;
        if let (Some(loaded), true) = (loaded, total == Some(size.to_string())) {
            let loaded: u64 = loaded.parse().unwrap();
            if !seen.contains(&loaded) {
                seen.push(loaded);
            }
            let text = page.text("#load-progress").await.unwrap_or_default();
            rate_shown |= text.contains("/s") && text.contains('%');
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let partial = seen.iter().filter(|&&l| l > 0 && l < size).count();
    assert!(
        partial >= 3,
        "progress events while downloading {size} bytes at {SLOW_BYTES_PER_SECOND} B/s: {seen:?}"
    );
    assert!(rate_shown, "the progress bar showed no rate");
    assert_eq!(
        page.attr("#model-info", "data-from-cache").await.as_deref(),
        Some("false")
    );
    let files = page.text("#model-files").await.unwrap();
    assert!(files.contains("now cached"), "{files}");
    page.wait_attr(
        "#catalog [data-model='distilgpt2']",
        "data-cached",
        "true",
        10,
    )
    .await;
    assert!(cached_urls(&page)
        .await
        .iter()
        .any(|u| u.ends_with(DISTILGPT2)));
    page.screenshot("catalog-downloaded").await;

    // Reload: the saved model comes back from the browser's cache, and the
    // server sees no second request for it.
    page.client.refresh().await.unwrap();
    page.wait_attr("#worker-status", "data-ready", "true", 60)
        .await;
    page.wait_attr("#model-info", "data-from-cache", "true", 60)
        .await;
    // Start-up adds the default T5 beside the saved GPT-2.
    page.wait_attr("#model-switch [data-arch='t5']", "data-name", "lab-t5", 60)
        .await;
    assert_eq!(page.requests(DISTILGPT2).len(), 1, "downloaded twice");
    assert!(page
        .text("#model-files")
        .await
        .unwrap()
        .contains("from cache"));
    greedy_gpt2_matches_the_reference(&page).await;
    page.screenshot("catalog-from-cache").await;

    // Clearing forgets every file; the next visit loads the default model
    // rather than fetching the uncached one.
    page.click("#clear-cache").await;
    page.wait_attr("#model-cache", "data-files", "0", 10).await;
    assert_eq!(
        page.attr("#catalog [data-model='distilgpt2']", "data-cached")
            .await
            .as_deref(),
        Some("false")
    );
    page.client.refresh().await.unwrap();
    page.wait_attr("#model-info", "data-name", "lab-t5", 60)
        .await;
    assert_eq!(page.value("#weights-url").await, "models/lab-t5/model.gguf");
    assert_eq!(page.requests(DISTILGPT2).len(), 1);
    page.close().await;
}

#[tokio::test]
async fn cancel_stops_the_download_in_the_worker_and_keeps_nothing() {
    let page = open_with_hub("cancel").await;
    page.set_value("#prompt", "text I wrote before the download")
        .await;
    set_hub(&page, "slow/hub/").await;
    load_from_catalog(&page, "distilgpt2").await;
    page.wait_for("the first bytes", 30, || async {
        page.attr("#load-progress", "data-loaded")
            .await
            .filter(|l| l != "0")
    })
    .await;
    let listed = cache_version(&page).await;
    page.cancel_download().await;

    // The browser hung up: the server stopped sending well before the end.
    let request = page
        .wait_for("the server to stop sending", 15, || async {
            let before = page.requests(DISTILGPT2).pop()?;
            tokio::time::sleep(std::time::Duration::from_millis(600)).await;
            let after = page.requests(DISTILGPT2).pop()?;
            (after.bytes_sent == before.bytes_sent).then_some(after)
        })
        .await;
    assert!(!request.complete);
    assert!(
        request.bytes_sent < request.body_len * 3 / 4,
        "sent {} of {} bytes",
        request.bytes_sent,
        request.body_len
    );
    // Nothing of it was cached, the earlier model is still loaded and works,
    // and the user's text is where it was.
    fresh_listing(&page, listed).await;
    assert!(!cached_urls(&page)
        .await
        .iter()
        .any(|u| u.contains("distilgpt2")));
    assert_eq!(
        page.value("#prompt").await,
        "text I wrote before the download"
    );
    page.wait_attr("#model-info", "data-arch", "gpt2", 10).await;
    page.screenshot("download-cancelled").await;
    greedy_gpt2_matches_the_reference(&page).await;
    page.close().await;
}

#[tokio::test]
async fn broken_and_missing_downloads_get_a_message_and_are_never_cached() {
    let page = open_with_hub("broken").await;
    // The connection closes halfway through the file.
    set_hub(&page, "cut/hub/").await;
    load_from_catalog(&page, "distilgpt2").await;
    let message = page
        .wait_for("a broken-download message", 30, || async {
            page.text("#error").await
        })
        .await;
    assert!(
        message.contains("distilgpt2.Q8_0.gguf") && message.contains("broke off"),
        "{message}"
    );
    page.screenshot("download-broken").await;

    // A whole file that is no model: refused, and not kept either.
    set_hub(&page, "hub/not-a-model/").await;
    page.click("#error .dismiss").await;
    load_from_catalog(&page, "distilgpt2").await;
    page.wait_for("a not-a-model message", 30, || async {
        page.text("#error")
            .await
            .filter(|m| m.contains("not a model file"))
    })
    .await;
    page.click("#error .dismiss").await;

    // A hub address that does not have the file.
    set_hub(&page, "nowhere/").await;
    load_from_catalog(&page, "t5-small").await;
    page.wait_for("a 404 message", 30, || async {
        page.text("#error").await.filter(|m| m.contains("404"))
    })
    .await;
    page.click("#error .dismiss").await;

    page.wait_attr("#model-info", "data-arch", "gpt2", 10).await;
    // The same catalog model from a working address then loads.
    set_hub(&page, "hub/").await;
    load_from_catalog(&page, "t5-small").await;
    page.wait_attr("#model-info", "data-arch", "t5", 60).await;
    // The listing after that load: the good model is in, none of the failed files.
    let cached = page
        .wait_for("the t5 files in the cache listing", 10, || async {
            let urls = cached_urls(&page).await;
            urls.iter()
                .any(|u| u.ends_with("candle-quantized-t5/resolve/main/model.gguf"))
                .then_some(urls)
        })
        .await;
    assert!(
        !cached.iter().any(|u| u.contains("distilgpt2")),
        "a failed download was cached: {cached:?}"
    );
    page.close().await;
}
