#!/usr/bin/env python3
"""Copy-task examples over made-up words, so that every covered token is written in training.

    python token_words.py --data DIR --out OUT --count 20000

The word tasks draw from a word list; a word held out of it (the out-of-distribution set) has
tokens the models then never write in training, and the T5 rarely writes them
(scripts/data/unseen_tokens.py). This writes OUT/tasks: DIR's train.jsonl plus COUNT reverse and
sort examples whose words are made up: a word-start token of the T5 tokenizer that the covered
words use (DIR/tasks/cover.txt) followed by one continuation piece they use, e.g. "▁final" + "ize"
→ "finalize". The held-out words never appear as words (one that a made-up word happens to spell
is redrawn); their tokens do. valid.jsonl and cover.txt are copied; OUT/pretrain links to DIR's.

With --tokenizer static/tokenizers/gpt2.json the pieces are GPT-2's ("Ġfinal" + "ize"), and a
made-up word whose GPT-2 tokens (BPE merges again across the join) are not all tokens of the
covered words is redrawn: the GPT-2's compact vocabulary keeps exactly those.

A pure function of the inputs and --seed.
"""
import argparse
import os
import random
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
from tokenizers import Tokenizer  # noqa: E402

from extend import extend  # noqa: E402
from messages import ood_examples  # noqa: E402

PREFIX = {"reverse": "reverse words:", "sort": "sort words:"}


def is_bpe(tok: Tokenizer) -> bool:
    """GPT-2's byte-level BPE marks a word start with "Ġ" and needs the space written."""
    return tok.token_to_id("Ġthe") is not None


def written(tok: Tokenizer, word: str):
    """A word's encoding as it is written after a space in a list."""
    return tok.encode(" " + word if is_bpe(tok) else word, add_special_tokens=False)


def pieces(tok: Tokenizer, words: list) -> tuple:
    """Word-start tokens and continuation pieces the words are written with (alphabetic only)."""
    starts, rest = set(), set()
    for w in words:
        for i, t in enumerate(written(tok, w).tokens):
            text = t.lstrip("▁Ġ")
            if not text.isalpha():
                continue
            (starts if i == 0 else rest).add(text)
    return sorted(starts), sorted(rest)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--tokenizer", type=Path, default=Path("static/tokenizers/t5.json"))
    ap.add_argument("--ood", type=Path, default=Path("static/models/lab-ood.jsonl"))
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    tok = Tokenizer.from_file(str(args.tokenizer))
    cover = (args.data / "tasks" / "cover.txt").read_text().split()
    starts, rest = pieces(tok, cover)
    held_out = set()
    for ex in ood_examples(args.ood, first_messages_only=True):  # the draws of before session 19
        held_out.update(ex["input"].lower().split())
    covered = {i for w in cover for i in written(tok, w).ids} if is_bpe(tok) else None
    rng = random.Random(args.seed)

    def word():
        while True:
            w = rng.choice(starts) + (rng.choice(rest) if rng.random() < 0.5 else "")
            if w.lower() in held_out:
                continue
            if covered is None or covered.issuperset(written(tok, w).ids):
                return w

    added = []
    for i in range(args.count):
        task = "reverse" if i % 2 == 0 else "sort"
        words = [word() for _ in range(rng.randint(1, 10))]
        target = " ".join(reversed(words) if task == "reverse" else sorted(words))
        added.append({"task": task, "prefix": PREFIX[task], "input": " ".join(words),
                      "target": target})
    before = extend(args.data, args.out, added, rng)
    print(f"{len(starts)} word starts, {len(rest)} pieces; {args.count} examples added to {before}")

if __name__ == "__main__":
    main()
