"""Chinese numerals and dates: find them in text, read their values, write them in English.

Pure functions, no dependencies. Used by the ``gloss`` baseline (to render 8月1日 as "August 1")
and by the judge (to compare the numbers of a source paragraph with those of its translations).

API
---
``parse_number(text) -> int | float | None``
    the value of one numeral: ``"三十亿"`` → 3000000000, ``"一九五八"`` → 1958, ``"1.5万"`` → 15000.
``find_numbers(zh) -> list[NumberSpan]``
    every numeral or date in a text, left to right, non-overlapping, with its character span.
``extract_numbers(zh) -> list[Number | Date]``
    the values only (``[span.value for span in find_numbers(zh)]``).
``Number.english()`` / ``Date.english()``
    the English rendering ("3 billion", "50,000", "more than 100", "29th", "August 5, 1958").

Conservative by design: a lone Chinese digit (一, 三…) counts only when a measure word follows
(三个 → 3) because 一 and friends sit inside countless ordinary words (统一, 一切, 万一).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "三": 3, "叁": 3, "四": 4, "肆": 4,
          "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9}
SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
BIG_UNITS = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
ORDINAL_WORDS = ("zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
CARDINAL_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")

_ZH_DIGIT = "〇零○Ｏ一二两三四五六七八九壹贰叁肆伍陆柒捌玖"
_ZH_UNIT = "十拾百佰千仟"
_ZH_BIG = "万萬亿億"
_ARABIC = r"[0-9０-９]+(?:[.．][0-9０-９]+)?"
_ARABIC_GROUPED = r"[0-9０-９]{1,3}(?:[,，][0-9]{3})+(?:[.．][0-9]+)?"
# A Chinese numeral: digits and units, optionally with a decimal part (三点五).
_ZH_NUM = rf"[{_ZH_DIGIT}{_ZH_UNIT}{_ZH_BIG}]+(?:点[{_ZH_DIGIT}]+)?"
_NUM = rf"(?:{_ARABIC_GROUPED}|{_ARABIC}[{_ZH_BIG}]*|{_ZH_NUM})"
_SMALL = rf"(?:[0-9０-９]{{1,2}}|[{_ZH_DIGIT}十]{{1,3}})"  # a month or a day
_YEAR = rf"(?:[0-9０-９]{{4}}|[{_ZH_DIGIT}]{{4}})"

# Measure words after which even a lone digit (三个, 五人) is a number.
MEASURE_WORDS = set("个份人名位次件条项种只架艘辆吨斤公里米元角岁倍队国家省县批座所篇部本张匹头口户处台门")
# Numeral-looking words that are not numbers.
NOT_NUMBERS = {"万一", "一一", "万万", "一二", "千千万万", "三三两两", "九一八"}


@dataclass(frozen=True, slots=True)
class Number:
    """A quantity. ``approx``: 多/余/几 after it ("more than"). ``kind`` ordinal: 第三 → 3rd."""

    value: int | float
    kind: Literal["cardinal", "ordinal", "percent"] = "cardinal"
    approx: bool = False

    def english(self, small_words: bool = False) -> str:
        """``small_words``: write whole numbers up to ten as words ("three"), as prose does."""
        if self.kind == "ordinal":
            return ordinal(int(self.value))
        if small_words and self.kind == "cardinal" and self.value in range(len(CARDINAL_WORDS)):
            text = CARDINAL_WORDS[int(self.value)]
        else:
            text = format_number(self.value)
        if self.kind == "percent":
            text = f"{text} percent"
        return f"more than {text}" if self.approx else text


@dataclass(frozen=True, slots=True)
class Date:
    """A calendar date or part of one; missing parts are None (8月1日 → month 8, day 1)."""

    year: int | None = None
    month: int | None = None
    day: int | None = None

    def english(self) -> str:
        month = MONTHS[self.month - 1] if self.month and 1 <= self.month <= 12 else None
        if month and self.day and self.year:
            return f"{month} {self.day}, {self.year}"
        if month and self.day:
            return f"{month} {self.day}"
        if month and self.year:
            return f"{month} {self.year}"
        if month:
            return month
        if self.day is not None and self.year is None:
            return ordinal(self.day, words=False)
        return str(self.year) if self.year is not None else ""


@dataclass(frozen=True, slots=True)
class NumberSpan:
    start: int
    end: int
    text: str
    value: Number | Date


def _to_ascii_digits(text: str) -> str:
    return text.translate(str.maketrans("０１２３４５６７８９．，", "0123456789.,"))


def parse_small_section(text: str) -> int | None:
    """Digits and 十/百/千 below ten thousand: 三千二百零五 → 3205, 十九 → 19, 一千零十四 → 1014."""
    total, digit = 0, None
    for ch in text:
        if ch in DIGITS:
            if digit is not None and digit != 0 and DIGITS[ch] != 0:
                return None  # two digits in a row without a unit: not this form
            digit = DIGITS[ch]
        elif ch in SMALL_UNITS:
            # A unit after 零 has an implied 一, as one at the start does (一千零十四: 零 marks the
            # empty hundreds, 十 is 一十).
            total += (1 if not digit else digit) * SMALL_UNITS[ch]
            digit = None
        else:
            return None
    return total + (digit or 0)


def parse_number(text: str) -> int | float | None:
    """The value of one numeral (Chinese, Arabic or mixed), or None if ``text`` is not one.

    Chinese numerals use 十/百/千 within sections of 万 and 亿 (三十亿 → 3000000000); a run of
    bare digits is read positionally (一九五八 → 1958); Arabic numbers may carry 万/亿 (30亿).
    """
    text = _to_ascii_digits(text.strip())
    if not text:
        return None
    multiplier = 1
    while text and text[-1] in BIG_UNITS and re.fullmatch(r"[0-9.,]+[万萬亿億]+", text):
        multiplier *= BIG_UNITS[text[-1]]
        text = text[:-1]
    if re.fullmatch(r"[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?", text):
        value = float(text.replace(",", "")) * multiplier
        return int(value) if value.is_integer() else value
    if "点" in text:
        whole, _, frac = text.partition("点")
        base = parse_number(whole) if whole else 0
        if base is None or not frac or any(ch not in DIGITS for ch in frac):
            return None
        return float(f"{int(base)}.{''.join(str(DIGITS[ch]) for ch in frac)}")
    if all(ch in DIGITS for ch in text):
        return int("".join(str(DIGITS[ch]) for ch in text))
    if any(ch not in DIGITS and ch not in SMALL_UNITS and ch not in BIG_UNITS for ch in text):
        return None
    # Split on 亿 then 万, largest first: 一亿二千万 → 1*10^8 + 2000*10^4.
    total = 0
    rest = text
    for unit_chars, unit in (("亿億", 100_000_000), ("万萬", 10_000)):
        for ch in unit_chars:
            if ch in rest:
                head, _, rest = rest.partition(ch)
                head_value = parse_number(head) if head else 1
                if head_value is None:
                    return None
                total += int(head_value) * unit
                break
    if rest:
        section = parse_small_section(rest)
        if section is None:
            return None
        total += section
    return total


def format_number(value: int | float) -> str:
    """English digits: 3000000000 → "3 billion", 1200000 → "1.2 million", 50000 → "50,000"."""
    for size, word in ((1_000_000_000_000, "trillion"), (1_000_000_000, "billion"), (1_000_000, "million")):
        if value >= size:
            scaled = value / size
            if round(scaled, 2) == scaled:
                return f"{scaled:g} {word}"
    if isinstance(value, float) and value != int(value):
        return f"{value:,.{max(1, len(repr(value).split('.')[1]))}f}".rstrip("0").rstrip(".")
    value = int(value)
    # Four-digit numbers stay unseparated (1958, 2000 people), as English newspapers write them.
    return f"{value:,}" if value >= 10_000 else str(value)


def ordinal(n: int, words: bool = True) -> str:
    """3 → "third" (words, up to ten) or "3rd"."""
    if words and 0 <= n < len(ORDINAL_WORDS):
        return ORDINAL_WORDS[n]
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# Alternatives in priority order: the longest, most specific patterns first.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("ymd", re.compile(rf"(?P<y>{_YEAR})年(?P<m>{_SMALL})月(?P<d>{_SMALL})[日号]")),
    ("ym", re.compile(rf"(?P<y>{_YEAR})年(?P<m>{_SMALL})月")),
    ("md", re.compile(rf"(?P<m>{_SMALL})月(?P<d>{_SMALL})[日号]")),
    ("y", re.compile(rf"(?P<y>{_YEAR})年")),
    ("percent", re.compile(rf"百分之(?P<n>{_NUM})")),
    ("percent_sign", re.compile(rf"(?P<n>{_ARABIC})[%％]")),
    ("ordinal", re.compile(rf"第(?P<n>{_NUM})")),
    ("m", re.compile(rf"(?P<m>{_SMALL})月(?!份?[{_ZH_DIGIT}十])")),
    ("d", re.compile(rf"(?P<d>{_SMALL})[日号]")),
    ("number", re.compile(rf"(?P<n>{_NUM})(?P<approx>[多余几]?)")),
]


def _match_at(text: str, pos: int) -> NumberSpan | None:
    for kind, pattern in _PATTERNS:
        m = pattern.match(text, pos)
        if not m:
            continue
        span = _interpret(kind, m, text)
        if span is not None:
            return span
    return None


def _small(text: str) -> int | None:
    value = parse_number(text)
    return int(value) if value is not None and value == int(value) else None


def _interpret(kind: str, m: re.Match[str], text: str) -> NumberSpan | None:
    groups = m.groupdict()
    year = _small(groups["y"]) if groups.get("y") else None
    month = _small(groups["m"]) if groups.get("m") else None
    day = _small(groups["d"]) if groups.get("d") else None
    if (month is not None and not 1 <= month <= 12) or (day is not None and not 1 <= day <= 31):
        return None
    if kind in {"ymd", "ym", "md", "y", "m", "d"}:
        return NumberSpan(m.start(), m.end(), m.group(0), Date(year, month, day))
    raw = groups["n"]
    if kind == "number":
        is_chinese = not re.match(r"[0-9０-９]", raw)
        # A lone Chinese digit or unit counts only before a measure word (三个, 五人).
        after = text[m.end():m.end() + 1]
        if is_chinese and len(raw) == 1 and after not in MEASURE_WORDS and not groups.get("approx"):
            return None
        if raw in NOT_NUMBERS or raw + groups.get("approx", "") in NOT_NUMBERS:
            return None
    value = parse_number(raw)
    if value is None:
        return None
    if kind in {"percent", "percent_sign"}:
        return NumberSpan(m.start(), m.end(), m.group(0), Number(value, "percent"))
    if kind == "ordinal":
        return NumberSpan(m.start(), m.end(), m.group(0), Number(value, "ordinal"))
    approx = bool(groups.get("approx"))
    return NumberSpan(m.start(), m.end(), m.group(0), Number(value, "cardinal", approx))


_START = re.compile(rf"[0-9０-９{_ZH_DIGIT}{_ZH_UNIT}{_ZH_BIG}百第]")


def find_numbers(zh: str) -> list[NumberSpan]:
    """Every numeral and date in ``zh``, left to right, non-overlapping."""
    spans: list[NumberSpan] = []
    pos = 0
    while True:
        m = _START.search(zh, pos)
        if not m:
            return spans
        # Never start inside an Arabic number (the 2 of 12) or right after a unit we skipped.
        start = m.start()
        span = _match_at(zh, start)
        if span is None or (start > 0 and zh[start - 1].isdigit() and zh[start].isdigit()):
            pos = start + 1
            continue
        spans.append(span)
        pos = span.end


def extract_numbers(zh: str) -> list[Number | Date]:
    """The numbers and dates of a Chinese text, in order (see ``find_numbers`` for spans)."""
    return [span.value for span in find_numbers(zh)]
