//! A model file that is not the one the catalog names (here: the page's
//! lab GPT-2 swapped for another, valid GPT-2 file, as a broken mirror or a
//! stale copy would serve it) is refused with a sentence before it loads,
//! and the page keeps working with the model it has.

use e2e::{repo_root, Page};

/// The built page's `models/` folder with the lab GPT-2's weights replaced
/// by the random-weight GPT-2 fixture (a valid model of another size).
fn models_with_a_swapped_lab_gpt2() -> std::path::PathBuf {
    let shipped = repo_root().join("dist/models");
    let dir = std::env::temp_dir().join(format!("lab-models-swapped-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("lab-gpt2")).unwrap();
    for entry in std::fs::read_dir(&shipped).expect("the built page's models") {
        let entry = entry.unwrap();
        if entry.file_name() != "lab-gpt2" {
            std::os::unix::fs::symlink(entry.path(), dir.join(entry.file_name())).unwrap();
        }
    }
    std::os::unix::fs::symlink(
        shipped.join("lab-gpt2/config.json"),
        dir.join("lab-gpt2/config.json"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        repo_root().join("worker/tests/fixtures/gpt2-tiny-vocab/llama-q8_0.gguf"),
        dir.join("lab-gpt2/model.gguf"),
    )
    .unwrap();
    dir
}

#[tokio::test]
async fn a_file_that_is_not_the_catalogs_is_refused_before_it_loads() {
    let page =
        Page::open_with_mounts(vec![("models/".into(), models_with_a_swapped_lab_gpt2())]).await;
    page.wait_attr("#worker-status", "data-ready", "true", 60)
        .await;
    page.wait_attr("#model-info", "data-name", "lab-t5", 60)
        .await;
    let error = page
        .wait_for("the refusal of the swapped file", 60, || async {
            page.text("#error").await
        })
        .await;
    assert!(
        error.contains("model.gguf is 1744864 bytes, but the catalog says 7832576"),
        "{error}"
    );
    // Nothing of it was loaded: the T5 alone is held, and it still runs.
    assert_eq!(
        page.attr("#model-switch [data-arch='gpt2']", "data-name")
            .await,
        None
    );
    assert_eq!(
        page.attr("#model-switch [data-arch='t5']", "data-name")
            .await
            .as_deref(),
        Some("lab-t5")
    );
    let (ids, _) = page.generate(60).await;
    assert!(!ids.is_empty());
    page.close().await;
}
