"""Anchors that survive translation, extracted per body line for the paragraph aligner.

A Chinese line and its English translation share things a length ratio cannot see: number
values (八月一日 ↔ August 1, 三十 ↔ 30, 一九五○年 ↔ 1950), Latin-script tokens, terms of the
document's Named Entities glossary, bullets and list markers (▲, △, （一） ↔ (1)), brackets and
quotation marks, and Xinhua datelines. Each is reduced to a small set or count per line so that
the aligner can combine lines of a merged bead cheaply (set union, count sum).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# ----------------------------------------------------------------------------- Chinese numerals

_ZH_DIGIT = {"〇": 0, "○": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
             "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_UNIT = {"十": 10, "百": 100, "千": 1000}
_ZH_BIG = {"万": 10_000, "亿": 100_000_000}
_ZH_TENS = {"廿": 20, "卅": 30}
_COUNTERS = frozenset("月日年时号点分岁次倍")
_ZH_NUM_RUN = re.compile(r"[〇○零一二两三四五六七八九十百千万亿廿卅]+")


def zh_number(run: str) -> int | None:
    """The value of one run of Chinese numerals, or None if it is not a well-formed number.

    ``一九五○`` (a year written digit by digit) → 1950; ``二十九`` → 29; ``十四万`` → 140000;
    ``卅一`` → 31.
    """
    if not run:
        return None
    if all(c in _ZH_DIGIT for c in run):
        if len(run) == 1 or run[0] in "〇○零":
            return _ZH_DIGIT[run[0]] if len(run) == 1 else None
        return int("".join(str(_ZH_DIGIT[c]) for c in run))
    total = section = digit = 0
    pending = False
    for c in run:
        if c in _ZH_DIGIT:
            digit, pending = _ZH_DIGIT[c], True
        elif c in _ZH_TENS:
            section += _ZH_TENS[c]
            digit, pending = 0, False
        elif c in _ZH_UNIT:
            section += (digit if pending else 1) * _ZH_UNIT[c]
            digit, pending = 0, False
        elif c in _ZH_BIG:
            section += digit
            total += (section or 1) * _ZH_BIG[c]
            section = digit = 0
            pending = False
    return total + section + digit


_ARABIC = re.compile(r"\d+(?:[.,]\d+)*")


def _arabic_value(token: str) -> float | None:
    # "140,000" → 140000; "125.7" → 125.7; "1.2.3" is not a number.
    if "," in token and re.fullmatch(r"\d{1,3}(?:,\d{3})+", token):
        return float(token.replace(",", ""))
    try:
        return float(token)
    except ValueError:
        return None


def _norm(value: float) -> float:
    return float(int(value)) if value == int(value) else round(value, 3)


def zh_numbers(text: str) -> frozenset[float]:
    """Number values in a Chinese line (Arabic and Chinese numerals, 万/亿 applied to both)."""
    values: set[float] = set()
    for match in _ARABIC.finditer(text):
        value = _arabic_value(match.group(0))
        if value is None:
            continue
        nxt = text[match.end():match.end() + 1]
        if nxt in _ZH_BIG:
            value *= _ZH_BIG[nxt]
        values.add(_norm(value))
    for match in _ZH_NUM_RUN.finditer(text):
        run = match.group(0)
        # A lone 一/十/万 is mostly part of a word (一般, 统一, 万一), not a quantity, unless a
        # counter follows (十月 is October).
        if len(run) == 1 and run not in "二两三四五六七八九廿卅" and text[match.end():match.end() + 1] not in _COUNTERS:
            continue
        value = zh_number(run)
        if value is not None:
            values.add(float(value))
    return frozenset(v for v in values if v >= 2)


# ----------------------------------------------------------------------------- English numbers

_MONTHS = {m: k for k, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"), start=1)}
_MONTH_ABBR = {m[:3]: k for m, k in _MONTHS.items()} | {"sept": 9}
_WORDS = {w: k for k, w in enumerate(
    ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
     "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"))}
_WORDS |= {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
           "dozen": 12, "hundred": 100, "thousand": 1000}
_SCALE = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000}
_EN_TOKEN = re.compile(r"\d+(?:[.,]\d+)*(?:st|nd|rd|th)?|[A-Za-z]+")


def en_numbers(text: str) -> frozenset[float]:
    """Number values in an English line: digits, ordinals (31st), number words, month names."""
    values: set[float] = set()
    tokens = _EN_TOKEN.findall(text)
    for k, token in enumerate(tokens):
        lower = token.lower()
        value: float | None = None
        if token[0].isdigit():
            value = _arabic_value(re.sub(r"(st|nd|rd|th)$", "", token))
        elif lower in _WORDS:
            value = float(_WORDS[lower])
        elif token[0].isupper() and (lower in _MONTHS or lower.rstrip(".") in _MONTH_ABBR):
            # "May" opening a question is a verb; a month is followed by a day or a year.
            nxt = tokens[k + 1] if k + 1 < len(tokens) else ""
            if lower != "may" or nxt[:1].isdigit():
                values.add(float(_MONTHS.get(lower) or _MONTH_ABBR[lower]))
            continue
        if value is None:
            continue
        nxt = tokens[k + 1].lower() if k + 1 < len(tokens) else ""
        if nxt in _SCALE and lower not in _SCALE:
            value *= _SCALE[nxt]
        values.add(_norm(value))
    return frozenset(v for v in values if v >= 2)


# ----------------------------------------------------------------------------- structural marks

_ZH_LIST_ITEM = re.compile(r"^(?:[（(]([一二三四五六七八九十]+)[)）]|([一二三四五六七八九十]+)、|([甲乙丙丁戊己庚辛])、)")
# (3), (iv), 3. — and the sections of long lists: XVII. ↔ 十七、, B. ↔ 乙、 (A–H only: "N. Khrushchev" is a name).
_EN_LIST_ITEM = re.compile(r"^(?:\((\d+|[IVXivx]+)\)|(\d+|[IVX]+|[A-H])\.\s)")
_ROMAN = {r: k for k, r in enumerate(
    "i ii iii iv v vi vii viii ix x xi xii xiii xiv xv xvi xvii xviii xix xx".split(), 1)}
_STEMS = "甲乙丙丁戊己庚辛"
_ZH_DATELINE = re.compile(r"新华社")
_EN_DATELINE = re.compile(r"xinhua|new china news agency|hsinhua", re.I)
_LATIN = re.compile(r"[A-Za-z][A-Za-z.\-]+")
_EN_WORD = re.compile(r"[a-z0-9]+(?:[.\-'][a-z0-9]+)*")


def _zh_item(text: str) -> int | None:
    match = _ZH_LIST_ITEM.match(text)
    if not match:
        return None
    if match.group(3):
        return _STEMS.index(match.group(3)) + 1
    return zh_number(match.group(1) or match.group(2))


def en_list_item(text: str) -> int | None:
    match = _EN_LIST_ITEM.match(text)
    if not match:
        return None
    token = match.group(1) or match.group(2)
    if len(token) == 1 and token in "ABCDEFGH":
        return "ABCDEFGH".index(token) + 1
    token = token.lower()
    return int(token) if token.isdigit() else _ROMAN.get(token)


@dataclass(frozen=True, slots=True)
class Marks:
    """Counts of marks that translation keeps: quotes, parentheses, brackets, bullets."""

    quotes: int
    parens: int
    brackets: int
    bullets: str  # the bullet characters the line opens with (▲, △, ●…), usually ""

    def __add__(self, other: Marks) -> Marks:
        return Marks(self.quotes + other.quotes, self.parens + other.parens,
                     self.brackets + other.brackets, self.bullets + other.bullets)


_BULLETS = "▲△●○■□◆◇☆★"


def zh_marks(text: str) -> Marks:
    return Marks(
        quotes=text.count("“") + text.count("「") + text.count("《"),
        parens=text.count("（") + text.count("("),
        brackets=text.count("【") + text.count("［") + text.count("["),
        bullets=text[:1] if text[:1] in _BULLETS else "",
    )


def en_marks(text: str) -> Marks:
    # Book titles 《…》 come out as *italics* or "quotes": count either as a quotation.
    return Marks(
        quotes=text.count('"') // 2 + text.count("“") + len(re.findall(r"\*[^*]+\*", text)),
        parens=text.count("("),
        brackets=text.count("[") + text.count("【"),
        bullets=text[:1] if text[:1] in _BULLETS else "",
    )


@dataclass(frozen=True, slots=True)
class LineAnchors:
    """Everything the aligner compares, for one line of one language."""

    length: int
    numbers: frozenset[float]
    marks: Marks
    item: int | None           # list-item number the line opens with: （三） / 三、 / (3) / 3.
    dateline: bool             # a Xinhua dateline (新华社…电/讯, "Xinhua", "New China News Agency")
    terms: frozenset[int]      # indices of glossary entries found in the line
    latin: frozenset[str]      # ZH: Latin-script tokens; EN: every lower-cased word
    final: str = ""            # the line's closing punctuation as a class: . ? ! , : ; ("" if none)


_FINAL = {".": ".", "。": ".", "?": "?", "？": "?", "!": "!", "！": "!", ",": ",", "，": ",", "、": ",",
          ":": ":", "：": ":", ";": ";", "；": ";"}
_CLOSERS = "\"'”’」』)）*】]"


def final_mark(text: str) -> str:
    """Closing punctuation class; verse keeps it line by line (？ ↔ ?, ， ↔ ,), so lines pair on it."""
    return _FINAL.get(text.rstrip(_CLOSERS)[-1:], "")


_SPACE_RUN = re.compile(r"\s{2,}")


def text_length(text: str) -> int:
    """Characters, with each run of spaces counted as one: list entries pad their columns
    (雷任民              曾任…, "Lei Renmin         Formerly…") by amounts that say nothing of the content."""
    return len(_SPACE_RUN.sub(" ", text))


def zh_anchors(text: str, glossary: tuple[tuple[str, str], ...] = ()) -> LineAnchors:
    return LineAnchors(
        length=text_length(text),
        numbers=zh_numbers(text),
        marks=zh_marks(text),
        item=_zh_item(text),
        dateline=bool(_ZH_DATELINE.search(text)),
        terms=frozenset(k for k, (zh, _) in enumerate(glossary) if zh and zh in text),
        latin=frozenset(t.lower().strip(".-") for t in _LATIN.findall(text) if len(t.strip(".-")) >= 2),
        final=final_mark(text),
    )


def en_anchors(text: str, glossary: tuple[tuple[str, str], ...] = ()) -> LineAnchors:
    lower = text.lower()
    return LineAnchors(
        length=text_length(text),
        numbers=en_numbers(text),
        marks=en_marks(text),
        item=en_list_item(text),
        dateline=bool(_EN_DATELINE.search(text)),
        terms=frozenset(k for k, (_, en) in enumerate(glossary) if en and gloss_key(en) in lower),
        latin=frozenset(_EN_WORD.findall(lower)),
        final=final_mark(text),
    )


def gloss_key(english: str) -> str:
    """The part of a glossary gloss to look for in the English: "Xin Dazhong (New Masses)" → "xin dazhong"."""
    return english.split("(")[0].strip().lower()


def glossary_items(glossary: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple((zh, en) for zh, en in glossary.items() if zh and en)


_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def name_anchors(en_texts: list[str], zh_texts: list[str]) -> tuple[list[frozenset[int]], list[frozenset[int]]]:
    """Person names written in pinyin in the English and read by a run of characters in the Chinese.

    ``("Lei Renmin  Formerly Director…", "雷任民  曾任中央人民政府…")`` share name 0. Returns per-line
    sets of name ids for each half; an English name no Chinese line reads (a Western name, a
    misspelt one) is left out, so it neither pulls nor pushes. Lists of appointments, delegations
    and awards carry little else: one entry per line, lengths alike, few numbers.
    """
    from evalkit.pinyin import person_names, readings

    ids: dict[str, int] = {}
    by_first: dict[str, list[tuple[tuple[str, ...], int]]] = {}
    en_names = []
    for text in en_texts:
        found = set()
        for name, combos in person_names(text):
            if name not in ids:
                ids[name] = len(ids)
                for syllables in combos:
                    by_first.setdefault(syllables[0], []).append((syllables, ids[name]))
            found.add(ids[name])
        en_names.append(found)
    if not ids:
        empty: frozenset[int] = frozenset()
        return [empty] * len(en_texts), [empty] * len(zh_texts)
    by_char = readings()
    none: frozenset[str] = frozenset()
    zh_names = []
    for text in zh_texts:
        found = set()
        for run in _HAN_RUN.findall(re.sub(r"\s+", "", text)):
            for p, ch in enumerate(run):
                for first in by_char.get(ch, none):
                    for syllables, name in by_first.get(first, ()):
                        if p + len(syllables) <= len(run) and all(
                                s in by_char.get(run[p + k], none) for k, s in enumerate(syllables[1:], 1)):
                            found.add(name)
        zh_names.append(frozenset(found))
    read = set().union(*zh_names)
    return [frozenset(f & read) for f in en_names], zh_names
