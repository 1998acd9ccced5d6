"""Common English words for the word tasks, and the share of them held out for the OOD set.

Comes from `wordfreq` (PyPI; code Apache-2.0, word-frequency data CC-BY-SA 4.0). The lists made
from it are shared under CC-BY-SA 4.0. Pinned in scripts/data/fetch.sh.

- `common(n)`: wordfreq's n most common English words, most common first, keeping only lowercase
  a-z words, no single letters but "a" and "i" (the others are pieces of contractions: s, t, d, m),
  and nothing from CLASSROOM_BLOCKLIST.
- `held_out(words)`: the words that no training word list uses, so the OOD word lists are made of
  words a model never had to copy in a list (build.py --clean-held-out keeps them out of the
  address clauses and blank answers too; the shipped models' data had them there). A word is
  held out when it is among the first HELD_OUT_TOP common words but not the first ALWAYS_TRAINED
  (function words and everyday words such as "the", "on" stay trained; so do the words of
  ood.SENTENCES, which test sentence shape, not unseen words), and a hash of it with the seed
  falls in one fifth of the range. A pure function of the word: no random state, so build.py and
  ood.py agree.
"""
import hashlib
import re

WORDFREQ_VERSION = "3.1.1"
COMMON_TOP = 6000  # the word tasks draw from wordfreq's 6,000 most common English words
HELD_OUT_TOP = 3000
ALWAYS_TRAINED = 300
HELD_OUT_SEED = "2026:held-out-word"

# Left out of a list a class will see projected: swearing, sex, violence, religion, identity.
CLASSROOM_BLOCKLIST = set("""
shit fuck fucking fucked sex sexy sexual hell damn ass bitch dick gay porn nude naked penis pussy cock
boobs crap bullshit murder kill killed killing dead death gun guns stupid dumb hate god lord jesus christ
church muslim jewish drug drugs weed rape racist
""".split())


def common(n: int) -> list:
    from importlib.metadata import version

    import wordfreq

    if version("wordfreq") != WORDFREQ_VERSION:
        raise SystemExit(f"wordfreq {WORDFREQ_VERSION} is needed (scripts/data/fetch.sh installs it)")
    return [w for w in wordfreq.top_n_list("en", n)
            if re.fullmatch(r"[a-z]+", w) and w not in CLASSROOM_BLOCKLIST
            and (len(w) > 1 or w in ("a", "i"))]


def held_out(words: list, keep: set) -> set:
    top = words[:HELD_OUT_TOP]
    return {w for i, w in enumerate(top) if i >= ALWAYS_TRAINED and w not in keep
            and hashlib.sha256(f"{HELD_OUT_SEED}:{w}".encode()).digest()[0] % 5 == 0}
