#!/usr/bin/env bash
# Speed of the same model files natively (`lab`) and in headless Chromium
# (the release page with and without wasm SIMD128), in one run. Needs the bench models from
# `reference/make_gpt2_fixtures.py --bench` and `make_t5_fixtures.py --bench`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
cargo build --release --locked -p worker --bin lab
trunk build --release
# The same page without SIMD128, in its own target dir so that the main build
# stays cached. This variable overrides .cargo/config.toml's rustflags.
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=-simd128" \
  CARGO_TARGET_DIR="$LAB_HOME/target-scalar" trunk build --release --dist dist-scalar
cargo run --release --locked -p e2e --example browser_bench
# The classification head on the shipped pair: features of 500 examples, the
# full sweep on the spam preset, in the page and natively.
cargo run --release --locked -p e2e --example classify_bench
