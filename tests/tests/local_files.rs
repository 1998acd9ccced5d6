//! Local files in headless Chromium: a T5 GGUF with its config by the file
//! picker, a GPT-2 GGUF by drag and drop, each giving the reference greedy
//! ids; never cached; a share link that cannot carry them says so; a
//! dropped non-model file gets a sentence.

use e2e::manager::{
    cached_urls, choose_local_files, expected, fixture, greedy_gpt2_matches_the_reference, ids,
    load_from_catalog,
};
use e2e::{wait_ready, Page, TINY_GPT2};
use serde_json::json;

/// The page with the lab T5 loaded by start-up, then the tiny GPT-2.
async fn open_with_tiny_gpt2() -> Page {
    let page = Page::open().await;
    wait_ready(&page).await;
    page.wait_attr("#model-info", "data-name", "lab-t5", 60)
        .await;
    load_from_catalog(&page, "tiny-gpt2").await;
    page.wait_attr("#model-info", "data-name", "tiny-gpt2", 60)
        .await;
    page
}

#[tokio::test]
async fn local_files_load_by_picker_and_by_drag_and_drop() {
    let page = open_with_tiny_gpt2().await;

    // The picker: a T5 GGUF with its config.json; the page's T5 tokenizer.
    let t5 = expected("t5-tiny-vocab");
    let greedy = &t5["greedy"][0];
    choose_local_files(
        &page,
        &[
            &fixture("t5-tiny-vocab/model-q8_0.gguf"),
            &fixture("t5-tiny-vocab/config.json"),
        ],
    )
    .await;
    page.wait_attr("#model-info", "data-arch", "t5", 60).await;
    assert!(page
        .text("#model-info")
        .await
        .unwrap()
        .contains("model-q8_0.gguf"));
    page.set_value("#task-select", "").await;
    page.set_value("#prompt", greedy["text"].as_str().unwrap())
        .await;
    page.set_value(
        "#max-new-tokens",
        &greedy["generated_ids"]
            .as_array()
            .unwrap()
            .len()
            .to_string(),
    )
    .await;
    let (got, _) = page.generate(60).await;
    assert_eq!(got, ids(&greedy["generated_ids"]));
    assert_eq!(
        page.attr("#output", "data-prompt-ids").await.unwrap(),
        ids(&greedy["input_ids"])
    );
    page.screenshot("local-file-picker").await;

    // Drag-and-drop of a GPT-2 GGUF (a File built from its bytes, dropped
    // with a DataTransfer the way a file manager's drop arrives).
    let dropped = page
        .js(
            "fetch(arguments[0]).then(r => r.arrayBuffer()).then(buf => {
               const dt = new DataTransfer();
               dt.items.add(new File([buf], 'my-gpt2.gguf'));
               const zone = document.querySelector('#drop-zone');
               zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: dt, bubbles: true, cancelable: true}));
               zone.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
             });
             return true;",
            vec![json!(TINY_GPT2)],
        )
        .await;
    assert_eq!(dropped, json!(true));
    page.wait_for("the dropped model", 60, || async {
        page.text("#model-info")
            .await
            .filter(|t| t.contains("my-gpt2.gguf"))
    })
    .await;
    greedy_gpt2_matches_the_reference(&page).await;
    // Local files are the user's: loaded, never copied into the cache.
    assert!(!cached_urls(&page)
        .await
        .iter()
        .any(|u| u.starts_with("blob:")));

    // A share link cannot carry a file from this disk: it says so and
    // names no model (it once named the model loaded before the file).
    let link = page.share_link().await;
    assert!(!link.contains("model=") && !link.contains("blob"), "{link}");
    let note = page.text("#share-note").await.unwrap_or_default();
    assert!(note.contains("Local files can't be shared"), "{note}");

    // Dropping something that is not a model gets a sentence.
    page.js(
        "const dt = new DataTransfer();
         dt.items.add(new File(['{}'], 'notes.txt'));
         document.querySelector('#drop-zone').dispatchEvent(
           new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));",
        vec![],
    )
    .await;
    let message = page
        .wait_for("a not-a-model message", 10, || async {
            page.text("#error").await
        })
        .await;
    assert!(
        message.contains("None of those files is a model"),
        "{message}"
    );
    page.screenshot("local-file-dropped").await;
    page.close().await;
}
