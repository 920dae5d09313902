"""Item identity across versions of a prose handoff: the same "next step", reworded a little, is the same item.

Items have no ids in prose. Two consecutive versions are matched per tier in two passes:

1. exact: items whose normalised text is identical keep their id (a dictionary lookup: linear in the items);
2. fuzzy: the items left on both sides are scored with rapidfuzz and paired greedily by descending score at or
   above `THRESHOLD`. The score is `token_sort_ratio` (reworded, reordered), raised to `token_set_ratio` when both
   texts have at least `SET_MIN_WORDS` words — so an item that grew a tail ("github repo public" -> "github repo
   public — decide timing before or after blog") is the same item, while two-word items need a close rewording. When the remainder is large, only pairs that share an
   informative word (blocking on an inverted index) are scored, so the work stays sub-quadratic in the number of
   items per version.

`THRESHOLD` was chosen on the real histories in ../shared/examples/histories (SESSION_HANDOFF.md, NEXT_SESSION.md,
STATE.md, session-handoff.json): see `docs/prose-identity.md` for the score distribution of best pairs and the pairs
either side of the cut. `explain(a, b)` shows why two texts match or not.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
from rapidfuzz import fuzz, process

THRESHOLD = 85.0
NEAR = 8.0            # a fuzzy match scoring below THRESHOLD + NEAR is "near the threshold" (reported)
SET_MIN_WORDS = 3
_DENSE_PAIRS = 4096   # remainders up to this many pairs are scored in one cdist call; beyond, blocked
SCORER_NAME = f"max(token_sort_ratio, token_set_ratio if both have >= {SET_MIN_WORDS} words)"


def score(a: str, b: str) -> float:
    """The similarity of two normalised texts, 0-100 (see the module doc)."""
    value = fuzz.token_sort_ratio(a, b)
    if len(a.split()) >= SET_MIN_WORDS and len(b.split()) >= SET_MIN_WORDS:
        value = max(value, fuzz.token_set_ratio(a, b))
    return float(value)


def _matrix(prev: Sequence[str], cur: Sequence[str]) -> np.ndarray:
    """`score` for every pair, vectorised: two rapidfuzz cdist calls, the set ratio masked where a side is short."""
    sort = process.cdist(prev, cur, scorer=fuzz.token_sort_ratio, workers=1)
    sets = process.cdist(prev, cur, scorer=fuzz.token_set_ratio, workers=1)
    long_p = np.array([len(t.split()) >= SET_MIN_WORDS for t in prev])[:, None]
    long_c = np.array([len(t.split()) >= SET_MIN_WORDS for t in cur])[None, :]
    return np.where(long_p & long_c, np.maximum(sort, sets), sort)

_NUMBERING = re.compile(r"^\s*(?:\d+[.)]|[-*+•])\s+")
_NOT_WORD = re.compile(r"[\W_]+")


@lru_cache(maxsize=1 << 16)
def normal_text(text: str) -> str:
    """Case-folded words: markup, list numbering, checkbox and punctuation removed; CJK characters kept. (Cached:
    consecutive versions repeat most of their items.)"""
    text = unicodedata.normalize("NFKC", text or "")
    text = _NUMBERING.sub("", text)
    return " ".join(_NOT_WORD.sub(" ", text).casefold().split())


@dataclass(frozen=True, slots=True)
class Match:
    previous: int     # index in the previous version's list
    current: int      # index in the current version's list
    score: float      # 100 for an exact match
    how: str          # exact | fuzzy


def _blocked_pairs(prev: Sequence[str], cur: Sequence[str]) -> list[tuple[int, int]]:
    """Candidate pairs sharing at least one informative word (one that few previous items contain)."""
    index: dict[str, list[int]] = defaultdict(list)
    for i, text in enumerate(prev):
        for word in set(text.split()):
            index[word].append(i)
    limit = max(8, int(len(prev) ** 0.5))
    pairs: set[tuple[int, int]] = set()
    for j, text in enumerate(cur):
        for word in set(text.split()):
            hits = index.get(word)
            if hits and len(hits) <= limit and (len(word) > 2 or not word.isascii()):
                pairs.update((i, j) for i in hits)
    return sorted(pairs)


def match(prev: Sequence[str], cur: Sequence[str], threshold: float = THRESHOLD) -> list[Match]:
    """One-to-one matches between two versions' normalised item texts (see the module doc)."""
    out: list[Match] = []
    waiting: dict[str, list[int]] = defaultdict(list)
    for i, text in enumerate(prev):
        waiting[text].append(i)
    left_cur: list[int] = []
    for j, text in enumerate(cur):
        queue = waiting.get(text)
        if queue:
            out.append(Match(queue.pop(0), j, 100.0, "exact"))
        else:
            left_cur.append(j)
    left_prev = sorted(i for queue in waiting.values() for i in queue)
    if not left_prev or not left_cur:
        return out
    p_texts = [prev[i] for i in left_prev]
    c_texts = [cur[j] for j in left_cur]
    scored: list[tuple[float, int, int]] = []
    if len(p_texts) * len(c_texts) <= _DENSE_PAIRS:
        matrix = _matrix(p_texts, c_texts)
        for a, b in zip(*np.nonzero(matrix >= threshold)):
            scored.append((float(matrix[a, b]), int(a), int(b)))
    else:
        for a, b in _blocked_pairs(p_texts, c_texts):
            value = score(p_texts[a], c_texts[b])
            if value >= threshold:
                scored.append((value, a, b))
    scored.sort(key=lambda t: (-t[0], t[1], t[2]))
    used_p: set[int] = set()
    used_c: set[int] = set()
    for value, a, b in scored:
        if a in used_p or b in used_c:
            continue
        used_p.add(a)
        used_c.add(b)
        out.append(Match(left_prev[a], left_cur[b], value, "fuzzy"))
    return out


def explain(a: str, b: str, threshold: float = THRESHOLD) -> dict[str, object]:
    """Why two item texts are (not) the same item: the normalised texts, the scores, the threshold, the verdict."""
    na, nb = normal_text(a), normal_text(b)
    value = 100.0 if na == nb else score(na, nb)
    return {
        "a": na, "b": nb, "scorer": SCORER_NAME, "score": round(value, 1), "threshold": threshold,
        "same_item": value >= threshold, "how": "exact" if na == nb else "fuzzy",
        "near_threshold": is_near(value, threshold) if na != nb else False,
        "parts": {"token_sort_ratio": round(float(fuzz.token_sort_ratio(na, nb)), 1),
                  "token_set_ratio": round(float(fuzz.token_set_ratio(na, nb)), 1),
                  "words": [len(na.split()), len(nb.split())]},
    }


def is_near(value: float, threshold: float = THRESHOLD) -> bool:
    """A fuzzy score close enough to the cut that a small change of threshold would flip the verdict."""
    return threshold - NEAR <= value < threshold + NEAR


__all__ = ["Match", "NEAR", "THRESHOLD", "explain", "is_near", "match", "normal_text", "score"]
