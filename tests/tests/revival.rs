//! A worker that dies: the page says so, starts a new worker, loads again
//! both models the old one held (from the cache or the page's own files, no
//! download), and the user's text stays. The worker is killed the way a
//! crash ends it, from outside: terminated, then its `error` event fired.

use e2e::manager::wait_both_lab_models;
use e2e::Page;

async fn load_id(page: &Page, arch: &str) -> Option<String> {
    page.attr(&format!("#model-switch [data-arch='{arch}']"), "data-load")
        .await
}

#[tokio::test]
async fn a_crashed_worker_comes_back_with_its_models_and_the_text_stays() {
    let page = Page::open().await;
    wait_both_lab_models(&page).await;
    let before = (load_id(&page, "t5").await, load_id(&page, "gpt2").await);
    let text = "reverse words: please keep this text";
    page.set_value("#prompt", text).await;

    // The next message the page posts kills the worker.
    page.js(
        "const post = Worker.prototype.postMessage;
         Worker.prototype.postMessage = function (message) {
           Worker.prototype.postMessage = post;
           this.terminate();
           // A browser reports a worker's death later, never inside postMessage.
           setTimeout(() => this.dispatchEvent(
             new ErrorEvent('error', { message: 'killed by the test' })), 0);
         };",
        vec![],
    )
    .await;
    page.click("#generate").await;
    let banner = page
        .wait_for("the crash sentence", 10, || async {
            page.text("#error").await
        })
        .await;
    assert!(banner.contains("crashed (killed by the test)"), "{banner}");
    assert!(banner.contains("load again"), "{banner}");

    // Both models are held again, by new loads in the new worker.
    page.wait_for("both models loaded again", 60, || async {
        let now = (load_id(&page, "t5").await, load_id(&page, "gpt2").await);
        (now.0.is_some() && now.1.is_some() && now.0 != before.0 && now.1 != before.1).then_some(())
    })
    .await;
    assert_eq!(page.value("#prompt").await, text);
    assert_eq!(
        page.attr("#model-info", "data-arch").await.as_deref(),
        Some("t5"),
        "the playground's model is the one it had"
    );
    // And the new worker runs them.
    let (ids, _) = page.generate(60).await;
    assert!(!ids.is_empty());
    page.close().await;
}
