//! (d) T5 span corruption: sentinels in order, and the targets put back into
//! the input reconstruct the text.

use trainer::init::Normal;
use trainer::spans::SpanCorruption;

fn sentinel_index(sc: &SpanCorruption, id: u32) -> Option<usize> {
    (id <= sc.first_sentinel && id + 100 > sc.first_sentinel)
        .then(|| (sc.first_sentinel - id) as usize)
}

/// The text back from input and target: each input sentinel is replaced by
/// the tokens after the same sentinel in the target.
fn reconstruct(sc: &SpanCorruption, input: &[u32], target: &[u32]) -> Vec<u32> {
    let mut spans: Vec<Vec<u32>> = Vec::new();
    for &t in &target[..target.len() - 1] {
        match sentinel_index(sc, t) {
            Some(i) => {
                assert_eq!(i, spans.len(), "target sentinels out of order");
                spans.push(Vec::new());
            }
            None => spans
                .last_mut()
                .expect("target starts with a sentinel")
                .push(t),
        }
    }
    let mut out = Vec::new();
    let mut next = 0;
    for &t in &input[..input.len() - 1] {
        match sentinel_index(sc, t) {
            Some(i) => {
                assert_eq!(i, next, "input sentinels out of order");
                out.extend_from_slice(&spans[i]);
                next += 1;
            }
            None => out.push(t),
        }
    }
    assert_eq!(
        next,
        spans.len(),
        "as many sentinels in the input as in the target"
    );
    out
}

#[test]
fn sentinels_in_order_and_targets_reconstruct_the_text() {
    let sc = SpanCorruption::default();
    let text: Vec<u32> = (100..242).collect();
    let mut seen_layouts = std::collections::HashSet::new();
    for seed in 0..20 {
        let mut rng = Normal::new(seed);
        let c = sc.corrupt(&text, &mut rng).unwrap();
        assert_eq!(c.input.last(), Some(&sc.eos));
        assert_eq!(c.target.last(), Some(&sc.eos));
        assert_eq!(
            c.target[0], sc.first_sentinel,
            "the target opens with <extra_id_0>"
        );
        assert_eq!(reconstruct(&sc, &c.input, &c.target), text);
        let (noise, spans) = sc.counts(text.len());
        // 142 tokens: 21 noise tokens in 7 spans, as T5's formula gives.
        assert_eq!((noise, spans), (21, 7));
        assert_eq!(c.target.len(), noise + spans + 1);
        assert_eq!(c.input.len(), text.len() - noise + spans + 1);
        // T5's layout starts with kept text.
        assert_eq!(c.input[0], text[0]);
        seen_layouts.insert(c.input.clone());
    }
    assert!(seen_layouts.len() > 15, "the spans are random");
    // The raw length for 128-token inputs gives inputs of about 128 tokens.
    assert_eq!(sc.raw_length(128), 141);
}

#[test]
fn short_texts_and_bad_input() {
    let sc = SpanCorruption::default();
    let mut rng = Normal::new(1);
    for len in 2..12u32 {
        let text: Vec<u32> = (10..10 + len).collect();
        let c = sc.corrupt(&text, &mut rng).unwrap();
        assert_eq!(reconstruct(&sc, &c.input, &c.target), text, "length {len}");
    }
    assert!(sc.corrupt(&[5], &mut rng).is_err());
    assert!(sc.corrupt(&[], &mut rng).is_err());
}
