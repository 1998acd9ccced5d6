//! The page's Content-Security-Policy is in force: an inline script and
//! `eval` are blocked while the page (wasm, its blob worker) still works,
//! and the worker's downloads are held to the page's own address, the hub
//! and a mirror the class set, which is allowed from the next page load.

use e2e::manager::{fixture, load_from_catalog, use_catalog_model};
use e2e::Page;

/// A hub-layout folder holding the tiny GPT-2 as the catalog's distilgpt2,
/// and a same-origin script that tries `eval` (WebDriver's own scripts are
/// exempt from the page's policy, so the attempt must come from the page).
fn mirror_folder() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("lab-mirror-{}", std::process::id()));
    let to = dir.join("QuantFactory/distilgpt2-GGUF/resolve/main/distilgpt2.Q8_0.gguf");
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(fixture("gpt2-tiny-vocab/llama-q8_0.gguf"), &to).unwrap();
    std::fs::write(
        dir.join("try-eval.js"),
        "try { eval('1 + 1'); window.labEvalRan = true; } catch (e) { window.labEvalRan = e.name; }",
    )
    .unwrap();
    dir
}

#[tokio::test]
async fn the_policy_blocks_inline_code_and_foreign_downloads_and_the_page_works() {
    let page = Page::open_with_mounts(vec![("hub/".into(), mirror_folder())]).await;
    page.wait_attr("#worker-status", "data-ready", "true", 60)
        .await;
    page.wait_attr("#model-info", "data-name", "lab-t5", 60)
        .await;
    let policy = page
        .js(
            "const m = document.querySelector('meta[http-equiv=\"Content-Security-Policy\"]');
             return m ? m.content : '';",
            vec![],
        )
        .await;
    let policy = policy.as_str().unwrap_or_default().to_string();
    assert!(
        policy.contains("'wasm-unsafe-eval'")
            && policy.contains("'sha256-")
            && !policy.contains("'unsafe-eval'")
            && !policy.contains("script-src 'self' 'unsafe-inline'"),
        "{policy}"
    );

    // An inline script, as an injection would add one: blocked, and reported.
    let blocked = page
        .js(
            "window.labViolations = [];
             document.addEventListener('securitypolicyviolation',
               e => window.labViolations.push(e.effectiveDirective));
             const s = document.createElement('script');
             s.textContent = 'window.labInlineRan = true;';
             document.body.appendChild(s);
             const e = document.createElement('script');
             e.src = 'hub/try-eval.js';
             document.body.appendChild(e);
             return window.labInlineRan === true;",
            vec![],
        )
        .await;
    assert_eq!(blocked, false, "an inline script ran");
    let eval = page
        .wait_for("the page's own eval attempt", 10, || async {
            let v = page.js("return window.labEvalRan;", vec![]).await;
            (!v.is_null()).then_some(v)
        })
        .await;
    assert_eq!(eval, "EvalError", "eval was not refused");
    let violations = page
        .wait_for("the violation report", 10, || async {
            let v = page.js("return window.labViolations;", vec![]).await;
            v.as_array().filter(|a| !a.is_empty()).cloned()
        })
        .await;
    assert!(
        violations.iter().any(|v| v == "script-src-elem"),
        "{violations:?}"
    );

    // The page still works: the default model, loaded through the blob
    // worker, generates.
    page.set_value("#prompt", "reverse words: one two three")
        .await;
    let (ids, _) = page.generate(60).await;
    assert!(!ids.trim().is_empty(), "nothing generated");

    // A mirror on another address (localhost is another origin than
    // 127.0.0.1): the worker's download is refused by the policy...
    let port = page
        .base_url
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    let mirror = format!("http://localhost:{port}/hub/");
    page.set_value("#hub-url", &mirror).await;
    load_from_catalog(&page, "distilgpt2").await;
    let message = page
        .wait_for("the refused download", 30, || async {
            page.text("#error").await
        })
        .await;
    assert!(
        message.contains("distilgpt2.Q8_0.gguf") && message.contains("security policy"),
        "{message}"
    );
    assert!(
        page.requests("distilgpt2.Q8_0.gguf").is_empty(),
        "the blocked download reached the server"
    );
    page.screenshot("csp-foreign-mirror-refused").await;

    // ...and allowed once the page loads again with that mirror saved.
    page.js("location.reload();", vec![]).await;
    page.wait_attr("#worker-status", "data-ready", "true", 60)
        .await;
    assert_eq!(page.value("#hub-url").await, mirror);
    use_catalog_model(&page, "distilgpt2").await;
    assert!(!page.requests("distilgpt2.Q8_0.gguf").is_empty());
    page.close().await;
}
