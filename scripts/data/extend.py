"""A data dir that extends another one's training examples (token_words.py, messages.py).

OUT/tasks gets DIR's train.jsonl plus the new rows, shuffled by the caller's generator;
valid.jsonl, cover.txt and words.txt are copied, and OUT/pretrain links to DIR's pretraining text.
"""
import json
import random
import shutil
from pathlib import Path


def extend(data: Path, out: Path, added: list, rng: random.Random) -> int:
    """Writes OUT from DATA plus `added` (dicts); returns how many examples DATA had."""
    (out / "tasks").mkdir(parents=True, exist_ok=True)
    pretrain = out / "pretrain"
    if not pretrain.exists():
        pretrain.symlink_to((data / "pretrain").resolve())
    for name in ("valid.jsonl", "cover.txt", "words.txt"):
        shutil.copyfile(data / "tasks" / name, out / "tasks" / name)
    rows = (data / "tasks" / "train.jsonl").read_text().splitlines()
    before = len(rows)
    rows += [json.dumps(row) for row in added]
    rng.shuffle(rows)
    (out / "tasks" / "train.jsonl").write_text("\n".join(rows) + "\n")
    return before
