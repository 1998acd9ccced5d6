#!/usr/bin/env python3
"""Token statistics of the built data with the repo's real tokenizers (run by `fetch.sh --check`).

    python token_stats.py --data DIR --tokenizers static/tokenizers

Needs the `tokenizers` package (fetch.sh installs it into $LAB_DATA/venv). Prints a table and
writes DIR/token_stats.json. Lengths count no special tokens (T5's post-processor would append
</s>; GPT-2 adds nothing), so add one for an end-of-sequence token.

Conventions measured (the ones a trainer is expected to use):
  source  = prefix + " " + input                (T5 encoder input; GPT-2 prompt)
  target  = target (T5), " " + target (GPT-2: the target follows the prompt after a space)
Also checked: the spam labels have distinct FIRST tokens in both tokenizers.
"""
import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("RAYON_RS_NUM_CPUS", "1")  # stay on one core
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
from tokenizers import Tokenizer  # noqa: E402


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else 0


def summary(xs):
    return {"max": max(xs), "p95": pct(xs, 0.95), "mean": round(sum(xs) / len(xs), 2)}


def lengths(tok, texts):
    return [len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--tokenizers", required=True, type=Path)
    args = ap.parse_args()
    toks = {name: Tokenizer.from_file(str(args.tokenizers / f"{name}.json")) for name in ("t5", "gpt2")}
    rows = {part: [json.loads(line) for line in open(args.data / "tasks" / f"{part}.jsonl", encoding="utf-8")]
            for part in ("train", "valid")}
    tasks = list(dict.fromkeys(r["task"] for r in rows["valid"]))
    out = {"convention": __doc__.split("Conventions measured")[1].split("Also checked")[0].strip(),
           "tasks": {}, "pretrain": {}, "spam_labels": {}, "unk": {}}

    used = {name: set() for name in toks}
    used_tasks = {name: set() for name in toks}
    for name, tok in toks.items():
        tsp = " " if name == "gpt2" else ""
        for task in tasks:
            sel = [r for part in ("train", "valid") for r in rows[part] if r["task"] == task]
            src = [r["prefix"] + " " + r["input"] for r in sel]
            tgt = [tsp + r["target"] for r in sel]
            es = tok.encode_batch(src, add_special_tokens=False)
            et = tok.encode_batch(tgt, add_special_tokens=False)
            ids = set()
            for e in es + et:
                ids.update(e.ids)
            used[name].update(ids)
            used_tasks[name].update(ids)
            out["tasks"].setdefault(task, {})[name] = {
                "source": summary([len(e.ids) for e in es]), "target": summary([len(e.ids) for e in et]),
                "distinct_ids": len(ids)}
        total = 0
        for part in ("train", "valid"):
            lines = (args.data / "pretrain" / f"{part}.txt").read_text(encoding="utf-8").splitlines()
            enc = tok.encode_batch(lines, add_special_tokens=False)
            n = [len(e.ids) for e in enc]
            if part == "train":
                for e in enc:
                    used[name].update(e.ids)
            out["pretrain"].setdefault(name, {})[part] = dict(summary(n), tokens=sum(n), lines=len(n))
            if name == "t5":
                out["unk"][part] = sum(e.ids.count(2) for e in enc)
                total += sum(n)
        out["pretrain"][name]["distinct_ids_used_by_train_text_and_tasks"] = len(used[name])
        out["pretrain"][name]["distinct_ids_used_by_tasks"] = len(used_tasks[name])
    labels = {"t5": ("spam", "ham"), "gpt2": (" spam", " ham")}
    for name, tok in toks.items():
        firsts = {}
        for lab in labels[name]:
            e = tok.encode(lab, add_special_tokens=False)
            firsts[lab] = {"ids": e.ids, "tokens": e.tokens}
        a, b = (firsts[lab]["ids"][0] for lab in labels[name])
        assert a != b, f"{name}: spam/ham labels share their first token"
        out["spam_labels"][name] = firsts
    (args.data / "token_stats.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    print("token lengths (no special tokens): source = prefix + ' ' + input; max / p95 / mean")
    print(f"  {'task':11s} {'t5 source':>16s} {'t5 target':>16s} {'gpt2 source':>16s} {'gpt2 target':>16s}")
    for task in tasks:
        cells = []
        for name in ("t5", "gpt2"):
            for k in ("source", "target"):
                s = out["tasks"][task][name][k]
                cells.append(f"{s['max']:>4} / {s['p95']:>3} / {s['mean']:>5.1f}")
        print(f"  {task:11s} " + " ".join(f"{c:>16s}" for c in cells))
    print("  distinct token ids per task (train + valid, source + target): " + "; ".join(
        f"{t} {out['tasks'][t]['t5']['distinct_ids']:,} / {out['tasks'][t]['gpt2']['distinct_ids']:,}"
        for t in tasks) + " (t5 / gpt2)")
    for name in ("t5", "gpt2"):
        p = out["pretrain"][name]
        print(f"  pretrain {name}: train {p['train']['tokens']:,} tokens (line max {p['train']['max']}, "
              f"p95 {p['train']['p95']}), valid {p['valid']['tokens']:,}; distinct ids used by train "
              f"text + tasks: {p['distinct_ids_used_by_train_text_and_tasks']:,} (tasks alone: "
              f"{p['distinct_ids_used_by_tasks']:,})")
    print(f"  t5 <unk> in pretrain text: train {out['unk']['train']}, valid {out['unk']['valid']}")
    for name, f in out["spam_labels"].items():
        print(f"  {name} labels: " + ", ".join(f"{lab!r} -> {v['tokens']} {v['ids']}" for lab, v in f.items()))


if __name__ == "__main__":
    main()
