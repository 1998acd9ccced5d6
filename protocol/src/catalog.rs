//! The models the page offers (`static/models/catalog.json`): the ones it
//! ships and the hub models a browser can fetch. Data, so adding a model
//! needs no code.

use serde::{Deserialize, Serialize};

use crate::{Arch, ModelSpec};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// The default hub address; the page lets the user point it at a mirror
    /// or a class's local folder with the same `{repo}/resolve/main/{file}` layout.
    pub hub: String,
    pub models: Vec<CatalogModel>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Files served with the page itself (URLs relative to it).
    Page,
    /// Files in a hub repository, fetched by the user's browser.
    Hub,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CatalogModel {
    pub id: String,
    pub label: String,
    pub arch: Arch,
    pub source: Source,
    /// Hub repository ("owner/name"); only for `Source::Hub`.
    #[serde(default)]
    pub repo: Option<String>,
    /// The weights file: a page URL, or a file name in `repo`.
    pub weights: String,
    #[serde(default)]
    pub config: Option<String>,
    /// `None`: the page's own tokenizer for `arch`.
    #[serde(default)]
    pub tokenizer: Option<String>,
    /// Size of the weights file; an estimate unless `exact_size`.
    pub bytes: u64,
    #[serde(default)]
    pub exact_size: bool,
    pub quant: String,
    /// The weights file's sha256 (hex), checked after every download.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Loaded when the page opens: the first default into the playground
    /// (unless a saved model takes its place), the others beside it.
    #[serde(default)]
    pub default: bool,
    #[serde(default)]
    pub note: String,
}

impl Catalog {
    pub fn from_json(json: &str) -> Result<Self, String> {
        let catalog: Catalog = serde_json::from_str(json)
            .map_err(|e| format!("the model catalog is malformed: {e}"))?;
        for m in &catalog.models {
            if m.source == Source::Hub && m.repo.as_deref().is_none_or(|r| !r.contains('/')) {
                return Err(format!(
                    "catalog model {} comes from the hub but names no owner/name repo",
                    m.id
                ));
            }
            if m.default
                && catalog
                    .models
                    .iter()
                    .any(|o| o.default && o.arch == m.arch && o.id != m.id)
            {
                return Err(format!(
                    "catalog model {} is one of two {} defaults: the worker holds one model per architecture",
                    m.id, m.arch
                ));
            }
        }
        Ok(catalog)
    }

    /// The model the page opens with in its playground.
    pub fn default_model(&self) -> Option<&CatalogModel> {
        self.default_models().next().or(self.models.first())
    }

    /// The models the page opens with, one per architecture at most: the
    /// first is the playground's, the others load beside it.
    pub fn default_models(&self) -> impl Iterator<Item = &CatalogModel> {
        self.models.iter().filter(|m| m.default)
    }

    /// The catalog entry whose weights are at `weights_url` under `hub`.
    pub fn find_by_weights(&self, hub: &str, weights_url: &str) -> Option<&CatalogModel> {
        self.models
            .iter()
            .find(|m| m.spec(hub).weights_url == weights_url)
    }
}

impl CatalogModel {
    /// Where this model's files are, with hub files under `hub`.
    pub fn spec(&self, hub: &str) -> ModelSpec {
        let url = |file: &str| match (&self.source, &self.repo) {
            (Source::Hub, Some(repo)) => hub_url(hub, repo, file),
            _ => file.to_string(),
        };
        ModelSpec {
            name: self.id.clone(),
            weights_url: url(&self.weights),
            config_url: self.config.as_deref().map(url),
            tokenizer_url: self.tokenizer.as_deref().map(url),
            weights_bytes: self.exact_size.then_some(self.bytes),
            weights_sha256: self.sha256.clone(),
        }
    }
}

/// `{hub}/{repo}/resolve/main/{file}`, the hub's download address.
pub fn hub_url(hub: &str, repo: &str, file: &str) -> String {
    let hub = hub.trim();
    let sep = if hub.is_empty() || hub.ends_with('/') {
        ""
    } else {
        "/"
    };
    format!("{hub}{sep}{repo}/resolve/main/{file}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Catalog {
        let path = crate::repo_root().join("static/models/catalog.json");
        Catalog::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn the_shipped_catalog_reads_and_its_page_files_exist_with_the_stated_sizes() {
        let catalog = shipped();
        // The page opens with the lab's own trained T5 in the playground
        // and the lab's GPT-2 loaded beside it (issue #5).
        assert_eq!(
            catalog.default_model().map(|m| m.id.as_str()),
            Some("lab-t5")
        );
        let defaults: Vec<_> = catalog.default_models().map(|m| m.id.as_str()).collect();
        assert_eq!(defaults, ["lab-t5", "lab-gpt2"]);
        for id in ["lab-gpt2", "t5-small", "flan-t5-base", "gpt2", "distilgpt2"] {
            assert!(catalog.models.iter().any(|m| m.id == id), "{id} missing");
        }
        let dist = |url: &str| {
            // trunk copies worker/tests/fixtures to fixtures/ and static/* to the root.
            let root = crate::repo_root();
            let root = root.display();
            match url.strip_prefix("fixtures/") {
                Some(rest) => format!("{root}/worker/tests/fixtures/{rest}"),
                None => format!("{root}/static/{url}"),
            }
        };
        for m in catalog.models.iter().filter(|m| m.source == Source::Page) {
            let spec = m.spec(&catalog.hub);
            let len = std::fs::metadata(dist(&spec.weights_url)).unwrap().len();
            assert!(m.exact_size, "{}: a shipped file's size is known", m.id);
            assert_eq!(len, m.bytes, "{}: stated size", m.id);
            // Every file the page ships has its sha256 in the catalog, and
            // the spec the worker gets carries both checks.
            use sha2::Digest;
            let bytes = std::fs::read(dist(&spec.weights_url)).unwrap();
            let digest: String = sha2::Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(
                m.sha256.as_deref(),
                Some(digest.as_str()),
                "{}: sha256",
                m.id
            );
            assert_eq!(
                (spec.weights_bytes, spec.weights_sha256.as_deref()),
                (Some(len), Some(digest.as_str()))
            );
            if let Some(config) = &spec.config_url {
                assert!(std::path::Path::new(&dist(config)).is_file(), "{config}");
            }
        }
    }

    #[test]
    fn hub_files_resolve_under_any_hub_address() {
        let catalog = shipped();
        let gpt2 = catalog.models.iter().find(|m| m.id == "gpt2").unwrap();
        let spec = gpt2.spec("https://huggingface.co/");
        assert_eq!(
            spec.weights_url,
            "https://huggingface.co/QuantFactory/gpt2-GGUF/resolve/main/gpt2.Q8_0.gguf"
        );
        assert_eq!(spec.tokenizer_url, None);
        let mirror = gpt2.spec("http://teacher.local:8000/hub");
        assert_eq!(
            mirror.weights_url,
            "http://teacher.local:8000/hub/QuantFactory/gpt2-GGUF/resolve/main/gpt2.Q8_0.gguf"
        );
        let t5 = catalog.models.iter().find(|m| m.id == "t5-small").unwrap();
        assert_eq!(
            t5.spec("mirror/").config_url.as_deref(),
            Some("mirror/lmz/candle-quantized-t5/resolve/main/config.json")
        );
        assert_eq!(
            catalog.find_by_weights("mirror/", &t5.spec("mirror/").weights_url),
            Some(t5)
        );
    }

    #[test]
    fn a_hub_model_without_a_repo_is_refused() {
        let json = r#"{"hub": "h/", "models": [{"id": "x", "label": "x", "arch": "gpt2",
            "source": "hub", "weights": "m.gguf", "bytes": 1, "quant": "q8_0"}]}"#;
        assert!(Catalog::from_json(json).unwrap_err().contains("repo"));
    }
}
