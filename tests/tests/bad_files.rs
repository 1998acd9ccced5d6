//! Bad model files chosen from disk, in headless Chromium: a truncated GGUF,
//! a corrupt one, another architecture, a tensor type the lab cannot read,
//! a tokenizer that does not fit the model, a file too large for the tab's
//! memory, and a browser that will not store a download (a full quota).
//! Each gets a sentence; the held model and the typed prompt stay, and the
//! page still generates.

use std::path::{Path, PathBuf};

use e2e::manager::{choose_local_files, fixture, load_from_catalog, wait_both_lab_models};
use e2e::{repo_root, Page};
use serde_json::json;

const PROMPT: &str = "reverse words: keep this prompt";

fn dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lab-bad-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tiny_gguf() -> Vec<u8> {
    std::fs::read(fixture("gpt2-tiny-vocab/llama-q8_0.gguf")).unwrap()
}

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Where `needle` first occurs in `bytes`.
fn find(bytes: &[u8], needle: &[u8]) -> usize {
    bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{:?} not in the fixture", String::from_utf8_lossy(needle)))
}

/// The tiny GPT-2 with its first tensor's GGUF type set to `type_id`.
fn with_tensor_type(type_id: u32) -> Vec<u8> {
    let mut b = tiny_gguf();
    let name = b"token_embd.weight";
    let at = find(&b, name) + name.len();
    let dims = u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize;
    let type_at = at + 4 + 8 * dims;
    b[type_at..type_at + 4].copy_from_slice(&type_id.to_le_bytes());
    b
}

/// Chooses `files` and expects a sentence with each of `words`, and that
/// nothing was lost. A miss is returned rather than panicking, so that one
/// run shows every case that fails.
async fn refused(page: &Page, files: &[&Path], words: &[&str]) -> Result<(), String> {
    choose_local_files(page, files).await;
    let stem = files[0].file_stem().unwrap().to_string_lossy().to_string();
    let mut message = None;
    for _ in 0..300 {
        message = page.text("#error").await;
        if message.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let Some(message) = message else {
        return Err(format!("{stem}: no sentence in 30 s"));
    };
    page.screenshot(&format!("bad-file-{stem}")).await;
    page.click("#error .dismiss").await;
    if let Some(word) = words.iter().find(|w| !message.contains(*w)) {
        return Err(format!("{stem}: {word:?} not in {message:?}"));
    }
    if page.value("#prompt").await != PROMPT {
        return Err(format!("{stem}: the prompt was lost"));
    }
    if page.attr("#model-info", "data-name").await.as_deref() != Some("lab-t5") {
        return Err(format!("{stem}: the held model was lost"));
    }
    Ok(())
}

#[tokio::test]
async fn bad_files_get_a_sentence_and_lose_nothing() {
    let page = Page::open().await;
    wait_both_lab_models(&page).await;
    page.set_value("#prompt", PROMPT).await;

    let mut misses = Vec::new();
    let whole = tiny_gguf();
    let cut = write("cut.gguf", &whole[..whole.len() * 3 / 5]);
    misses.extend(
        refused(&page, &[&cut], &["cut.gguf", "cut short", "past the end"])
            .await
            .err(),
    );

    let mut corrupt = whole.clone();
    corrupt[16..24].copy_from_slice(&u64::MAX.to_le_bytes()); // metadata count
    let corrupt = write("corrupt.gguf", &corrupt);
    misses.extend(
        refused(&page, &[&corrupt], &["corrupt.gguf", "damaged"])
            .await
            .err(),
    );

    let mut bert = whole.clone();
    let at = find(&bert, b"general.architecture") + b"general.architecture".len() + 12;
    bert[at..at + 4].copy_from_slice(b"bert");
    let bert = write("bert.gguf", &bert);
    misses.extend(
        refused(&page, &[&bert], &["\"bert\"", "not supported"])
            .await
            .err(),
    );

    let iq2 = write("iq2.gguf", &with_tensor_type(16));
    misses.extend(
        refused(&page, &[&iq2], &["IQ2_XXS", "cannot read"])
            .await
            .err(),
    );

    // The 1,024-token tiny GPT-2 with GPT-2's real 50,257-token tokenizer.
    let small = fixture("gpt2-tiny/llama-q8_0.gguf");
    let tokenizer = write(
        "tokenizer.json",
        &std::fs::read(repo_root().join("static/tokenizers/gpt2.json")).unwrap(),
    );
    misses.extend(
        refused(&page, &[&small, &tokenizer], &["do not belong together"])
            .await
            .err(),
    );

    // A 1.6 GB file (sparse on disk): refused by its size before a byte of
    // it is read into the tab's memory.
    let big = dir().join("big.gguf");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(1_600_000_000).unwrap();
    misses.extend(
        refused(
            &page,
            &[&big],
            &["big.gguf is 1.6 GB", "larger than this page can hold"],
        )
        .await
        .err(),
    );

    // A browser that will not store: the model loads, and the page says
    // it was not kept.
    let origin = page.base_url.trim_end_matches('/').to_string();
    page.devtools(
        "Storage.overrideQuotaForOrigin",
        json!({ "origin": origin, "quotaSize": 1024 }),
    )
    .await;
    load_from_catalog(&page, "tiny-gpt2").await;
    page.wait_attr("#model-info", "data-name", "tiny-gpt2", 60)
        .await;
    let files = page.text("#model-files").await.unwrap_or_default();
    let not_stored = page.attr("#model-info", "data-not-stored").await;
    if not_stored.as_deref() != Some("1") || !files.contains("not cached") {
        misses.push(format!(
            "quota: the page did not say the file was not kept: {files:?}"
        ));
    }
    assert_eq!(page.value("#prompt").await, PROMPT);
    page.screenshot("bad-file-quota").await;
    let (ids, _) = page.generate(60).await;
    assert!(!ids.trim().is_empty(), "the page no longer generates");
    assert!(misses.is_empty(), "{misses:#?}");
    page.close().await;
}
