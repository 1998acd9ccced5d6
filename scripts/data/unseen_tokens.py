#!/usr/bin/env python3
"""Why a shipped model fails on out-of-distribution word lists: tokens it never wrote in training.

    python unseen_tokens.py --data DIR --ood static/models/lab-ood.jsonl \
        --lab target/release/lab --model static/models/lab-t5

For each reverse list of held-out common words, finds the rarest token of its target among the
tokens the model wrote in training (the targets of the reverse and sort examples in
DIR/tasks/train.jsonl), runs the model greedily through `lab generate` (the page's model code) and
prints exact match by that count: lists with a token never written in training against the rest.
Needs the `tokenizers` package (fetch.sh installs it into $LAB_DATA/venv).
"""
import argparse
import collections
import json
import os
import subprocess
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
from tokenizers import Tokenizer  # noqa: E402

BANDS = [(1, "never"), (10, "1-9 times"), (100, "10-99 times"), (None, "100 times or more")]


def band(count):
    for limit, name in BANDS:
        if limit is None or count < limit:
            return name


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--ood", type=Path, required=True)
    ap.add_argument("--lab", type=Path, required=True)
    ap.add_argument("--model", type=Path, required=True, help="a dir with model.gguf, config.json")
    ap.add_argument("--tokenizer", type=Path, default=Path("static/tokenizers/t5.json"))
    args = ap.parse_args()
    tok = Tokenizer.from_file(str(args.tokenizer))
    written = collections.Counter()
    with open(args.data / "tasks" / "train.jsonl") as f:
        for line in f:
            ex = json.loads(line)
            if ex["task"] in ("reverse", "sort"):
                written.update(tok.encode(ex["target"], add_special_tokens=False).ids)
    totals, exact = collections.Counter(), collections.Counter()
    with open(args.ood) as f:
        rows = [json.loads(line) for line in f]
    for ex in rows:
        if ex["task"] != "reverse" or ex["set"] != "common-words":
            continue
        ids = tok.encode(ex["target"], add_special_tokens=False).ids
        b = band(min(written[i] for i in ids))
        cmd = [str(args.lab), "generate", "--json", "--max-new-tokens", "40",
               "--model", str(args.model / "model.gguf"), "--config", str(args.model / "config.json"),
               "--prefix", ex["prefix"], "--prompt", ex["input"]]
        out = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
        totals[b] += 1
        exact[b] += out["text"].strip() == ex["target"]
    print("| rarest target token written in training | lists | exact |")
    print("|---|---|---|")
    for _, name in BANDS:
        if totals[name]:
            print(f"| {name} | {totals[name]} | {exact[name]} ({exact[name] / totals[name]:.2f}) |")


if __name__ == "__main__":
    main()
