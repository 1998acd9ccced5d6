//! Seeded mutations of real files: bytes for model files, values for JSON.

use serde_json::{json, Value};

/// SplitMix64: small, seeded, and the same sequence on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Integers that break readers: zero, one, sign and width edges, huge sizes.
const EDGES: [u64; 12] = [
    0,
    1,
    2,
    255,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    100_000_000_000, // "a 100 GB tensor"
    i64::MAX as u64,
    u64::MAX - 1,
    u64::MAX,
];

/// A mutated copy of `seed`. Most mutations land in the first `header`
/// bytes, where a model file's structure (counts, lengths, shapes, types,
/// offsets) is; a few anywhere, and some cut the file short.
pub fn bytes(rng: &mut Rng, seed: &[u8], header: usize) -> Vec<u8> {
    let mut out = seed.to_vec();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        if out.is_empty() {
            out.push(rng.next() as u8);
        }
        let span = if rng.chance(5) {
            out.len()
        } else {
            header.clamp(1, out.len())
        };
        let at = rng.below(span);
        match rng.below(9) {
            0 => out[at] ^= 1 << rng.below(8),
            1 => out[at] = rng.next() as u8,
            2 | 3 => {
                let width = if rng.chance(2) { 4 } else { 8 };
                let value = *rng.pick(&EDGES);
                let le = value.to_le_bytes();
                for (i, b) in le[..width].iter().enumerate() {
                    if let Some(slot) = out.get_mut(at + i) {
                        *slot = *b;
                    }
                }
            }
            4 => out.truncate(at),
            5 => {
                let n = 1 + rng.below(16);
                let end = (at + n).min(out.len());
                out.drain(at..end);
            }
            6 => {
                let n = 1 + rng.below(16);
                let junk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                out.splice(at..at, junk);
            }
            7 => {
                // A stretch copied over another: plausible but wrong structure.
                let n = 1 + rng.below(32);
                let from = rng.below(span);
                let chunk: Vec<u8> = out[from..(from + n).min(out.len())].to_vec();
                for (i, b) in chunk.into_iter().enumerate() {
                    if let Some(slot) = out.get_mut(at + i) {
                        *slot = b;
                    }
                }
            }
            _ => {
                // A small integer nudged: off-by-one counts, dims and types.
                let delta = [1u8, 255, 2, 254][rng.below(4)];
                out[at] = out[at].wrapping_add(delta);
            }
        }
    }
    out
}

/// A mutated copy of a JSON document: values replaced by edge values,
/// keys removed or renamed, arrays cut or grown; sometimes the text itself
/// is damaged afterwards.
pub fn json(rng: &mut Rng, seed: &Value) -> Vec<u8> {
    let mut value = seed.clone();
    for _ in 0..1 + rng.below(4) {
        // The root itself rarely: a whole document swapped for a number
        // only tests the first byte of the parser.
        let nodes = count(&value);
        let target = if nodes > 1 && !rng.chance(20) {
            1 + rng.below(nodes - 1)
        } else {
            0
        };
        let mut seen = 0;
        mutate_node(rng, &mut value, target, &mut seen);
    }
    let text = serde_json::to_vec(&value).expect("JSON serializes");
    if rng.chance(6) {
        bytes(rng, &text, text.len())
    } else {
        text
    }
}

fn count(v: &Value) -> usize {
    1 + match v {
        Value::Array(items) => items.iter().map(count).sum(),
        Value::Object(map) => map.values().map(count).sum(),
        _ => 0,
    }
}

fn edge_value(rng: &mut Rng) -> Value {
    match rng.below(14) {
        0 => json!(0),
        1 => json!(-1),
        2 => json!(1),
        3 => json!(*rng.pick(&EDGES)),
        4 => json!(1e308),
        5 => json!(-1e308),
        6 => json!(0.5),
        7 => Value::Null,
        8 => json!(true),
        9 => json!(""),
        10 => json!("x".repeat(1 + rng.below(5000))),
        11 => json!([]),
        12 => json!({}),
        _ => json!("\u{0}\u{ffff}é😀"),
    }
}

/// Mutates the `target`-th node in depth-first order.
fn mutate_node(rng: &mut Rng, v: &mut Value, target: usize, seen: &mut usize) -> bool {
    if *seen == target {
        match v {
            Value::Object(map) if !map.is_empty() && rng.chance(3) => {
                let key = map
                    .keys()
                    .nth(rng.below(map.len()))
                    .cloned()
                    .expect("a key");
                let removed = map.remove(&key).expect("present");
                if rng.chance(2) {
                    map.insert(format!("{key}_"), removed);
                }
            }
            Value::Array(items) if !items.is_empty() && rng.chance(3) => {
                if rng.chance(2) {
                    items.truncate(rng.below(items.len()));
                } else {
                    let copy = items[rng.below(items.len())].clone();
                    for _ in 0..1 + rng.below(64) {
                        items.push(copy.clone());
                    }
                }
            }
            // Mostly a value of the same type, so that decoding gets past
            // it and the code behind it is reached.
            Value::Number(_) if !rng.chance(3) => *v = json!(*rng.pick(&EDGES)),
            Value::Number(n) if n.is_f64() && rng.chance(2) => {
                *v = json!(*rng.pick(&[0.0, -0.0, 1e-30, 1e30, -1.0, 0.999, 4096.5]))
            }
            Value::String(_) if !rng.chance(3) => {
                *v = json!(*rng.pick(&[
                    "",
                    " ",
                    "\n",
                    "=>",
                    "the the the",
                    "é😀\u{0}",
                    "<pad>",
                    "a,b\"c"
                ]))
            }
            _ => *v = edge_value(rng),
        }
        return true;
    }
    *seen += 1;
    match v {
        Value::Array(items) => items.iter_mut().any(|i| mutate_node(rng, i, target, seen)),
        Value::Object(map) => map.values_mut().any(|i| mutate_node(rng, i, target, seen)),
        _ => false,
    }
}
