//! Start-up with the lab GPT-2 served throttled: a user's Cancel, or a
//! model the user loads, wins over the default loads.

use e2e::manager::{held, run_greedy, use_catalog_model};
use e2e::{repo_root, Page};
use serde_json::{json, Value};

/// The page's `models/` folder with a catalog whose lab GPT-2 downloads
/// throttled (`slow/…`), so a test can act while start-up loads it beside
/// the T5. Everything else is the built page's own files.
fn models_with_a_slow_lab_gpt2(tag: &str) -> std::path::PathBuf {
    let shipped = repo_root().join("dist/models");
    let dir = std::env::temp_dir().join(format!("lab-models-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(&shipped).expect("the built page's models") {
        let entry = entry.unwrap();
        if entry.file_name() != "catalog.json" {
            std::os::unix::fs::symlink(entry.path(), dir.join(entry.file_name())).unwrap();
        }
    }
    let mut catalog: Value =
        serde_json::from_str(&std::fs::read_to_string(shipped.join("catalog.json")).unwrap())
            .unwrap();
    let gpt2 = catalog["models"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|m| m["id"] == "lab-gpt2")
        .expect("lab-gpt2 in the catalog");
    gpt2["weights"] = json!("slow/models/lab-gpt2/model.gguf");
    std::fs::write(dir.join("catalog.json"), catalog.to_string()).unwrap();
    dir
}

const LAB_GPT2_FILE: &str = "models/lab-gpt2/model.gguf";

/// Opens the page with the slow lab GPT-2 and waits until start-up, the
/// lab T5 in the playground, is downloading it.
async fn open_while_the_gpt2_loads(tag: &str, prompt: &str) -> Page {
    let page =
        Page::open_with_mounts(vec![("models/".into(), models_with_a_slow_lab_gpt2(tag))]).await;
    page.wait_attr("#worker-status", "data-ready", "true", 60)
        .await;
    page.wait_attr("#model-info", "data-name", "lab-t5", 60)
        .await;
    page.set_value("#prompt", prompt).await;
    page.wait_for("start-up to download the lab GPT-2", 30, || async {
        let loaded = page
            .attr("#load-progress[data-model='lab-gpt2']", "data-loaded")
            .await?;
        (loaded != "0").then_some(())
    })
    .await;
    page
}

#[tokio::test]
async fn cancelling_the_default_gpt2_download_keeps_the_t5_and_loads_no_more() {
    let prompt = "my own words stay here";
    let page = open_while_the_gpt2_loads("cancel", prompt).await;
    page.cancel_download().await;
    // The worker hung up on the file, and start-up does not try it again.
    page.wait_for("the server to stop sending", 15, || async {
        let before = page.requests(LAB_GPT2_FILE).into_iter().next()?;
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        let after = page.requests(LAB_GPT2_FILE).into_iter().next()?;
        (after.bytes_sent == before.bytes_sent).then_some(())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let requests = page.requests(LAB_GPT2_FILE);
    assert_eq!(
        requests.len(),
        1,
        "start-up loaded the cancelled model again"
    );
    assert!(!requests[0].complete);
    assert_eq!(held(&page, "gpt2").await, None);
    assert_eq!(held(&page, "t5").await.as_deref(), Some("lab-t5"));
    assert_eq!(page.text("#load-progress").await, None);
    // The T5 is still the playground's, and the user's text is where it was.
    assert_eq!(page.value("#prompt").await, prompt);
    let (model, _) = run_greedy(&page).await;
    assert_eq!(model, "lab-t5");
    page.close().await;
}

#[tokio::test]
async fn a_model_the_user_loads_during_start_up_wins_and_the_default_gpt2_follows() {
    let prompt = "translate this later";
    let page = open_while_the_gpt2_loads("replace", prompt).await;
    // A background download does not move the playground under the
    // user's pointer: it stays put when the progress bar goes.
    let playground_top = || async {
        page.js(
            "return document.querySelector('#playground').getBoundingClientRect().top;",
            vec![],
        )
        .await
        .as_f64()
        .unwrap()
    };
    // The user picks another T5 while the GPT-2 downloads: its load
    // replaces the GPT-2's, and it takes the playground.
    use_catalog_model(&page, "tiny-t5").await;
    // Start-up then loads the GPT-2 again, beside it, without taking the
    // playground: the worker ends up holding both.
    page.wait_for("start-up to download the lab GPT-2 again", 30, || async {
        let loaded = page
            .attr("#load-progress[data-model='lab-gpt2']", "data-loaded")
            .await?;
        (page.requests(LAB_GPT2_FILE).len() == 2 && loaded != "0").then_some(())
    })
    .await;
    let top_while_loading = playground_top().await;
    page.wait_for("the worker to hold the lab GPT-2 after all", 90, || async {
        held(&page, "gpt2").await.filter(|n| n == "lab-gpt2")
    })
    .await;
    assert_eq!(held(&page, "t5").await.as_deref(), Some("tiny-t5"));
    assert_eq!(page.text("#load-progress").await, None);
    assert_eq!(
        playground_top().await,
        top_while_loading,
        "the playground moved when the download ended"
    );
    let requests = page.requests(LAB_GPT2_FILE);
    assert_eq!(requests.len(), 2, "one replaced download, one whole");
    assert!(!requests[0].complete);
    assert!(requests[1].complete);
    assert_eq!(
        page.attr("#model-info", "data-name").await.as_deref(),
        Some("tiny-t5")
    );
    assert_eq!(page.value("#prompt").await, prompt);
    let (model, _) = run_greedy(&page).await;
    assert_eq!(model, "tiny-t5");
    page.close().await;
}
