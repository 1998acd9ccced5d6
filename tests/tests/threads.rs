//! The opt-in second thread (issue #17) in headless Chromium, on the page
//! served cross-origin isolated: with two threads the worker splits a long
//! prompt's matmuls with its helper (it says how many) and the tokens stay
//! those of one thread, for the models held when it started and for models
//! loaded while it runs; back on one thread it splits none.

use e2e::manager::{greedy_gpt2_matches_the_reference, use_catalog_model};
use e2e::{load_tiny_gpt2, wait_ready, Page};
use serde_json::json;

/// Long enough that the lab models' prompt matmuls are worth splitting.
const PROMPT: &str = "the students in the class watch the teacher write a long sentence \
    on the board while the rain falls on the roof of the old school and the \
    children wait for the bell to ring so that they can run out into the yard \
    and play with the ball until the sun goes down behind the hills and the \
    parents come to take them home for dinner with the rest of the family";

/// Threads and split matmuls of the last run, as the worker reported them.
async fn run_threads(page: &Page) -> (String, u64) {
    let threads = page.attr("#run-stats", "data-threads").await.unwrap();
    let shared = page
        .attr("#run-stats", "data-shared-matmuls")
        .await
        .unwrap();
    (threads, shared.parse().unwrap())
}

/// Greedy ids of the held model of `arch` for [`PROMPT`].
async fn ids(page: &Page, arch: &str, name: &str) -> String {
    page.click(&format!("#model-switch [data-arch='{arch}']"))
        .await;
    page.wait_attr("#model-info", "data-name", name, 10).await;
    page.set_value("#task-select", "").await;
    page.set_value("#prompt", PROMPT).await;
    page.set_value("#max-new-tokens", "12").await;
    page.set_value("#temperature", "0").await;
    page.generate(60).await.0
}

/// On two threads, the held model `name` gives the one-thread tokens `want`
/// and the worker says it split matmuls with its helper.
async fn split_and_same(page: &Page, arch: &str, name: &str, want: &str) {
    assert_eq!(
        ids(page, arch, name).await,
        want,
        "two threads changed {name}'s tokens"
    );
    let (threads, shared) = run_threads(page).await;
    assert_eq!(threads, "2");
    assert!(
        shared > 0,
        "the worker split none of {name}'s matmuls with its helper"
    );
}

#[tokio::test]
async fn two_threads_split_the_matmuls_and_keep_the_tokens() {
    let page = Page::open_isolated().await;
    wait_ready(&page).await;
    assert_eq!(
        page.js("return crossOriginIsolated;", vec![]).await,
        json!(true)
    );
    page.wait_attr("#model-info", "data-name", "lab-t5", 60)
        .await;
    page.wait_attr(
        "#model-switch [data-arch='gpt2']",
        "data-name",
        "lab-gpt2",
        60,
    )
    .await;
    let t5 = ids(&page, "t5", "lab-t5").await;
    assert_eq!(run_threads(&page).await, ("1".to_string(), 0));
    let gpt2 = ids(&page, "gpt2", "lab-gpt2").await;

    // On: the helper gets the halves of the models already held...
    page.click("#threads").await;
    page.wait_attr("#threads", "data-threads", "2", 30).await;
    assert_eq!(page.text("#threads-note").await, None);
    split_and_same(&page, "t5", "lab-t5", &t5).await;

    // ...and of models loaded while it runs: the reference's tokens, and the
    // lab GPT-2's again, split.
    load_tiny_gpt2(&page).await;
    greedy_gpt2_matches_the_reference(&page).await;
    use_catalog_model(&page, "lab-gpt2").await;
    split_and_same(&page, "gpt2", "lab-gpt2", &gpt2).await;
    page.js(
        "document.documentElement.classList.add('projector'); \
         document.documentElement.dataset.theme = 'dark'; \
         window.scrollTo(0, 0);",
        vec![],
    )
    .await;
    page.screenshot("threads-on-projector-dark").await;

    // Off: one thread again, nothing split, the same tokens.
    page.click("#threads").await;
    page.wait_attr("#threads", "data-threads", "1", 30).await;
    assert_eq!(ids(&page, "t5", "lab-t5").await, t5);
    assert_eq!(run_threads(&page).await, ("1".to_string(), 0));
    page.close().await;
}

/// Without cross-origin isolation there is no shared memory: the choice is
/// off and says why, and the models run on one thread.
#[tokio::test]
async fn a_page_that_is_not_isolated_offers_no_second_thread() {
    let page = Page::open().await;
    wait_ready(&page).await;
    assert_eq!(
        page.js("return crossOriginIsolated;", vec![]).await,
        json!(false)
    );
    let off = page
        .js(
            "return document.querySelector('#threads').disabled;",
            vec![],
        )
        .await;
    assert_eq!(off, json!(true), "the second thread can be asked for");
    let label = page
        .js(
            "return document.querySelector('#threads').parentElement.title;",
            vec![],
        )
        .await;
    assert!(
        label.as_str().unwrap().contains("cross-origin isolated"),
        "{label}"
    );
    page.close().await;
}
