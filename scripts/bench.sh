#!/usr/bin/env bash
# Speed and memory of the same model files natively (`lab`, 1 and 2 threads)
# and in headless Chromium: the page as it ships (wasm SIMD128, the worker's
# own q8_0 kernels), the same page on candle's kernels, and without SIMD128.
# One run, one machine: compare the ratios. Writes nothing; docs/speed.md
# holds the last table.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
cargo build --release --locked -p worker --bin lab
# Random weights of the real gpt2 (124M) and t5-small shapes, made once.
models="$LAB_HOME/bench-models"
[ -f "$models/t5-small-q4_0.gguf" ] || "$CARGO_TARGET_DIR/release/lab" bench-models --out "$models"
# The "before" page: candle's kernels (kernels.rs reads LAB_CANDLE_KERNELS at
# compile time); built first, so that the shipped page is built last.
LAB_CANDLE_KERNELS=1 trunk build --release --dist dist-candle
trunk build --release
# The same page without SIMD128, in its own target dir so that the main build
# stays cached. This variable overrides .cargo/config.toml's rustflags.
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=-simd128" \
  CARGO_TARGET_DIR="$LAB_HOME/target-scalar" trunk build --release --dist dist-scalar
cargo run --release --locked -p e2e --example browser_bench
# The classification head on the shipped pair: features of 500 examples, the
# full sweep on the spam preset, in the page and natively.
cargo run --release --locked -p e2e --example classify_bench
