#!/usr/bin/env bash
# Installs what is missing, builds the release page and serves it on
# http://127.0.0.1:8080/ (COOP/COEP headers on; see Trunk.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
echo "Pretrain Lab will be at http://127.0.0.1:8080/"
exec trunk serve --release
