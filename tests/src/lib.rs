//! Harness for the end-to-end tests: serves the built page (`dist/`) on
//! 127.0.0.1, starts chromedriver and headless Chromium, and offers waits.
//! Nothing here skips: a missing build, browser or driver fails the test.
#![cfg(not(target_arch = "wasm32"))]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

pub mod devtools;
pub mod manager;
pub mod scores;
mod server;

use server::serve;

pub fn repo_root() -> PathBuf {
    protocol::repo_root()
}

/// The random-weight GPT-2 fixture with the real tokenizer, as the page serves it.
pub const TINY_GPT2: &str = "fixtures/gpt2-tiny-vocab/llama-q8_0.gguf";

/// Waits for the worker to say it is ready.
pub async fn wait_ready(page: &Page) {
    page.wait_attr("#worker-status", "data-ready", "true", 60)
        .await;
}

/// Loads [`TINY_GPT2`] by address and waits for it.
pub async fn load_tiny_gpt2(page: &Page) {
    page.set_value("#weights-url", TINY_GPT2).await;
    page.click("#load").await;
    page.wait_attr("#model-info", "data-arch", "gpt2", 60).await;
}

/// A running page: the static server, the browser session, its driver.
pub struct Page {
    pub client: Client,
    pub base_url: String,
    /// Every request the static server answered, in order.
    pub served: ServedLog,
    _driver: Child,
    _profile: PathBuf,
}

/// One answered request: what the server sent and whether all of it went out.
#[derive(Clone, Debug)]
pub struct Served {
    pub path: String,
    pub status: u16,
    pub body_len: usize,
    pub bytes_sent: usize,
    /// False while sending, and for good when the browser hung up early.
    pub complete: bool,
}

pub type ServedLog = Arc<Mutex<Vec<Served>>>;

/// Paths under `slow/` are the same files sent at this rate, so a download
/// takes long enough to watch its progress and to cancel it.
pub const SLOW_BYTES_PER_SECOND: usize = 320 * 1024;

impl Page {
    /// Serves `dist/` and opens it in a fresh headless Chromium.
    pub async fn open() -> Page {
        Self::open_with_mounts(Vec::new()).await
    }

    /// As [`Page::open`], also serving each `(url prefix, folder)`.
    pub async fn open_with_mounts(mounts: Vec<(String, PathBuf)>) -> Page {
        Self::open_dist(repo_root().join("dist"), mounts).await
    }

    /// Serves the page built into `dist` (and `mounts`) and opens it. The
    /// test fixtures are served at `fixtures/` beside the page: only the
    /// catalog's two random-weight models ship in `dist/`.
    pub async fn open_dist(dist: PathBuf, mounts: Vec<(String, PathBuf)>) -> Page {
        Self::open_served(dist, mounts, false).await
    }

    /// The page served cross-origin isolated (COOP and COEP on every file),
    /// as `scripts/serve.sh` serves it: what a second thread needs.
    pub async fn open_isolated() -> Page {
        Self::open_served(repo_root().join("dist"), Vec::new(), true).await
    }

    /// Serves `dist` (and `mounts`), cross-origin isolated or not, and opens it.
    pub async fn open_served(
        dist: PathBuf,
        mut mounts: Vec<(String, PathBuf)>,
        isolated: bool,
    ) -> Page {
        mounts.push((
            "fixtures/".to_string(),
            repo_root().join("worker/tests/fixtures"),
        ));
        assert!(
            dist.join("index.html").is_file(),
            "the page is not built: {} is missing (scripts/test.sh builds it with trunk)",
            dist.display()
        );
        let served = ServedLog::default();
        let base_url = serve(dist, mounts, served.clone(), isolated).await;
        let driver_port = free_port().await;
        let driver = Command::new("chromedriver")
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver must be installed (apt-get install chromium-driver)");
        let profile = std::env::temp_dir().join(format!("lab-chromium-{driver_port}"));
        let _ = std::fs::remove_dir_all(&profile);
        let caps = json!({
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--window-size=1200,1400",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }
        });
        let caps = caps.as_object().expect("object").clone();
        let webdriver = format!("http://127.0.0.1:{driver_port}");
        let started = Instant::now();
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&webdriver)
                .await
            {
                Ok(c) => break c,
                Err(e) if started.elapsed() < Duration::from_secs(30) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("cannot start headless Chromium through chromedriver: {e}"),
            }
        };
        client.goto(&base_url).await.expect("open the page");
        Page {
            client,
            base_url,
            served,
            _driver: driver,
            _profile: profile,
        }
    }

    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        let v = self
            .js(
                "const e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null;",
                vec![json!(css), json!(name)],
            )
            .await;
        v.as_str().map(String::from)
    }

    pub async fn text(&self, css: &str) -> Option<String> {
        let v = self
            .js(
                "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
                vec![json!(css)],
            )
            .await;
        v.as_str().map(String::from)
    }

    /// The current value of an input, select or textarea.
    pub async fn value(&self, css: &str) -> String {
        let v = self
            .js(
                "const e = document.querySelector(arguments[0]); return e ? e.value : null;",
                vec![json!(css)],
            )
            .await;
        v.as_str()
            .unwrap_or_else(|| panic!("no input {css}"))
            .to_string()
    }

    /// Clicks Generate and waits for the worker's Done (up to `secs`).
    /// Returns the generated ids and the settings the worker echoed back.
    pub async fn generate(&self, secs: u64) -> (String, Value) {
        let before = self.attr("#output", "data-run").await;
        self.click("#generate").await;
        self.wait_for("a finished generation", secs, || async {
            let run = self.attr("#output", "data-run").await;
            let reason = self.attr("#run-stats", "data-reason").await;
            (run != before && reason.is_some_and(|r| !r.is_empty())).then_some(())
        })
        .await;
        let ids = self.attr("#output", "data-ids").await.unwrap_or_default();
        let settings = self
            .attr("#output", "data-settings")
            .await
            .unwrap_or_default();
        let settings = serde_json::from_str(&settings).expect("the worker echoed its settings");
        (ids, settings)
    }

    /// Polls `check` until it returns Some, or fails after `secs` seconds.
    pub async fn wait_for<T, F, Fut>(&self, what: &str, secs: u64, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let started = Instant::now();
        loop {
            if let Some(v) = check().await {
                return v;
            }
            if started.elapsed() > Duration::from_secs(secs) {
                let error = self.text("#error").await;
                self.screenshot(&format!("timeout-{}", what.replace(' ', "-")))
                    .await;
                panic!("timed out after {secs} s waiting for {what} (page error: {error:?})");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until attribute `name` of `css` equals `value`.
    pub async fn wait_attr(&self, css: &str, name: &str, value: &str, secs: u64) {
        self.wait_for(&format!("{css}[{name}={value}]"), secs, || async {
            (self.attr(css, name).await.as_deref() == Some(value)).then_some(())
        })
        .await
    }

    /// Clicks `css` as a user would: a control in the model drawer is
    /// reached by opening the drawer first.
    pub async fn click(&self, css: &str) {
        self.open_drawer_for(css).await;
        self.click_now(css).await;
    }

    /// Opens the model drawer (its header button) if `css` is inside it and
    /// it is closed.
    pub async fn open_drawer_for(&self, css: &str) {
        let closed = self
            .js(
                "const e = document.querySelector(arguments[0]);
                 const drawer = document.getElementById('model-drawer');
                 return !!(e && drawer && drawer.contains(e) && drawer.hidden);",
                vec![json!(css)],
            )
            .await;
        if closed.as_bool() == Some(true) {
            self.click_now("#models-toggle").await;
            self.wait_attr("#models-toggle", "aria-expanded", "true", 5)
                .await;
        }
    }

    async fn click_now(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
    }

    /// Presses Share link and reads the link the page made.
    pub async fn share_link(&self) -> String {
        self.click("#share").await;
        self.wait_for("the share link", 10, || async {
            self.js(
                "const e = document.querySelector('#share-url'); return e ? e.value : null;",
                vec![],
            )
            .await
            .as_str()
            .map(String::from)
        })
        .await
    }

    /// Presses the download's Cancel and waits for the page to say so.
    pub async fn cancel_download(&self) {
        self.click("#cancel-load").await;
        let notice = self
            .wait_for("the cancel notice", 10, || async {
                self.text("#load-notice").await
            })
            .await;
        assert!(notice.contains("cancelled"), "{notice}");
    }

    /// Sets an input's value the way typing would, then fires `input` and `change`.
    pub async fn set_value(&self, css: &str, value: &str) {
        self.js(
            "const e = document.querySelector(arguments[0]);
             e.value = arguments[1];
             e.dispatchEvent(new Event('input', {bubbles: true}));
             e.dispatchEvent(new Event('change', {bubbles: true}));",
            vec![json!(css), json!(value)],
        )
        .await;
    }

    /// Saves a PNG into test-artifacts/ (ignored by git) for a person to look at.
    pub async fn screenshot(&self, name: &str) {
        let dir = repo_root().join("test-artifacts");
        std::fs::create_dir_all(&dir).expect("create test-artifacts");
        if let Ok(png) = self.client.screenshot().await {
            std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
        }
    }

    /// The requests whose path ends with `suffix`.
    pub fn requests(&self, suffix: &str) -> Vec<Served> {
        self.served
            .lock()
            .expect("log")
            .iter()
            .filter(|r| r.path.ends_with(suffix))
            .cloned()
            .collect()
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

async fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    l.local_addr().expect("addr").port()
}
