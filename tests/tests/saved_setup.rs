//! What the page keeps and shows, in headless Chromium: the prompt and
//! settings across a reload, a share link in a browser with nothing saved
//! (model, task, prompt and settings echoed by the worker), projector mode
//! and the dark theme.

use e2e::{load_tiny_gpt2, wait_ready, Page};
use serde_json::json;

#[tokio::test]
async fn prompt_and_settings_survive_a_reload() {
    let page = Page::open().await;
    wait_ready(&page).await;
    page.set_value("#prompt", "kept across reloads").await;
    page.set_value("#temperature", "0.7").await;
    page.set_value("#seed", "1234").await;
    page.client.refresh().await.expect("reload");
    wait_ready(&page).await;
    let values = page
        .js(
            "return ['#prompt', '#temperature', '#seed'].map(s => document.querySelector(s).value);",
            vec![],
        )
        .await;
    assert_eq!(values, json!(["kept across reloads", "0.7", "1234"]));
    page.close().await;
}

#[tokio::test]
async fn a_shared_link_restores_model_task_prompt_and_settings() {
    let page = Page::open().await;
    wait_ready(&page).await;
    load_tiny_gpt2(&page).await;
    page.set_value("#prompt", "Where is the library?").await;
    page.set_value("#task-select", "qa").await;
    page.set_value("#temperature", "0.5").await;
    page.set_value("#seed", "9").await;
    let link = page.share_link().await;
    assert!(
        link.contains("task=qa") && link.contains("seed=9"),
        "{link}"
    );

    // A fresh visitor: nothing saved in this browser, only the link.
    page.js("localStorage.clear();", vec![]).await;
    page.client.goto("about:blank").await.unwrap();
    page.client.goto(&link).await.unwrap();
    wait_ready(&page).await;
    page.wait_attr("#model-info", "data-arch", "gpt2", 60).await;
    assert_eq!(page.value("#prompt").await, "Q: Where is the library?\nA:");
    page.wait_for("the task list", 10, || async {
        (page.value("#task-select").await == "qa").then_some(())
    })
    .await;
    let (_, settings) = page.generate(60).await;
    assert_eq!(settings["temperature"], json!(0.5));
    assert_eq!(settings["seed"], json!(9));
    page.screenshot("shared-link").await;
    page.close().await;
}

#[tokio::test]
async fn projector_mode_and_dark_theme() {
    let page = Page::open().await;
    wait_ready(&page).await;
    let size = "return getComputedStyle(document.documentElement).fontSize;";
    let normal = page.js(size, vec![]).await;
    page.click("#projector").await;
    page.set_value("#theme", "dark").await;
    let root = page
        .js(
            "const r = document.documentElement;
             return [r.classList.contains('projector'), r.dataset.theme,
                     getComputedStyle(document.body).backgroundColor];",
            vec![],
        )
        .await;
    assert_eq!(root[0], json!(true));
    assert_eq!(root[1], json!("dark"));
    assert_eq!(root[2], json!("rgb(20, 20, 22)"));
    assert_ne!(page.js(size, vec![]).await, normal);
    assert_eq!(page.js(size, vec![]).await, json!("22px"));
    page.screenshot("projector-dark").await;
    page.close().await;
}
