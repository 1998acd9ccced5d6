//! Labelled examples for the classification head: reading them from what a
//! user pastes or imports, checking them, and splitting them into training
//! and test rows. Pure functions, so the page and the native tests agree.

use serde::{Deserialize, Serialize};

use crate::classify::LabelledSet;

/// One labelled text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    pub label: String,
    pub text: String,
}

/// More rows than this are refused: features for them would take minutes.
pub const MAX_EXAMPLES: usize = 2_000;
/// Longer texts are kept but the model reads only its first tokens.
pub const LONG_TEXT_CHARS: usize = 1_000;

/// Reads examples from a file's or a paste's text: JSONL (`{"label": …,
/// "text": …}` per line) or CSV (`label,text`, an optional header, quotes
/// for commas and line breaks). An error names the line at fault.
pub fn parse(text: &str, file_name: &str) -> Result<Vec<Example>, String> {
    let first = text.trim_start().chars().next();
    let examples = if file_name.ends_with(".jsonl") || first == Some('{') {
        parse_jsonl(text)?
    } else {
        parse_csv(text)?
    };
    if examples.is_empty() {
        return Err(format!(
            "{} has no examples: write one `label,text` per line, or JSONL with \"label\" and \"text\".",
            if file_name.is_empty() { "The pasted text" } else { file_name }
        ));
    }
    if examples.len() > MAX_EXAMPLES {
        return Err(format!(
            "{} examples is more than the {MAX_EXAMPLES} this page works with: keep a sample.",
            examples.len()
        ));
    }
    Ok(examples)
}

fn parse_jsonl(text: &str) -> Result<Vec<Example>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("Line {} is not JSON: {e}.", n + 1))?;
        let field = |key: &str| match &value[key] {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(x) => Some(x.to_string()),
            serde_json::Value::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        match (field("label"), field("text")) {
            (Some(label), Some(text)) => out.push(Example { label, text }),
            _ => {
                return Err(format!(
                    "Line {} needs a \"label\" and a \"text\" (strings).",
                    n + 1
                ))
            }
        }
    }
    Ok(out)
}

fn parse_csv(text: &str) -> Result<Vec<Example>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(n as u64 + 1, |p| p.line());
            format!("Line {line} is not valid CSV: {e}.")
        })?;
        let fields: Vec<&str> = record.iter().collect();
        if fields.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let header = fields.len() == 2
            && fields[0].trim().eq_ignore_ascii_case("label")
            && fields[1].trim().eq_ignore_ascii_case("text");
        if n == 0 && header {
            continue;
        }
        let line = record.position().map_or(n as u64 + 1, |p| p.line());
        if fields.len() < 2 {
            return Err(format!(
                "Line {line} has no comma: write `label,text` (the label first)."
            ));
        }
        // An unquoted text may hold commas: everything after the first is text.
        out.push(Example {
            label: fields[0].trim().to_string(),
            text: fields[1..].join(","),
        });
    }
    Ok(out)
}

/// The classes in order of first appearance.
pub fn classes(examples: &[Example]) -> Vec<String> {
    let mut classes: Vec<String> = Vec::new();
    for e in examples {
        let label = e.label.trim();
        if !classes.iter().any(|c| c == label) {
            classes.push(label.to_string());
        }
    }
    classes
}

/// Checks the examples can train and test a head, then splits each class
/// `test_fraction` / rest, seeded (every class gets test and training rows).
pub fn split(examples: &[Example], test_fraction: f64, seed: u64) -> Result<LabelledSet, String> {
    for (i, e) in examples.iter().enumerate() {
        if e.label.trim().is_empty() {
            return Err(format!("Example {} has no label.", i + 1));
        }
        if e.text.trim().is_empty() {
            return Err(format!("Example {} has no text.", i + 1));
        }
    }
    if examples.len() > MAX_EXAMPLES {
        return Err(format!(
            "{} examples is more than the {MAX_EXAMPLES} this page works with.",
            examples.len()
        ));
    }
    let classes = classes(examples);
    match classes.len() {
        0 => return Err("There are no examples yet: add some, or pick a preset.".into()),
        1 => {
            return Err(format!(
                "Every example is {:?}: a head needs at least two classes to tell apart.",
                classes[0]
            ))
        }
        _ => {}
    }
    let labels: Vec<usize> = examples
        .iter()
        .map(|e| {
            classes
                .iter()
                .position(|c| c == e.label.trim())
                .unwrap_or(0)
        })
        .collect();
    let fraction = if test_fraction.is_finite() {
        test_fraction.clamp(0.05, 0.9)
    } else {
        0.25
    };
    let mut rng = SplitMix(seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (c, class) in classes.iter().enumerate() {
        let mut rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
        if rows.len() < 2 {
            return Err(format!(
                "The class {class:?} has one example: each class needs two or more, one to \
                 train on and one to test."
            ));
        }
        // Fisher–Yates with the seeded generator.
        for i in (1..rows.len()).rev() {
            rows.swap(i, (rng.next() % (i as u64 + 1)) as usize);
        }
        let n_test = ((rows.len() as f64 * fraction).round() as usize).clamp(1, rows.len() - 1);
        test.extend_from_slice(&rows[..n_test]);
        train.extend_from_slice(&rows[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    Ok(LabelledSet {
        classes,
        labels,
        train,
        test,
    })
}

/// The rows whose text is long enough that the model will read only part.
pub fn long_rows(examples: &[Example]) -> Vec<usize> {
    (0..examples.len())
        .filter(|&i| examples[i].text.chars().count() > LONG_TEXT_CHARS)
        .collect()
}

/// A small seeded generator (SplitMix64): the split must be the same in
/// the page and in the native tests.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(label: &str, text: &str) -> Example {
        Example {
            label: label.into(),
            text: text.into(),
        }
    }

    #[test]
    fn csv_lines_with_header_quotes_and_bare_commas() {
        let text = "label,text\nspam,\"win, now\nfree\"\nham,see you at 5, ok?\n\n";
        let got = parse(text, "mail.csv").unwrap();
        assert_eq!(
            got,
            vec![ex("spam", "win, now\nfree"), ex("ham", "see you at 5, ok?")]
        );
    }

    #[test]
    fn jsonl_and_its_errors_name_the_line() {
        let got = parse(
            "{\"label\":\"a\",\"text\":\"x\"}\n{\"label\":1,\"text\":\"y\"}",
            "",
        )
        .unwrap();
        assert_eq!(got, vec![ex("a", "x"), ex("1", "y")]);
        let bad = parse(
            "{\"label\":\"a\",\"text\":\"x\"}\n{\"label\":\"a\"}",
            "f.jsonl",
        );
        assert!(bad.unwrap_err().starts_with("Line 2 needs"));
        let broken = parse("{\"label\":\"a\",\"text\":\"x\"}\n{oops", "f.jsonl");
        assert!(broken.unwrap_err().starts_with("Line 2 is not JSON"));
        assert!(parse("just words", "").unwrap_err().contains("no comma"));
        assert!(parse("  \n", "").unwrap_err().contains("no examples"));
    }

    #[test]
    fn the_split_is_seeded_stratified_and_refuses_what_cannot_train() {
        let mut rows = Vec::new();
        for i in 0..20 {
            rows.push(ex(if i % 4 == 0 { "b" } else { "a" }, &format!("text {i}")));
        }
        let set = split(&rows, 0.25, 7).unwrap();
        assert_eq!(set.classes, vec!["b", "a"]);
        assert_eq!(set.train.len() + set.test.len(), 20);
        let test_b = set.test.iter().filter(|&&i| set.labels[i] == 0).count();
        assert_eq!((set.test.len(), test_b), (5, 1));
        assert_eq!(split(&rows, 0.25, 7).unwrap(), set);
        assert_ne!(split(&rows, 0.25, 8).unwrap().test, set.test);

        let one_class = split(&[ex("a", "x"), ex("a", "y")], 0.25, 1).unwrap_err();
        assert!(one_class.contains("two classes"), "{one_class}");
        let lonely = split(&[ex("a", "x"), ex("a", "y"), ex("b", "z")], 0.25, 1).unwrap_err();
        assert!(lonely.contains("\"b\" has one example"), "{lonely}");
        let empty = split(&[ex("a", "x"), ex("a", " ")], 0.25, 1).unwrap_err();
        assert_eq!(empty, "Example 2 has no text.");
    }
}
