#!/usr/bin/env bash
# The full fuzz run of issue #18: every target (model files, configs,
# tokenizers, the page's data files, example files, worker requests) with
# FUZZ_INPUTS mutated inputs each (10,000 unless set), in the dev profile so
# that overflow and undefined-behaviour checks are on. The counts table is
# written to docs/fuzz-counts.md; a failing input is kept in
# test-artifacts/fuzz/. `cargo test` runs the same test as a 500-input smoke.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
export FUZZ_INPUTS="${FUZZ_INPUTS:-10000}"
export FUZZ_REPORT="${FUZZ_REPORT:-$PWD/docs/fuzz-counts.md}"
cargo test -p worker --test fuzz --locked
