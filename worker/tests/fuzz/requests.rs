//! Requests as the page posts them (JSON here; the worker decodes the same
//! serde shapes from a `JsValue`), mutated, decoded, and run natively on the
//! lab's two shipped models the way the worker runs them.

use protocol::classify::{HeadFile, HeadSettings, Pooling};
use protocol::{Arch, GenerationSettings, ModelRef, Request};
use serde_json::Value;
use worker::classify;
use worker::features::Features;
use worker::generation::Generation;
use worker::session::{ModelFiles, Session};

use super::targets::{Mutation, Seed, Target};

/// The tokens a fuzzed generation runs at most: a long one is not a hang
/// (the page can stop it between tokens), only slow to fuzz.
const GENERATED_AT_MOST: usize = 48;

fn lab_session(name: &str, arch: Arch) -> Session {
    let root = protocol::repo_root().join("static");
    let weights = std::fs::read(root.join(format!("models/{name}/model.gguf"))).unwrap();
    let config = std::fs::read_to_string(root.join(format!("models/{name}/config.json"))).unwrap();
    let tokenizer = std::fs::read(root.join(arch.default_tokenizer_url())).unwrap();
    Session::load(ModelFiles {
        name,
        weights: &weights,
        config_json: Some(&config),
        tokenizer_json: &tokenizer,
        quantize_to: None,
    })
    .expect("the shipped model loads")
}

struct Lab {
    gpt2: Session,
    t5: Session,
    /// Features of a few examples from the lab GPT-2, as the worker holds them.
    features: Features,
    ids: Vec<Vec<u32>>,
}

impl Lab {
    fn session(&self, model: ModelRef) -> &Session {
        match model.arch {
            Arch::Gpt2 => &self.gpt2,
            Arch::T5 => &self.t5,
        }
    }

    /// What the worker does with `request`, without the messages.
    fn run(&self, request: Request) -> candle_core::Result<()> {
        if let Some(model) = model_of(&request) {
            if let Some(answer) = worker::answers::answer(self.session(model), &request) {
                return answer.map(|_| ());
            }
        }
        match request {
            Request::Generate {
                model,
                prompt,
                settings,
                ..
            } => {
                let session = self.session(model);
                let ids = session.encode(&prompt)?;
                let mut runner = session.runner();
                let mut generation =
                    Generation::start(&mut runner, &session.tokenizer, ids, settings)?;
                for _ in 0..GENERATED_AT_MOST {
                    if generation.next_token()?.is_none() {
                        break;
                    }
                }
                Ok(())
            }
            Request::Features { model, texts, .. } => {
                let session = self.session(model);
                let (rows, _, _) = classify::encode_rows(session, &texts)?;
                classify::features(session, &rows).map(|_| ())
            }
            Request::TrainHead {
                layer,
                pooling,
                set,
                settings,
                ..
            } => classify::train_at(&self.features, layer, pooling, &set, &settings.clamped())
                .map(|_| ()),
            Request::Sweep { set, settings, .. } => {
                let settings = settings.clamped();
                classify::sweep_cell(&self.features, 0, Pooling::Mean, &set, &settings)?;
                classify::baselines(&self.ids, &set, &settings).map(|_| ())
            }
            // Downloads, the cache and cancels are the browser's: decoding them is the test.
            _ => Ok(()),
        }
    }
}

fn model_of(request: &Request) -> Option<ModelRef> {
    match request {
        Request::Classify { model, .. }
        | Request::Attention { model, .. }
        | Request::Batch { model, .. }
        | Request::Predict { model, .. }
        | Request::LabelAnswers { model, .. } => Some(*model),
        _ => None,
    }
}

/// One request of each kind, with the values the page sends.
fn seeds(lab: &Lab) -> Vec<Request> {
    let gpt2 = ModelRef {
        arch: Arch::Gpt2,
        load: 1,
    };
    let t5 = ModelRef {
        arch: Arch::T5,
        load: 2,
    };
    let set = protocol::examples::split(&examples(), 0.25, 42).unwrap();
    let (head, _) = classify::train_at(
        &lab.features,
        2,
        Pooling::Last,
        &set,
        &HeadSettings::default(),
    )
    .unwrap();
    let head: HeadFile = classify::head_file(
        &lab.gpt2,
        &head,
        &lab.features,
        2,
        Pooling::Last,
        &set,
        &HeadSettings::default(),
    );
    vec![
        Request::Hello,
        Request::Generate {
            id: 3,
            model: gpt2,
            prompt: "reverse words: the cat sat =>".into(),
            settings: GenerationSettings {
                top_k: 5,
                temperature: 0.8,
                stop: vec!["\n".into()],
                ..GenerationSettings::default()
            },
        },
        Request::Generate {
            id: 4,
            model: t5,
            prompt: "reverse words: the cat sat".into(),
            settings: GenerationSettings::default(),
        },
        Request::Cancel { id: 3 },
        Request::Classify {
            id: 5,
            model: t5,
            prompt: "spam or ham: win a free phone".into(),
            labels: vec!["spam".into(), "ham".into()],
        },
        Request::Attention {
            id: 6,
            model: gpt2,
            input_ids: vec![464, 3797, 3332],
            output_ids: vec![319, 262],
        },
        Request::Attention {
            id: 7,
            model: t5,
            input_ids: vec![37, 1712, 3, 1],
            output_ids: vec![0, 37],
        },
        Request::Batch {
            id: 8,
            model: t5,
            prompts: vec!["reverse words: a b".into(), "sort words: b a".into()],
            max_new_tokens: 8,
        },
        Request::Features {
            id: 9,
            model: gpt2,
            texts: vec!["win money now".into(), "see you at lunch".into()],
        },
        Request::TrainHead {
            id: 10,
            features: 9,
            layer: 2,
            pooling: Pooling::Mean,
            set: set.clone(),
            settings: HeadSettings::default(),
        },
        Request::Sweep {
            id: 11,
            features: 9,
            set,
            settings: HeadSettings {
                hidden: Some(8),
                ..HeadSettings::default()
            },
        },
        Request::Predict {
            id: 12,
            model: gpt2,
            head: Box::new(head),
            text: "free prize inside".into(),
        },
        Request::LabelAnswers {
            id: 13,
            model: t5,
            prompts: vec!["spam or ham: hi mum".into()],
            labels: vec!["spam".into(), "ham".into()],
        },
        Request::ListCache { id: 14 },
        Request::ClearCache { id: 15 },
    ]
}

fn examples() -> Vec<protocol::examples::Example> {
    let text = "spam,win a free phone now\nham,see you at lunch\nspam,claim your prize today\nham,the bus is late again\nspam,cheap loans click here\nham,can you call me back\nspam,you won a cruise\nham,dinner at seven?\n";
    protocol::examples::parse(text, "").unwrap()
}

pub fn requests() -> Target {
    let gpt2 = lab_session("lab-gpt2", Arch::Gpt2);
    let t5 = lab_session("lab-t5", Arch::T5);
    let texts: Vec<String> = examples().into_iter().map(|e| e.text).collect();
    let (ids, _, _) = classify::encode_rows(&gpt2, &texts).unwrap();
    let features = classify::features(&gpt2, &ids).unwrap();
    let lab = Lab {
        gpt2,
        t5,
        features,
        ids,
    };
    let seeds = seeds(&lab)
        .into_iter()
        .map(|r| {
            let bytes = serde_json::to_vec(&r).unwrap();
            let name = match serde_json::to_value(&r).unwrap() {
                Value::Object(m) => m.keys().next().cloned().unwrap_or_default(),
                Value::String(s) => s,
                _ => String::new(),
            };
            Seed {
                name,
                header: bytes.len(),
                bytes,
            }
        })
        .collect();
    Target {
        name: "requests to the worker",
        seeds,
        mutation: Mutation::Json,
        check: Box::new(move |bytes| {
            let request: Request = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
            lab.run(request).map_err(|e| worker::plain_error(&e))
        }),
    }
}
