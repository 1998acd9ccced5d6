#!/usr/bin/env bash
# Installs what building and testing need, each tool only when it is missing or
# at the wrong version. Tools live outside the clone so that later runs reuse them.
# Source it (`. scripts/setup.sh`) to get PATH and the shared target dir.
set -euo pipefail

export LAB_HOME="${LAB_HOME:-$HOME/.cache/pretrain-lab}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$LAB_HOME/target}"
export PATH="$LAB_HOME/bin:$LAB_HOME/node/node_modules/.bin:$HOME/.cargo/bin:$PATH"
mkdir -p "$LAB_HOME"

TRUNK_VERSION=0.21.14        # 0.22 needs rustc >= 1.96.1
WASM_BINDGEN_VERSION=0.2.130 # must equal wasm-bindgen in Cargo.lock
BINARYEN_VERSION=132.0.0     # Debian's binaryen 108 breaks wasm-bindgen 0.2.130 output

step() { printf '[setup %s] %s\n' "$(date +%T)" "$*"; }

# The toolchain named in rust-toolchain.toml, with the wasm target.
step "rust toolchain"
rustup show active-toolchain >/dev/null
rustup target add wasm32-unknown-unknown >/dev/null

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  step "apt: chromium chromium-driver"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver >/dev/null
fi

if [ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
  step "cargo install trunk $TRUNK_VERSION (about 12 minutes, once per machine)"
  cargo install --quiet trunk --version "$TRUNK_VERSION" --locked --root "$LAB_HOME"
fi

if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  step "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 minutes, once per machine)"
  # Not --locked: its lockfile wants a webpki-roots version the registry lacks.
  cargo install --quiet wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --root "$LAB_HOME"
fi

if [ "$(wasm-opt --version 2>/dev/null | awk '{print $3}')" != "${BINARYEN_VERSION%%.*}" ]; then
  step "npm install binaryen@$BINARYEN_VERSION"
  mkdir -p "$LAB_HOME/node"
  npm install --silent --no-audit --no-fund --prefix "$LAB_HOME/node" "binaryen@$BINARYEN_VERSION" >/dev/null
fi
step "tools ready: $(trunk --version), $(wasm-bindgen --version), wasm-opt $(wasm-opt --version | awk '{print $3}')"
