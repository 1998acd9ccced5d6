//! The attention maps the page draws, against the transformers reference:
//! the hub-shaped tiny fixtures loaded by address, one input through both
//! in the Compare view, every drawn cell of every layer and head checked
//! (GPT-2 causal; T5 encoder, decoder and cross), and the head mean.

use e2e::manager::run_compare;
use e2e::{repo_root, wait_ready, Page};

/// Every drawn cell of the map shown now: (query, key) -> value.
async fn drawn(page: &Page) -> Vec<(usize, usize, f32)> {
    let cells = page
        .js(
            "return [...document.querySelectorAll('#attention-map rect.cell')].map(r =>
                [+r.dataset.q, +r.dataset.k, +r.dataset.v]);",
            vec![],
        )
        .await;
    serde_json::from_value::<Vec<(usize, usize, f32)>>(cells).unwrap()
}

/// Shows `kind`'s map for each layer and head in turn and checks every
/// drawn cell inside the reference's square against it; beyond it (the
/// page ran longer than the reference), a causal map still shows zeros
/// above the diagonal.
async fn check_drawn_maps(page: &Page, kind: &str, reference: &serde_json::Value) {
    page.click(&format!("#attention button[data-kind='{kind}']"))
        .await;
    page.wait_attr("#attention-map", "data-kind", kind, 10)
        .await;
    let layers = reference.as_array().unwrap();
    for (l, heads) in layers.iter().enumerate() {
        let heads = heads.as_array().unwrap();
        for (h, rows) in heads.iter().enumerate() {
            page.set_value("#attention-layer", &l.to_string()).await;
            page.set_value("#attention-head", &h.to_string()).await;
            page.wait_attr("#attention-map", "data-layer", &l.to_string(), 10)
                .await;
            page.wait_attr("#attention-map", "data-head", &h.to_string(), 10)
                .await;
            let rows: Vec<Vec<f32>> = serde_json::from_value(rows.clone()).unwrap();
            let mut checked = 0;
            for (q, k, v) in drawn(page).await {
                if let Some(want) = rows.get(q).and_then(|r| r.get(k)) {
                    assert!(
                        (v - want).abs() < 0.06,
                        "{kind} layer {l} head {h} [{q},{k}]: {v} vs {want}"
                    );
                    checked += 1;
                } else if kind != "encoder" && kind != "cross" && k > q {
                    assert_eq!(v, 0.0, "{kind} [{q},{k}] sees ahead");
                }
            }
            let side = rows[0].len();
            assert_eq!(checked, rows.len() * side, "{kind}: drawn cells missing");
        }
    }
}

fn reference(dir: &str) -> serde_json::Value {
    let path = repo_root()
        .join("worker/tests/fixtures")
        .join(dir)
        .join("attention.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn attention_maps_drawn_in_the_page_are_the_transformers_reference() {
    let page = Page::open().await;
    wait_ready(&page).await;
    page.wait_for("start-up to hold both lab models", 60, || async {
        page.attr("#model-switch [data-arch='gpt2']", "data-name")
            .await
            .filter(|n| n == "lab-gpt2")
    })
    .await;
    // The hub-shaped fixtures, loaded by address as a user would.
    e2e::load_tiny_gpt2(&page).await;
    page.set_value("#weights-url", "fixtures/t5-tiny-vocab/model-q8_0.gguf")
        .await;
    page.set_value("#config-url", "fixtures/t5-tiny-vocab/config.json")
        .await;
    page.click("#load").await;
    page.wait_for("the tiny T5 in place of the lab's", 60, || async {
        let name = page.attr("#model-info", "data-name").await;
        let arch = page.attr("#model-info", "data-arch").await;
        (arch.as_deref() == Some("t5") && name.as_deref() != Some("lab-t5")).then_some(())
    })
    .await;

    page.click("#tab-compare").await;
    page.set_value("#compare-task", "").await;
    let gpt2 = reference("gpt2-tiny-vocab");
    page.set_value("#compare-text", gpt2["text"].as_str().unwrap())
        .await;
    run_compare(&page).await;
    page.click(".show-attention[data-arch='gpt2']").await;
    page.wait_attr("#attention", "data-arch", "gpt2", 30).await;
    check_drawn_maps(&page, "causal", &gpt2["attentions"]).await;
    // The head mean is the mean of the heads.
    page.set_value("#attention-head", "mean").await;
    page.wait_attr("#attention-map", "data-head", "mean", 10)
        .await;
    let last_layer = gpt2["attentions"].as_array().unwrap().last().unwrap();
    let heads: Vec<Vec<Vec<f32>>> = serde_json::from_value(last_layer.clone()).unwrap();
    let (q, k) = (5, 3);
    let mean = heads.iter().map(|h| h[q][k]).sum::<f32>() / heads.len() as f32;
    let cell = drawn(&page)
        .await
        .into_iter()
        .find(|c| (c.0, c.1) == (q, k))
        .unwrap();
    assert!((cell.2 - mean).abs() < 0.06, "mean {} vs {mean}", cell.2);
    page.click("#close-drawer").await;
    page.js(
        "document.getElementById('attention').scrollIntoView();",
        vec![],
    )
    .await;
    page.screenshot("attention-gpt2").await;

    let t5 = reference("t5-tiny-vocab");
    page.set_value("#compare-text", t5["text"].as_str().unwrap())
        .await;
    run_compare(&page).await;
    page.click(".show-attention[data-arch='t5']").await;
    page.wait_attr("#attention", "data-arch", "t5", 30).await;
    check_drawn_maps(&page, "encoder", &t5["encoder_attentions"]).await;
    check_drawn_maps(&page, "decoder", &t5["decoder_attentions"]).await;
    check_drawn_maps(&page, "cross", &t5["cross_attentions"]).await;
    page.js(
        "document.getElementById('attention').scrollIntoView();",
        vec![],
    )
    .await;
    page.screenshot("attention-t5-cross").await;
    page.close().await;
}
