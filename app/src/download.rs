//! What the page shows of files coming in and files the browser keeps.

use protocol::CachedFile;

use crate::fetch::absolute_url;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Download {
    pub file: String,
    pub loaded: u64,
    pub total: Option<u64>,
    /// Read from the browser's cache, not the network.
    pub cached: bool,
    /// `performance.now()` when this file's first bytes arrived, and now.
    pub started_ms: f64,
    pub now_ms: f64,
}

impl Download {
    /// Bytes per second since the file started.
    pub fn rate(&self) -> Option<f64> {
        let seconds = (self.now_ms - self.started_ms) / 1000.0;
        (seconds > 0.05).then(|| self.loaded as f64 / seconds)
    }
}

/// What the browser's model cache holds, as the worker last said.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CacheView {
    pub files: Vec<CachedFile>,
    pub note: Option<String>,
}

impl CacheView {
    pub fn holds(&self, url: &str) -> bool {
        let absolute = absolute_url(url);
        self.files.iter().any(|f| f.url == absolute)
    }
}
