"""Fitting long paragraphs into a model's input limit, with no silent truncation.

API (shared by every model backend: hf-seq2seq, hf-causal, ct2)
----------------------------------------------------------------
``split_sentences(text) -> list[str]``
    sentences of a Chinese text: after 。！？；… (and a closing quote or bracket that follows
    them) and at line breaks; nothing is lost (``"".join`` of the result is ``text`` minus
    line breaks, the whitespace at either end of each line, and whitespace-only sentences).
``chunk_text(text, count_tokens, limit) -> Chunked``
    sentences packed greedily, in order, into pieces of at most ``limit`` tokens as counted by
    ``count_tokens`` (the model's own tokenizer, counting everything the model will receive:
    special tokens, prefix or prompt). A sentence that alone exceeds the limit is split at
    clause marks (，、：,:); a clause that still exceeds it is split into consecutive pieces
    that each fit: each piece the longest prefix of the rest that fits, cut back to just after
    its last space (ASCII or full-width U+3000) or before a space that follows it, and cut
    between characters only where no space is inside it. Nothing is dropped: ``"".join`` of
    the pieces is what ``split_sentences`` keeps of ``text`` (just ``text`` when no line break
    or stray whitespace is involved). ``truncated`` is true only where that is impossible, and
    then exactly this is cut: each character that alone exceeds the limit (with the overhead
    ``count_tokens`` adds) is left out, the rest kept; if the overhead alone (``count_tokens("")``)
    exceeds the limit, nothing fits and the result is ``Chunked([""], truncated=True)``. The
    search assumes a longer prefix never counts fewer tokens; it costs O(log n) calls per piece
    on strings about as long as the piece (no call on the whole rest of a long clause).
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

SPACES = " \u3000"

# version 2: an over-long clause is split at spaces, then characters, instead of cut to the limit.
CHUNKING_POLICY = {"version": 2, "sentence_end": SENTENCE_END, "closers": CLOSERS, "clause_end": CLAUSE_END,
                   "spaces": SPACES}

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


def _longest_fit(text: str, count_tokens: Callable[[str], int], limit: int) -> int:
    """Length of the longest prefix of ``text`` that fits (0: not even one character).

    Galloping from ``limit`` characters, then a binary search: O(log n) calls on prefixes at most
    about twice as long as the answer."""
    lo, hi = 0, len(text)  # the prefix of length lo fits (or lo == 0); none longer than hi does
    probe = min(limit, hi)
    while probe > lo:
        if count_tokens(text[:probe]) > limit:
            hi = probe - 1
            break
        lo = probe
        probe = min(2 * probe, hi)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count_tokens(text[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _at_space(text: str, n: int) -> int:
    """Where to cut ``text``, whose first ``n`` characters fit: before a space at ``n``, else just
    after the last space inside (past any leading spaces), else at ``n`` itself (a character cut)."""
    start = len(text) - len(text.lstrip(SPACES))
    if n > start and text[n] in SPACES:
        return n
    last = max(text.rfind(c, start, n) for c in SPACES)
    return last + 1 if last >= start else n


def _split_to_fit(clause: str, count_tokens: Callable[[str], int], limit: int) -> tuple[list[str], bool]:
    """Consecutive pieces of ``clause`` that each fit, and whether a character had to be left out."""
    pieces: list[str] = []
    dropped = False
    rest = clause
    while rest:
        n = _longest_fit(rest, count_tokens, limit)
        if n == 0:  # this character alone is over the limit: the only thing ever left out
            dropped = True
            rest = rest[1:]
            continue
        if n < len(rest):
            n = _at_space(rest, n)
        pieces.append(rest[:n])
        rest = rest[n:]
    return pieces, dropped


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
    if count_tokens("") > limit:
        return Chunked([""], truncated=True)  # the prompt or special tokens alone are over the limit
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
                parts, dropped = _split_to_fit(clause, count_tokens, limit)
                units.extend(parts)
                truncated |= dropped
    pieces = _pack(units, count_tokens, limit)
    return Chunked(pieces or [""], truncated)


def join_pieces(hyps: list[str]) -> str:
    return " ".join(h.strip() for h in hyps if h and h.strip())
