//! `train ship`'s floors, recipe chains and kept models.

use super::*;

#[test]
fn floors_sit_a_little_below_the_score() {
    assert_eq!(floor(1.0), Some(0.85));
    assert_eq!(floor(0.5), Some(0.4));
    assert_eq!(floor(0.2), Some(0.1));
    assert_eq!(floor(0.15), None);
    assert_eq!(floor(0.0), None);
    assert_eq!(perplexity_ceiling(100.0, 32128), Some(115.0));
    assert_eq!(perplexity_ceiling(30000.0, 32128), None);
}

#[test]
fn stage_recipes_follow_siblings_and_init_links() {
    let root = std::env::temp_dir().join(format!("ship-chain-{}", std::process::id()));
    let write = |dir: &str, stage: &str, run: &str, init: Option<&Path>| {
        std::fs::create_dir_all(root.join(dir)).unwrap();
        let recipe = json!({"stage": stage, "options": {"stage": run, "init": init}});
        std::fs::write(root.join(dir).join("recipe.json"), recipe.to_string()).unwrap();
    };
    // A `both` run continued from a checkpoint, then a fine-tuning phase on top.
    write("start/pretrain", "pretrain", "pretrain", None);
    write(
        "a/pretrain",
        "pretrain",
        "both",
        Some(&root.join("start/pretrain")),
    );
    write(
        "a/finetune",
        "finetune",
        "both",
        Some(&root.join("start/pretrain")),
    );
    write(
        "b/finetune",
        "finetune",
        "finetune",
        Some(&root.join("a/finetune")),
    );
    let chain = stage_recipes(&root.join("b/finetune")).unwrap();
    let stages: Vec<(&str, &str)> = chain
        .iter()
        .map(|r| {
            (
                r["stage"].as_str().unwrap(),
                r["options"]["stage"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        stages,
        [
            ("pretrain", "pretrain"),
            ("pretrain", "both"),
            ("finetune", "both"),
            ("finetune", "finetune")
        ]
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_kept_model_keeps_its_entry_only_while_the_sample_stays() {
    let root = std::env::temp_dir().join(format!("ship-keep-{}", std::process::id()));
    let (data, to) = (root.join("data"), root.join("models"));
    for dir in [data.join("tasks"), data.join("pretrain"), to.clone()] {
        std::fs::create_dir_all(dir).unwrap();
    }
    let example = |input: &str, set: Option<&str>| TaskExample {
        task: "reverse".into(),
        prefix: "reverse words:".into(),
        input: input.into(),
        target: input.split(' ').rev().collect::<Vec<_>>().join(" "),
        set: set.map(String::from),
    };
    let write_tasks = |path: &Path, examples: &[TaskExample]| {
        let lines: Vec<String> = examples
            .iter()
            .map(|e| serde_json::to_string(e).unwrap())
            .collect();
        std::fs::write(path, lines.join("\n") + "\n").unwrap();
    };
    write_tasks(&data.join("tasks/valid.jsonl"), &[example("a b", None)]);
    write_tasks(
        &root.join("ood.jsonl"),
        &[example("the cat", Some("sentences"))],
    );
    std::fs::write(data.join("pretrain/valid.txt"), "Some text.\n").unwrap();
    let entry = json!({"id": "lab-t5", "scores": {"mean_exact_match": 0.5}});
    let manifest = json!({"models": [entry, {"id": "lab-gpt2"}]});
    std::fs::write(to.join(MANIFEST), manifest.to_string()).unwrap();
    let opts = ShipOptions {
        models: vec![ShipModel {
            arch: Arch::T5,
            id: "lab-t5".into(),
            label: "Lab T5".into(),
            dir: None,
            scratch: None,
            tokenizer_json: Vec::new(),
        }],
        data: data.clone(),
        to: to.clone(),
        sample_per_task: 20,
        ood: root.join("ood.jsonl"),
        ood_every: 1,
        eval: EvalOptions {
            max_per_task: 10,
            perplexity_tokens: 0,
            samples: 0,
            page_tasks: None,
        },
    };
    // No sample shipped yet: the kept model's floors would not be its own.
    let refused = ship(&opts).unwrap_err().to_string();
    assert!(refused.contains("lab-t5"), "{refused}");
    assert_eq!(read_json(&to.join(MANIFEST)).unwrap(), manifest);

    let sample = std::fs::read_to_string(data.join("tasks/valid.jsonl")).unwrap()
        + &std::fs::read_to_string(root.join("ood.jsonl")).unwrap();
    std::fs::write(to.join(SAMPLE), sample).unwrap();
    // The text sample (the ground of the perplexity ceiling) must stay too.
    let refused = ship(&opts).unwrap_err().to_string();
    assert!(refused.contains("lab-t5"), "{refused}");
    std::fs::write(to.join(TEXT_SAMPLE), "Some text.\n").unwrap();
    let shipped = ship(&opts).unwrap();
    assert_eq!(shipped["models"], json!([entry]));
    assert_eq!(
        read_json(&to.join(MANIFEST)).unwrap()["models"],
        json!([entry])
    );
    let _ = std::fs::remove_dir_all(&root);
}
