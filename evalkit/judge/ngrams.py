"""sacrebleu's chrF statistics, computed the judge's way: each text's n-grams extracted once.

The judge scores many short texts against the same long one (every English sentence against
each system's output; every pair of outputs both ways). sacrebleu's public calls re-extract
the longer text's character n-grams, and re-sum its n-gram counts, for every comparison; here
each text becomes one ``NGrams`` (its ``Counter`` per order, as ``extract_all_char_ngrams``
builds them, and their totals) and ``match_statistics`` returns exactly the integers of
``CHRF._get_match_statistics`` per order. The score is then sacrebleu's own
``_compute_f_score`` of those integers, so every number equals a direct
``CHRF(...).sentence_score`` call (tests/test_judge.py checks it).

Only the character-level chrF the judge uses: ``word_order`` 0, whitespace removed, no
lowercasing (sacrebleu's ``CHRF()`` and ``CHRF(beta=0)`` defaults).
"""

from __future__ import annotations

from collections import Counter
from operator import add
from typing import NamedTuple

CHAR_ORDER = 6  # sacrebleu's CHRF.CHAR_ORDER default


class NGrams(NamedTuple):
    """A text's character n-grams, orders 1..CHAR_ORDER: counts and total count per order."""

    counts: list[Counter[str]]
    totals: list[int]


def char_ngrams(text: str) -> NGrams:
    """``helpers.extract_all_char_ngrams(text, CHAR_ORDER)`` (whitespace removed) and the totals.

    The order-n grams are built from the order-(n-1) ones by appending one character (C-level
    ``map``), rather than by slicing the line once per position and order.
    """
    line = "".join(text.split())
    counts: list[Counter[str]] = []
    totals: list[int] = []
    grams: list[str] = list(line)
    for n in range(1, CHAR_ORDER + 1):
        if n > 1:
            grams = list(map(add, grams[:-1], line[n - 1:]))
        counts.append(Counter(grams))
        totals.append(len(grams))
    return NGrams(counts, totals)


def match_statistics(hyp: NGrams, ref: NGrams) -> list[int]:
    """``CHRF._compute_segment_statistics`` of ``hyp`` against the single reference ``ref``:
    per order, [hypothesis n-grams (0 when the reference has none), reference n-grams, matches]."""
    stats: list[int] = []
    for h, r, h_total, r_total in zip(hyp.counts, ref.counts, hyp.totals, ref.totals):
        match = 0
        # Only n-grams both sides have can match: intersect the key views (C-level) first.
        for gram in h.keys() & r.keys():
            a, b = h[gram], r[gram]
            match += a if a < b else b  # noqa: FURB136 (min() is a call: slower in this loop)
        stats += (h_total if r_total else 0, r_total, match)
    return stats
