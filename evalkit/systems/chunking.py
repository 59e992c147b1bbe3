"""Fitting long paragraphs into a model's input limit, with no silent truncation.

API (shared by every model backend: hf-seq2seq, hf-causal, ct2)
----------------------------------------------------------------
``split_sentences(text) -> list[str]``
    sentences of a Chinese text: after 。！？；… (and a closing quote or bracket that follows
    them) and at line breaks; nothing is lost (``"".join`` of the result is ``text`` minus
    line breaks).
``chunk_text(text, count_tokens, limit) -> Chunked``
    sentences packed greedily, in order, into pieces of at most ``limit`` tokens as counted by
    ``count_tokens`` (the model's own tokenizer, counting everything the model will receive:
    special tokens, prefix or prompt). A sentence that alone exceeds the limit is split at
    clause marks (，、：); a clause that still exceeds it is cut to the limit and the result is
    flagged ``truncated``.
``join_pieces(hyps) -> str``
    translations of the pieces joined back into one paragraph.
``CHUNKING_POLICY``
    a dict describing the policy; backends put it in their fingerprint so that a change to the
    rules invalidates cached translations.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

SENTENCE_END = "。！？；…!?;"
CLOSERS = "”’」』）》)\"'"
CLAUSE_END = "，、：,:"

CHUNKING_POLICY = {"version": 1, "sentence_end": SENTENCE_END, "closers": CLOSERS, "clause_end": CLAUSE_END}

_SENTENCE = re.compile(rf"[^{re.escape(SENTENCE_END)}]*[{re.escape(SENTENCE_END)}]+[{re.escape(CLOSERS)}]*|[^{re.escape(SENTENCE_END)}]+$")
_CLAUSE = re.compile(rf"[^{re.escape(CLAUSE_END)}]*[{re.escape(CLAUSE_END)}]+[{re.escape(CLOSERS)}]*|[^{re.escape(CLAUSE_END)}]+$")


@dataclass(frozen=True, slots=True)
class Chunked:
    pieces: list[str]
    truncated: bool = False


def _split(pattern: re.Pattern[str], text: str) -> list[str]:
    return [m.group(0) for m in pattern.finditer(text) if m.group(0).strip()]


def split_sentences(text: str) -> list[str]:
    """Sentences, in order; line breaks are hard boundaries."""
    out: list[str] = []
    for line in text.split("\n"):
        if line.strip():
            out.extend(_split(_SENTENCE, line.strip()))
    return out


def _cut(text: str, count_tokens: Callable[[str], int], limit: int) -> str:
    """The longest prefix of ``text`` that fits (binary search on characters)."""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count_tokens(text[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo]


def _pack(units: list[str], count_tokens: Callable[[str], int], limit: int) -> list[str]:
    pieces: list[str] = []
    current = ""
    for unit in units:
        candidate = current + unit
        if current and count_tokens(candidate) > limit:
            pieces.append(current)
            current = unit
        else:
            current = candidate
    if current:
        pieces.append(current)
    return pieces


def chunk_text(text: str, count_tokens: Callable[[str], int], limit: int) -> Chunked:
    """Split ``text`` into pieces of at most ``limit`` tokens (see the module docstring)."""
    if limit < 1:
        raise ValueError(f"input limit must be positive, got {limit}")
    if "\n" not in text and count_tokens(text) <= limit:
        return Chunked([text])  # the common case: one call to the tokenizer
    truncated = False
    units: list[str] = []
    for sentence in split_sentences(text):
        if count_tokens(sentence) <= limit:
            units.append(sentence)
            continue
        for clause in _split(_CLAUSE, sentence):
            if count_tokens(clause) <= limit:
                units.append(clause)
            else:
                cut = _cut(clause, count_tokens, limit)
                truncated = True
                if cut:
                    units.append(cut)
    pieces = _pack(units, count_tokens, limit)
    return Chunked(pieces or [""], truncated)


def join_pieces(hyps: list[str]) -> str:
    return " ".join(h.strip() for h in hyps if h and h.strip())
