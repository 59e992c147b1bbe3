"""Sentence-level evidence of invented English: a reference sentence that no system output carries.

For the judge's ``addition`` flag. A translator who invents a sentence ("The meeting closed amid
warm applause…") makes the English a little longer — often too little for the length model to
notice — and adds a sentence whose words appear in no translation of the Chinese. The second
signal is measured here: each English sentence's chrF *precision* against each system's whole
output for the paragraph, that is sacrebleu's CHRF with ``beta=0`` scoring the sentence as the
hypothesis and the system output as the reference — the share of the sentence's character
n-grams found anywhere in the output. Comparing against the whole output, not its sentences,
keeps the measure independent of how each system splits or merges sentences.

A sentence-count comparison (Chinese 。！？； against English sentences) was measured too and
dropped: Chinese news prose strings clauses with commas, so the counts vary far more between
faithful paragraphs than one added sentence moves them (AUROC 0.34 on the bench).
"""

from __future__ import annotations

import functools
import re

from evalkit.judge.ngrams import NGrams, char_ngrams, match_statistics

# A sentence ends at . ! ? (and a closing quote or bracket) before a capital; not after an
# initial or a common abbreviation ("U.S. Navy", "Mr. Bate", "T.V. Soong", "No. 2").
_BOUNDARY = re.compile(r"(?<=[.!?])[\"”’)]?\s+(?=[\"“‘(]?[A-Z])")
_ABBREVIATION = re.compile(r"(?:\b[A-Z]|\b(?:Mr|Mrs|Ms|Dr|St|No|Nos|Gen|Col|Lt|Capt|Prof|Vol|vs|etc|Jr|Sr))\.[\"”’)]?$")


def english_sentences(text: str) -> list[str]:
    """The sentences of an English paragraph, in order, whitespace-trimmed."""
    out: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        piece = text[start:m.end()].rstrip()  # with the closing quote or bracket it ends on
        if _ABBREVIATION.search(piece):
            continue
        out.append(piece)
        start = m.end()
    out.append(text[start:].strip())
    return [s.strip() for s in out if s.strip()]


@functools.lru_cache(maxsize=1)
def _precision_metric():  # type: ignore[no-untyped-def]
    from sacrebleu.metrics import CHRF

    # beta=0 turns the F-score into its precision term: how much of the sentence the output holds.
    return CHRF(beta=0)


def sentence_support(sentence: str, output: str) -> float:
    """chrF precision (0–100) of ``sentence`` against a system's whole ``output`` for the paragraph."""
    if not sentence.strip() or not output.strip():
        return 0.0
    return float(_precision_metric().sentence_score(sentence, [output]).score)


def sentence_ngrams(sentences: list[str]) -> list[NGrams]:
    """Each sentence's ``ngrams.NGrams``. A blank sentence has no n-grams, and sacrebleu's
    ``_compute_f_score`` of statistics with no hypothesis n-grams is 0.0, as its support is."""
    return [char_ngrams(sentence) for sentence in sentences]


def sentence_supports_ngrams(sentences: list[NGrams], output: NGrams) -> list[float]:
    """``sentence_support`` of each sentence (``sentence_ngrams``) against an output given as its
    ``ngrams.NGrams`` (of a non-blank output).

    ``sentence_score(sentence, [output])`` re-extracts both texts' character n-grams (and re-sums
    their counts) for every sentence and system — most of the judge's time on long paragraphs.
    Here each text's are extracted once per paragraph, each sentence's match statistics are
    sacrebleu's integers (``ngrams.match_statistics``) and its score sacrebleu's
    ``_compute_f_score`` of them, so the numbers are identical.
    """
    f_score = _precision_metric()._compute_f_score
    return [float(f_score(match_statistics(grams, output))) for grams in sentences]
