"""The State of the Union text as the lab reads it: cleaning, sentences, paragraphs (build.py).

The rules are documented in docs/data.md and in the data manifest's "rules" (build.py).
"""
import json
import re
import tarfile
import unicodedata
from pathlib import Path

PARA_MIN_CHARS = 400      # sentences are joined into a paragraph until it is at least this long
LINE_MIN_CHARS = 80       # shorter paragraphs (the tail of an address) are dropped
LINE_MIN_WORDS = 12


CHAR_MAP = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "`": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2212": "-",
    "\u2014": " - ", "\u2015": " - ",
    "\u2022": " ", "\u00a0": " ", "\u200b": "", "\ufeff": "", "\u00ad": "",
}
CHAR_TABLE = str.maketrans(CHAR_MAP)
NOTE_RE = re.compile(r"\[(?:laughter|applause|missing text|p\.\s?\d+|\d+)\]", re.IGNORECASE)


def clean_text(s: str) -> str:
    s = unicodedata.normalize("NFKC", s).translate(CHAR_TABLE)
    s = "".join(ch for ch in unicodedata.normalize("NFKD", s) if not unicodedata.combining(ch))
    s = unicodedata.normalize("NFC", s)
    s = "".join(ch if (ch.isprintable() or ch in "\t\n") else " " for ch in s)
    s = NOTE_RE.sub(" ", s)
    s = s.replace("[", "").replace("]", "")
    s = re.sub(r"_{2,}", " ", s)
    return re.sub(r"\s+", " ", s).strip()


ABBREV = {
    "mr", "mrs", "ms", "dr", "st", "gen", "hon", "messrs", "no", "nos", "jr", "sr", "rev", "gov",
    "col", "capt", "lt", "sen", "rep", "vs", "etc", "jan", "feb", "mar", "apr", "aug", "sept",
    "sep", "oct", "nov", "dec", "ft", "art", "sec", "vol", "co", "inc", "esq", "adm", "maj", "u.s",
    "e.g", "i.e", "u.n", "d.c", "p.m", "a.m",
}
SENT_END_RE = re.compile(r"[.!?][\"')]*\s+(?=[\"'(]?[A-Z0-9])")


def split_sentences(text: str) -> list:
    out, start = [], 0
    for m in SENT_END_RE.finditer(text):
        end = m.start() + 1
        if text[m.start()] == ".":
            before = text[start:m.start()].rsplit(" ", 1)[-1].lower().lstrip("\"'(")
            if before in ABBREV or (len(before) == 1 and before.isalpha()):
                continue  # "Mr. Speaker", "John F. Kennedy"
        out.append(text[start:m.end()].strip())
        start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def paragraphs(sentences: list) -> list:
    out, cur = [], []
    for s in sentences:
        cur.append(s)
        if sum(len(x) + 1 for x in cur) - 1 >= PARA_MIN_CHARS:
            out.append(" ".join(cur))
            cur = []
    if cur:
        out.append(" ".join(cur))
    return [p for p in out if len(p) >= LINE_MIN_CHARS and len(p.split()) >= LINE_MIN_WORDS]


def cut(s: str, n: int) -> str:
    if len(s) <= n:
        return s
    s = s[:n + 1]
    return s[:s.rindex(" ")] if " " in s else s[:n]


def read_sotu(path: Path) -> list:
    """[(file name, json object)] for every data/*.json address, in file-name order."""
    out = []
    with tarfile.open(path) as tf:
        for m in tf.getmembers():
            if m.isfile() and re.fullmatch(r"package/data/\d{4}_[a-z_]+\.json", m.name):
                out.append((m.name.split("/")[-1], json.loads(tf.extractfile(m).read().decode("utf-8"))))
    out.sort(key=lambda x: x[0])
    assert len(out) == 233, f"expected 233 addresses, found {len(out)}"
    return out
