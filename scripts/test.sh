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

step "clippy, wasm32 (the worker with its relaxed-SIMD kernels too)"
cargo clippy --workspace --exclude e2e --exclude trainer --all-targets --locked \
  --features worker/relaxed-simd --target wasm32-unknown-unknown -- -D warnings

step "native tests"
cargo test --workspace --exclude e2e --locked

step "the worker's kernels in wasm SIMD128 (Node)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p worker --test kernels --locked --target wasm32-unknown-unknown

step "the worker's relaxed-SIMD kernels in wasm (headless Chromium)"
# Node 20 has no relaxed SIMD; the browser the page runs in has
# (worker/webdriver.json: headless, and no sandbox when run as root).
WASM_BINDGEN_USE_BROWSER=1 CHROMEDRIVER="$(command -v chromedriver)" \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p worker --test kernels --features relaxed-simd --locked --target wasm32-unknown-unknown

step "release page build (trunk: the worker in wasm SIMD128, and with relaxed SIMD)"
trunk build --release
# Prove SIMD made it into both workers, and relaxed SIMD into one only.
if ! wasm-dis dist/worker_bg.wasm 2>/dev/null | grep -q 'i32x4\|f32x4\|i8x16'; then
  echo "the worker wasm has no SIMD instructions: was +simd128 dropped?" >&2
  exit 1
fi
if wasm-dis --all-features dist/worker_bg.wasm 2>/dev/null | grep -qE '(i8x16|i16x8|i32x4|f32x4|f64x2)\.relaxed'; then
  echo "the SIMD128 worker has relaxed-SIMD instructions: browsers without them cannot run it" >&2
  exit 1
fi
if ! wasm-dis --all-features dist/worker_relaxed_bg.wasm 2>/dev/null | grep -q 'i32x4.relaxed_dot_i8x16_i7x16_add_s'; then
  echo "the relaxed-SIMD worker has no relaxed dot products" >&2
  exit 1
fi
ls -l dist/*.wasm

step "end-to-end tests in headless Chromium"
timeout 1500 cargo test -p e2e --locked -- --test-threads=1

step "all tests passed"
