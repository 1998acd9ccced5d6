//! What users download: the release build in `dist/` holds the page, its
//! tokenizers, tasks and models, the Classify view's example sets, and of the
//! test fixtures only the files the catalog offers (its two random-weight
//! models), nothing else.

use std::path::Path;

use e2e::repo_root;
use protocol::catalog::{Catalog, Source};

fn files(dir: &Path, out: &mut Vec<String>, root: &Path) {
    for entry in std::fs::read_dir(dir).expect("dist/ is built (trunk build --release)") {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out, root);
        } else {
            let rel = path.strip_prefix(root).unwrap();
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn dist_holds_only_what_the_page_needs() {
    let dist = repo_root().join("dist");
    let json = std::fs::read_to_string(repo_root().join("static/models/catalog.json")).unwrap();
    let catalog = Catalog::from_json(&json).unwrap();
    let offered: Vec<String> = catalog
        .models
        .iter()
        .filter(|m| m.source == Source::Page)
        .flat_map(|m| {
            [
                Some(m.weights.clone()),
                m.config.clone(),
                m.tokenizer.clone(),
            ]
        })
        .flatten()
        .collect();
    // The Classify view's example sets: the list and the files it names.
    let presets: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("static/presets/index.json")).unwrap(),
    )
    .unwrap();
    let mut offered = offered;
    offered.push("presets/index.json".to_string());
    for preset in presets.as_array().unwrap() {
        offered.push(preset["file"].as_str().unwrap().to_string());
    }
    let mut shipped = Vec::new();
    files(&dist, &mut shipped, &dist);
    let mut bytes = 0;
    for file in &shipped {
        let page_file =
            !file.contains('/') || file.starts_with("tokenizers/") || file.starts_with("models/");
        assert!(
            page_file || offered.contains(file),
            "dist/ ships {file}, which the page does not use"
        );
        bytes += std::fs::metadata(dist.join(file)).unwrap().len();
    }
    for file in &offered {
        assert!(
            shipped.contains(file),
            "the catalog offers {file}, which dist/ lacks"
        );
    }
    println!(
        "dist/: {} files, {:.1} MB",
        shipped.len(),
        bytes as f64 / 1e6
    );
}
