"""The spam-or-ham examples from the SpamAssassin emails (build.py): parsing, inputs, splits.

The rules are documented in docs/data.md and in the data manifest's "rules" (build.py).
"""
import collections
import email
import email.header
import email.policy
import html.parser
import random
import re
import tarfile
from pathlib import Path

from sotu_text import clean_text, cut, split_sentences

SPAM_PREFIX = "spam or ham:"
SPAM_SHORT_WORDS = 16     # a short message: a subject alone, or a body's first sentence
SPAM_VALID_FRACTION = 0.10
SPAM_BODY_WORDS = 30
SPAM_SUBJECT_WORDS = 12
SPAM_MAX_WORD_CHARS = 24
SPAM_MAX_CHARS = 150      # the whole input is cut (at a word boundary) to at most this many characters



class _TextOnly(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head", "title"):
            self.skip += 1
        elif tag in ("br", "p", "div", "tr", "td", "li", "table", "h1", "h2", "h3"):
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head", "title") and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def html_to_text(s: str) -> str:
    p = _TextOnly()
    try:
        p.feed(s)
        p.close()
    except Exception:  # malformed markup: keep what was parsed
        pass
    return " ".join(p.parts)


def decode_part(part) -> str:
    raw = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "latin-1"
    try:
        return raw.decode(charset, errors="replace")
    except LookupError:
        return raw.decode("latin-1", errors="replace")


def email_subject(msg) -> str:
    raw = msg.get("Subject", "") or ""
    try:
        s = str(email.header.make_header(email.header.decode_header(raw)))
    except Exception:
        s = str(raw)
    return s


def email_body(msg) -> str:
    plain = html = None
    for part in msg.walk():
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        if part.get("Content-Disposition", "").lower().startswith("attachment"):
            continue
        t = part.get_content_subtype()
        if t == "plain" and plain is None:
            plain = decode_part(part)
        elif t == "html" and html is None:
            html = decode_part(part)
    if plain is not None and plain.strip():
        text = plain
    elif html is not None:
        text = html_to_text(html)
    else:
        text = plain or ""
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith((">", "|"))]
    return "\n".join(lines)


def clean_words(s: str, max_words: int) -> str:
    words = [w for w in clean_text(s).split() if len(w) <= SPAM_MAX_WORD_CHARS]
    return " ".join(words[:max_words])


def short_messages(subject: str, body: str) -> list:
    """The subject alone and the body's first sentence alone, each 2-SPAM_SHORT_WORDS words, ASCII."""
    first = split_sentences(body)[0] if body else ""
    return [m for m in (subject, first)
            if m.isascii() and 2 <= len(m.split()) <= SPAM_SHORT_WORDS]


def read_spam(path: Path) -> list:
    """[(group/file, label, input, short messages)] for every email, in member-name order."""
    out = []
    with tarfile.open(path) as tf:
        members = sorted((m for m in tf.getmembers()
                          if m.isfile() and re.fullmatch(r"package/data/[a-z0-9-]+/[0-9]+\.[0-9a-f]+\.txt", m.name)),
                         key=lambda m: m.name)
        for m in members:
            group = m.name.split("/")[2]
            label = "spam" if group.startswith("spam") else "ham"
            msg = email.message_from_bytes(tf.extractfile(m).read(), policy=email.policy.compat32)
            subject = clean_words(email_subject(msg), SPAM_SUBJECT_WORDS)
            body = clean_words(email_body(msg), SPAM_BODY_WORDS)
            text = cut(f"{subject} | {body}" if subject else body, SPAM_MAX_CHARS).strip()
            if not text.isascii():
                text = None  # another script or a mis-decoded charset: counted and dropped
            shorts = short_messages(subject, clean_words(email_body(msg), SPAM_BODY_WORDS))
            out.append((m.name[len("package/data/"):], label, text, shorts))
    assert len(out) == 6046, f"expected 6046 emails, found {len(out)}"
    return out


def make_spam(emails: list, seed: int) -> tuple:
    rng = random.Random(f"{seed}:spam")
    labels = collections.defaultdict(list)
    first = {}
    for name, label, text, _ in emails:
        if text is None:
            continue
        if not text:
            continue
        labels[text].append(label)
        first.setdefault(text, name)
    stats = {"emails": len(emails), "non_ascii_dropped": sum(1 for e in emails if e[2] is None),
             "empty": sum(1 for e in emails if e[2] == ""),
             "duplicates_removed": 0, "conflicting_dropped": 0}
    by_class = {"spam": [], "ham": []}
    for text, ls in labels.items():
        stats["duplicates_removed"] += len(ls) - 1
        if len(set(ls)) > 1:
            stats["conflicting_dropped"] += 1
            continue
        by_class[ls[0]].append((first[text], text))
    split = {}
    for c in ("spam", "ham"):
        items = sorted(by_class[c])
        rng.shuffle(items)
        nv = round(len(items) * SPAM_VALID_FRACTION)
        split[c] = {"valid": items[:nv], "train": items[nv:]}
        stats[f"{c}_unique"] = len(items)
    out = {}
    for part in ("train", "valid"):
        n = len(split["spam"][part])
        ham = split["ham"][part]
        stats[f"ham_unused_{part}"] = len(ham) - n
        ham = ham[:n]  # already shuffled: a uniform subsample
        out[part] = [{"task": "spam", "prefix": SPAM_PREFIX, "input": t, "target": c}
                     for c, items in (("spam", split["spam"][part]), ("ham", ham)) for _, t in items]
        rng.shuffle(out[part])
    # Short messages from the train emails only (both classes, before ham is subsampled: the
    # shorts are a separate source), unless the same text is in valid or has both labels.
    valid_inputs = {r["input"] for r in out["valid"]}
    train_names = {name for c in ("spam", "ham") for name, _ in split[c]["train"]}
    short_labels = collections.defaultdict(set)
    for name, label, text, shorts in emails:
        if name in train_names:
            for m in shorts:
                short_labels[m].add(label)
    shorts = sorted(m for m, ls in short_labels.items() if len(ls) == 1 and m not in valid_inputs)
    short_rows = {"spam": [], "ham": []}
    for m in shorts:
        (label,) = short_labels[m]
        short_rows[label].append(m)
    n = min(len(short_rows["spam"]), len(short_rows["ham"]))
    stats["short_messages"] = {c: len(v) for c, v in short_rows.items()}
    stats["short_messages_kept_each"] = n
    extra = []
    for c in ("spam", "ham"):
        rng.shuffle(short_rows[c])
        extra += [{"task": "spam", "prefix": SPAM_PREFIX, "input": m, "target": c}
                  for m in short_rows[c][:n]]
    known = {r["input"] for r in out["train"]}
    out["train"] += [r for r in extra if r["input"] not in known]
    rng.shuffle(out["train"])
    tr = {r["input"] for r in out["train"]}
    assert not any(r["input"] in tr for r in out["valid"])
    return out["train"], out["valid"], stats
