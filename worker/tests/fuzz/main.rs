//! Fuzzing on stable Rust (the worker's own counting allocator notes the
//! largest allocation): real files and requests, mutated with a seeded
//! loop, through the code the worker runs. Every input must end in a model
//! or a sentence — no panic, no hang, no allocation past the cap.
//!
//!   cargo test -p worker --test fuzz                    # a smoke: 500 inputs a target
//!   FUZZ_INPUTS=10000 bash scripts/fuzz.sh              # the full run, counts in docs/
//!
//! `FUZZ_SEED` changes the sequence, `FUZZ_ONLY` runs the targets whose name
//! contains it, `FUZZ_REPORT` is where the counts table is written.

mod guard;
mod mutate;
mod requests;
mod targets;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use guard::{allocation_cap, Outcome};

/// One target's tally.
#[derive(Default)]
struct Counts {
    inputs: usize,
    accepted: usize,
    refused: usize,
    panics: Vec<String>,
    over_cap: Vec<String>,
    slowest: Duration,
    largest_allocation: usize,
    /// How often each refusal sentence (its first words) came up.
    sentences: BTreeMap<String, usize>,
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let inputs = env_number("FUZZ_INPUTS", 500) as usize;
    let seed = env_number("FUZZ_SEED", 2026);
    let time_limit = Duration::from_millis(env_number("FUZZ_TIME_LIMIT_MS", 20_000));
    let only = std::env::var("FUZZ_ONLY").unwrap_or_default();
    // Each input written before it runs: for an abort no guard can catch.
    let trace = std::env::var("FUZZ_TRACE").is_ok();
    let started = Instant::now();
    guard::install(time_limit, started);

    let makers: [fn() -> targets::Target; 7] = [
        targets::model_files,
        targets::safetensors_files,
        targets::configs,
        targets::tokenizers,
        targets::page_data,
        targets::example_files,
        requests::requests,
    ];
    let mut table = String::from(
        "| target | inputs | loaded/accepted | refused with a sentence | panics | hangs | over the allocation cap | slowest input | largest allocation |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut failed = false;
    for make in makers {
        let target = make();
        if !target.name.contains(only.as_str()) {
            continue;
        }
        eprintln!("fuzz: {}", target.name);
        // Each seed itself must be accepted, or its target tests nothing.
        for s in &target.seeds {
            let checked = guard::run(started, || (target.check)(&s.bytes));
            let why = match checked.outcome {
                Outcome::Accepted => continue,
                Outcome::Refused => (target.check)(&s.bytes).err().unwrap_or_default(),
                Outcome::Panicked(message) => message,
            };
            panic!(
                "the seed {} of {} is not accepted: {why}",
                s.name, target.name
            );
        }
        let mut rng = mutate::Rng::new(seed ^ fnv(target.name));
        let mut counts = Counts::default();
        for n in 0..inputs {
            let input = target.input(&mut rng);
            if trace {
                keep("current", 0, &input);
            }
            let mut refusal = String::new();
            let checked = guard::run(started, || {
                (target.check)(&input).inspect_err(|e| refusal = e.clone())
            });
            counts.inputs += 1;
            counts.slowest = counts.slowest.max(checked.elapsed);
            counts.largest_allocation = counts.largest_allocation.max(checked.largest_allocation);
            if checked.largest_allocation > allocation_cap(input.len()) {
                counts.over_cap.push(format!(
                    "input {n}: {} bytes asked for, {} byte input",
                    checked.largest_allocation,
                    input.len()
                ));
                keep(target.name, n, &input);
            }
            match checked.outcome {
                Outcome::Accepted => counts.accepted += 1,
                Outcome::Refused => {
                    counts.refused += 1;
                    if refusal.trim().is_empty() {
                        counts
                            .panics
                            .push(format!("input {n}: refused with no sentence"));
                    }
                    let head: String = refusal
                        .split_whitespace()
                        .take(6)
                        .collect::<Vec<_>>()
                        .join(" ");
                    *counts.sentences.entry(head).or_default() += 1;
                }
                Outcome::Panicked(message) => {
                    counts.panics.push(format!("input {n}: {message}"));
                    keep(target.name, n, &input);
                }
            }
        }
        failed |= !counts.panics.is_empty() || !counts.over_cap.is_empty();
        report(target.name, &counts);
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} | 0 | {} | {:.0} ms | {:.1} MiB |\n",
            target.name,
            counts.inputs,
            counts.accepted,
            counts.refused,
            counts.panics.len(),
            counts.over_cap.len(),
            counts.slowest.as_secs_f64() * 1e3,
            counts.largest_allocation as f64 / (1 << 20) as f64,
        ));
    }
    println!("\n{table}");
    println!(
        "seed {seed}, time limit {} ms per input, {:.0} s in all",
        time_limit.as_millis(),
        started.elapsed().as_secs_f64()
    );
    if let Ok(path) = std::env::var("FUZZ_REPORT") {
        let report = format!(
            "# Fuzz counts\n\nWritten by `bash scripts/fuzz.sh` (see [robustness.md](robustness.md)): \
             seed {seed}, {inputs} mutated inputs a target, a time limit of {} ms an input, \
             {:.0} s in all, in the dev profile (overflow and undefined-behaviour checks on). \
             The allocation cap is 8 × the input's size + 64 MiB.\n\n{table}",
            time_limit.as_millis(),
            started.elapsed().as_secs_f64()
        );
        std::fs::write(&path, report).expect("the report is written");
    }
    if failed {
        eprintln!("fuzz: panics or allocations over the cap (inputs kept in test-artifacts/fuzz/)");
        std::process::exit(1);
    }
}

fn report(name: &str, counts: &Counts) {
    println!(
        "{name}: {} inputs, {} accepted, {} refused",
        counts.inputs, counts.accepted, counts.refused
    );
    let mut common: Vec<_> = counts.sentences.iter().collect();
    common.sort_by(|a, b| b.1.cmp(a.1));
    for (sentence, n) in common.into_iter().take(5) {
        println!("  {n:>6} × {sentence} …");
    }
    for p in counts.panics.iter().chain(&counts.over_cap).take(10) {
        println!("  FAILED {p}");
    }
}

/// A failing input, kept for a test to be written from it.
fn keep(target: &str, n: usize, input: &[u8]) {
    let dir = protocol::repo_root().join("test-artifacts/fuzz");
    let _ = std::fs::create_dir_all(&dir);
    let name: String = target
        .chars()
        .filter(|c| c.is_alphanumeric())
        .take(12)
        .collect();
    let _ = std::fs::write(dir.join(format!("{name}-{n}.bin")), input);
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}
