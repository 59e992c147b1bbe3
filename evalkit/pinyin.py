"""Pinyin readings of Chinese characters and person-shaped pinyin names in English text.

Shared by the paragraph aligner (a name in an English line anchors it to the Chinese line whose
characters read like it: "Lei Renmin" ↔ 雷任民) and the judge's name check (``judge/names.py``).
Readings come from CC-CEDICT (every reading of every character, so 重 matches both zhong and
chong), the same dictionary the ``gloss`` baseline uses; they are loaded on first use from a small
file kept beside the dictionary index (``gloss.character_pinyin``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

# A capitalised word, possibly with pinyin apostrophes ("Zhuan'an"); runs are joined by single spaces.
_NAME_RUN = re.compile(r"(?<![\w'’.-])[A-Z][a-z]+(?:['’][a-z]+)*(?: [A-Z][a-z]+(?:['’][a-z]+)*)+(?![\w'’-])")
# English words that also spell pinyin and are capitalised at the start of a sentence.
ENGLISH_WORDS = frozenset({"He", "She", "China", "Men", "Can", "Ran", "Die", "Lie", "Tie", "Ban", "Fan", "Pan", "Dan"})
_APOSTROPHE = re.compile(r"['’]")
_POSSESSIVE = re.compile(r"['’]s$")


@functools.lru_cache(maxsize=1)
def readings() -> dict[str, frozenset[str]]:
    """Every toneless reading of every single character in CC-CEDICT (ü written both u and v)."""
    from evalkit.systems.gloss import character_pinyin

    out: dict[str, set[str]] = {}
    for word, pinyins in character_pinyin().items():
        for pinyin in pinyins:
            syllable = re.sub(r"[0-9]", "", pinyin.split()[0]).lower() if pinyin.strip() else ""
            if not syllable.isascii() and "u:" not in syllable or not syllable:
                continue
            out.setdefault(word, set()).update({syllable.replace("u:", "u"), syllable.replace("u:", "v")})
    return {ch: frozenset(s) for ch, s in out.items()}


# Readings of interjections and erhua only (呣 m, 嗯 n/ng, 哼 hng): no name is spelt with them, and
# they made non-pinyin words parse ("Nam" as na-m, so Vietnamese "Ha Nam" looked like pinyin).
_NOT_NAME_SYLLABLES = frozenset({"m", "n", "ng", "hm", "hng", "r", "ei"})


@functools.lru_cache(maxsize=1)
def syllable_set() -> frozenset[str]:
    """The valid toneless pinyin syllables of names (CC-CEDICT's readings, less interjections)."""
    return frozenset(s for readings in readings().values() for s in readings
                     if re.fullmatch(r"[a-z]+", s) and s not in _NOT_NAME_SYLLABLES)


def segmentations(word: str, strict: bool) -> list[tuple[str, ...]]:
    """Ways to read one word as pinyin syllables ("Zhuan'an" → [("zhuan", "an")]).

    ``strict``: the orthography's rule that a syllable starting with a, e or o after another one
    is preceded by an apostrophe ("Xi'an"); the loose reading also accepts "Yanan" as yan-an.
    """
    return list(_segmentations(word, strict))


# Capitalised words repeat across a corpus (names, places, sentence-initial words): their readings
# are memoised, in a bounded cache.
@functools.lru_cache(maxsize=32768)
def _segmentations(word: str, strict: bool) -> tuple[tuple[str, ...], ...]:
    valid = syllable_set()
    parts = _APOSTROPHE.split(word.lower())

    def split(text: str) -> list[tuple[str, ...]]:
        if not text:
            return [()]
        found = []
        for end in range(min(len(text), 6), 0, -1):
            head = text[:end]
            if head not in valid:
                continue
            for rest in split(text[end:]):
                if strict and rest and rest[0][0] in "aeo":
                    continue
                found.append((head, *rest))
        return found

    pieces = [split(p) for p in parts]
    if not all(pieces):
        return ()
    out: list[tuple[str, ...]] = [()]
    for options in pieces:
        out = [a + b for a in out for b in options]
    return tuple(out[:16])


def person_names(english: str) -> Iterator[tuple[str, list[tuple[str, ...]]]]:
    """Person-shaped pinyin names of an English text, each with its strict syllable readings."""
    for m in _NAME_RUN.finditer(english):
        # A possessive is English, not a syllable: "Liu Guanjie's family" names Liu Guanjie.
        words = [_POSSESSIVE.sub("", w) for w in m.group(0).split(" ")]
        # A run of capitalised words can hold English words and a name ("Premier Zhou Enlai"):
        # look for windows of three, then two, pinyin words whose first is a one-syllable surname.
        start = 0
        while start < len(words):
            for size in (3, 2):
                window = words[start:start + size]
                if len(window) == size and window[0] not in ENGLISH_WORDS and (combos := _person_readings(window)):
                    yield " ".join(window), combos
                    start += size
                    break
            else:
                start += 1


def _person_readings(window: list[str]) -> list[tuple[str, ...]]:
    readings = [segmentations(w, strict=True) for w in window]
    if not all(readings) or any(len(seg) != 1 for seg in readings[0]):
        return []
    combos: list[tuple[str, ...]] = [()]
    for options in readings:
        combos = [a + b for a in combos for b in options]
    return [c for c in combos if 2 <= len(c) <= 4]
