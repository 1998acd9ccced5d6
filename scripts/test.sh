#!/usr/bin/env bash
# Installs what is missing, then runs every check and test: formatting,
# clippy (native and wasm32), native tests, the release page build, and the
# end-to-end tests in headless Chromium. Each step prints its time.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh

started=$(date +%s)
step() { printf '\n[test %s, %ss] %s\n' "$(date +%T)" "$(( $(date +%s) - started ))" "$*"; }

step "cargo fmt --check"
cargo fmt --all --check

step "cargo fetch"
cargo fetch --locked

step "clippy, native"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "clippy, wasm32"
cargo clippy --workspace --exclude e2e --exclude trainer --all-targets --locked \
  --target wasm32-unknown-unknown -- -D warnings

step "native tests"
cargo test --workspace --exclude e2e --locked

step "the worker's kernels in wasm SIMD128 (Node)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p worker --test kernels --locked --target wasm32-unknown-unknown

step "release page build (trunk, wasm SIMD128)"
trunk build --release
# Prove SIMD made it into the worker: its wasm must contain v128 instructions.
worker_wasm=$(ls dist/worker*_bg.wasm)
if ! wasm-dis "$worker_wasm" 2>/dev/null | grep -q 'i32x4\|f32x4\|i8x16'; then
  echo "the worker wasm has no SIMD instructions: was +simd128 dropped?" >&2
  exit 1
fi
ls -l dist/*.wasm

step "end-to-end tests in headless Chromium"
timeout 1500 cargo test -p e2e --locked -- --test-threads=1

step "all tests passed"
