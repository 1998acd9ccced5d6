#!/usr/bin/env python3
"""Out-of-distribution word lists split by whether the model's data ever made it copy their words.

    train eval --model DIR --data OOD_WORDS --ppl-tokens 0 --samples 100 > answers.json
    python ood_exposure.py --data DIR --answers answers.json

OOD_WORDS is a data folder whose tasks/valid.jsonl holds the "common-words" lines of
static/models/lab-ood.jsonl. A word is "copied" when some reverse or sort input of
DIR/tasks/train.jsonl holds it (a word list, an address clause or a made-up word). For each task
this prints exact matches among the lists with a word never copied and among the rest.
"""
import argparse
import json
from pathlib import Path


def copied_words(train: Path) -> set:
    words = set()
    with open(train) as f:
        for line in f:
            ex = json.loads(line)
            if ex["task"] in ("reverse", "sort"):
                words.update(ex["input"].split())
    return words


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="the data folder the model trained on")
    ap.add_argument("--answers", type=Path, required=True, help="train eval's report, with samples")
    args = ap.parse_args()
    copied = copied_words(args.data / "tasks" / "train.jsonl")
    report = json.loads(args.answers.read_text())
    for task, scores in report["tasks"].items():
        assert len(scores["samples"]) == scores["examples"], "run train eval with --samples 100"
        counts = {"a word never copied": [0, 0], "every word copied": [0, 0]}
        for prompt, target, answer in scores["samples"]:
            words = prompt.split(":", 1)[1].replace("=>", "").split()
            key = "every word copied" if copied.issuperset(words) else "a word never copied"
            counts[key][0] += answer.strip() == target.strip()
            counts[key][1] += 1
        print(task, ", ".join(f"{k}: {right} / {n}" for k, (right, n) in counts.items()))


if __name__ == "__main__":
    main()
