#!/usr/bin/env bash
# Speed of the same model files natively (`lab`) and in headless Chromium
# (the release page, wasm SIMD128), in one run. Needs the bench models from
# `reference/make_gpt2_fixtures.py --bench` and `make_t5_fixtures.py --bench`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
cargo build --release --locked -p worker --bin lab
trunk build --release
cargo run --release --locked -p e2e --example browser_bench
