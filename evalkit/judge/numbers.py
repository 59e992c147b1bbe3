"""Numbers and dates of a Chinese text, and whether an English text renders them.

For the judge's ``number_mismatch`` flag. The Chinese side comes from the shared numeral module
``evalkit.systems.zhnum`` (Arabic and Chinese numerals, 万/亿 scales, dates such as 8月1日),
filtered to stay conservative, because a false alarm on every "一" (usually the article "a")
would drown the real errors: a cardinal or ordinal 1 is skipped, and so are idioms whose
numerals are not quantities (十分 "very", 万岁 "long live", 千万 "by all means").

The English side is read into a set of values (digits, number words, ordinals, Roman numerals
as in "World War II"), of months, and of (month, day) dates ("August 1", "1st August",
"the first of August").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Idioms whose numerals are not quantities.
# Approximate counts written as two consecutive digits (三四省 "three or four provinces", 五六天):
# the English gives either bound, so the item is read as a range, not as 34.
_RANGE = re.compile(r"^[一二三四五六七八九]{2}$")
_IDIOMS = ("十分", "万岁", "千万", "万一", "万分", "百般", "千方百计", "成千上万", "千百万", "亿万", "万众",
           "万物", "百倍", "千古", "百姓", "十足", "百花", "万象", "三番五次", "四面八方", "五花八门",
           "七嘴八舌", "一五一十", "千军万马", "三三两两", "九一八", "一二·九", "五四", "百万雄师")


@dataclass(frozen=True, slots=True)
class NumberItem:
    """A number or date found in the Chinese: ``kind`` is date, day, month, year, number or range
    (an approximate count, 三四: ``value`` the lower bound, ``day`` the upper)."""

    text: str
    kind: str
    value: float
    day: int | None = None  # for dates


def _in_idiom(text: str, start: int, end: int) -> bool:
    for idiom in _IDIOMS:
        i = text.find(idiom, max(0, start - len(idiom)), end + len(idiom))
        if i != -1 and i < end and i + len(idiom) > start:
            return True
    return False


# One-character abbreviations of states, as in 美英两国 ("the US and Britain, the two countries").
_STATE_ABBREVIATIONS = set("中美英法苏德日意印朝越蒙波捷匈罗保阿古埃叙伊")


def _restates_enumeration(text: str, start: int, end: int, value: float) -> bool:
    """A count that restates the list right before it: 苏、美、英、法、印五国, 美英两国.

    The English names the members ("the Soviet Union, the United States, …") and rarely repeats
    the count, so checking it would flag a faithful translation. People count too (贝定及莫叶二人).
    """
    if end >= len(text) or text[end] not in "国方党人":
        return False
    before = text[:start]
    if value == 2 and len(before) >= 2 and set(before[-2:]) <= _STATE_ABBREVIATIONS and text[end] != "人":
        return True
    run = re.search(r"[\u4e00-\u9fff、]+$", before)
    if not run:
        return False
    # Members are separated by 、 and the last one joined by 及 or 与 (贝定及莫叶二人 "Bate and Moya").
    members = run.group(0).count("、") + 1 + (1 if re.search(r"[及与][^、及与]+$", run.group(0)) else 0)
    return members >= 2 and members == value


def zh_numbers(text: str) -> list[NumberItem]:
    """The numbers and dates of a Chinese text that an English translation should carry."""
    from evalkit.systems.zhnum import Date, find_numbers

    # zhnum does not read the archaic tens 卅 (30) and 廿 (20), common in datelines (卅一日电).
    text = text.replace("卅", "三十").replace("廿", "二十")
    items: list[NumberItem] = []
    for span in find_numbers(text):
        value = span.value
        if _in_idiom(text, span.start, span.end):
            continue
        if isinstance(value, Date):
            if value.month is not None and value.day is not None:
                items.append(NumberItem(span.text, "date", float(value.month), value.day))
            elif value.month is not None:
                items.append(NumberItem(span.text, "month", float(value.month)))
            elif value.day is not None:
                items.append(NumberItem(span.text, "day", float(value.day)))
            if value.year is not None:
                items.append(NumberItem(span.text, "year", float(value.year)))
            continue
        if value.value == 1:
            continue  # 一个, 第一: "a", "first", "one", "primary"… too ambiguous to check
        if _restates_enumeration(text, span.start, span.end, value.value):
            continue
        if _RANGE.match(span.text) and int(value.value) % 10 == int(value.value) // 10 + 1:
            items.append(NumberItem(span.text, "range", float(value.value // 10), int(value.value) % 10))
            continue
        items.append(NumberItem(span.text, "number", float(value.value)))
    return items


# --- English -------------------------------------------------------------------------------

_UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_ORDINALS = {w: i + 1 for i, w in enumerate(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
    "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth".split())}
_ORDINAL_TENS = {w: 10 * (i + 2) for i, w in enumerate(
    "twentieth thirtieth fortieth fiftieth sixtieth seventieth eightieth ninetieth".split())}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000}
_EXTRA = {"both": 2, "twice": 2, "double": 2, "pair": 2, "couple": 2, "dozen": 12, "thrice": 3, "triple": 3,
          "once": 1, "single": 1, "hundredth": 100, "thousandth": 1000}
_MONTHS = {m: i + 1 for i, m in enumerate(
    "january february march april may june july august september october november december".split())}
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items())})
_MONTHS["sept"] = 9
_ROMAN = {"II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8, "IX": 9, "X": 10, "XI": 11, "XII": 12}

_EN_TOKEN = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:st|nd|rd|th)?|[A-Za-z]+")


# Every number word's value, the tables merged (the first table that has a word gives its value).
_WORD_VALUES: dict[str, float] = {}
for _table in (_UNITS, _TENS, _ORDINALS, _ORDINAL_TENS, _EXTRA):
    for _word, _value in _table.items():
        _WORD_VALUES.setdefault(_word, float(_value))
del _table, _word, _value
_DIGITS = re.compile(r"([\d,]+(?:\.\d+)?)(?:st|nd|rd|th)?")
_DAY_DIGITS = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?")


def _word_value(word: str) -> float | None:
    return _WORD_VALUES.get(word.lower())


@dataclass(frozen=True, slots=True)
class EnglishNumbers:
    values: frozenset[float]
    months: frozenset[int]
    dates: tuple[tuple[int, int, str], ...]  # (month, day, text as written)


def english_numbers(text: str) -> EnglishNumbers:
    """Every number, month and (month, day) date an English text states."""
    tokens = [(m.group(0), m.start(), m.end()) for m in _EN_TOKEN.finditer(text)]
    values: set[float] = set()
    months: set[int] = set()
    i = 0
    while i < len(tokens):
        tok = tokens[i][0]
        low = tok.lower()
        nxt = tokens[i + 1][0].lower() if i + 1 < len(tokens) else ""
        digits = _DIGITS.fullmatch(tok)
        if digits:
            try:
                value = float(digits.group(1).replace(",", ""))
            except ValueError:
                value = None
            if value is not None:
                values.add(value)
                if nxt in _SCALES:  # "1.5 million", "50 thousand"
                    values.add(value * _SCALES[nxt])
                    i += 1
            i += 1
            continue
        if _word_value(tok) is not None and low not in _EXTRA or (low == "a" and nxt in _SCALES):
            # A run of number words: "twenty-nine" (the hyphen splits tokens), "one hundred and five",
            # "a thousand", "fifty thousand".
            total = current = 0.0
            while i < len(tokens):
                low = tokens[i][0].lower()
                word = _word_value(low) if low not in _EXTRA else None
                if word is not None:
                    current += word
                elif low == "a" and current == 0 and i + 1 < len(tokens) and tokens[i + 1][0].lower() in _SCALES:
                    current = 1.0
                elif low == "hundred":
                    current = (current or 1.0) * 100
                elif low in _SCALES:
                    total += (current or 1.0) * _SCALES[low]
                    current = 0.0
                elif low == "and" and i + 1 < len(tokens) and _word_value(tokens[i + 1][0]) is not None:
                    pass
                else:
                    break
                i += 1
            values.add(total + current)
            continue
        if low in _EXTRA:
            values.add(float(_EXTRA[low]))
        elif tok in _ROMAN:
            values.add(float(_ROMAN[tok]))
        elif low in _MONTHS and tok[0].isupper() and tok != "May" or tok == "May" and _day_value(nxt or "x"):
            months.add(_MONTHS[low])
        i += 1

    dates: list[tuple[int, int, str]] = []
    for i, (tok, start, _end) in enumerate(tokens):
        low = tok.lower()
        if low not in _MONTHS or not tok[0].isupper():
            continue
        month = _MONTHS[low]
        # "August 1", "August 1st", "August first"
        if i + 1 < len(tokens):
            day = _day_value(tokens[i + 1][0])
            if day:
                dates.append((month, day, text[start:tokens[i + 1][2]]))
        # "1 August", "1st of August", "the first of August"
        for back in (1, 2):
            if i - back >= 0 and (back == 1 or tokens[i - 1][0].lower() == "of"):
                day = _day_value(tokens[i - back][0])
                if day:
                    dates.append((month, day, text[tokens[i - back][1]:_end]))
                    break
    return EnglishNumbers(frozenset(values), frozenset(months), tuple(dates))


def _day_value(tok: str) -> int | None:
    m = _DAY_DIGITS.fullmatch(tok)
    if m:
        value = int(m.group(1))
    else:
        word = _word_value(tok)
        if word is None or tok.lower() in _EXTRA:
            return None
        value = int(word)
    return value if 1 <= value <= 31 else None


def rendered(item: NumberItem, english: EnglishNumbers) -> bool:
    """Whether the English carries this Chinese number or date."""
    if item.kind == "date":
        return any(m == item.value and d == item.day for m, d, _ in english.dates)
    if item.kind == "month":
        return int(item.value) in english.months or item.value in english.values
    if item.kind == "range":
        return item.value in english.values or float(item.day or 0) in english.values
    return item.value in english.values


def describe_miss(item: NumberItem, english: EnglishNumbers) -> str:
    """Evidence for a number the English lacks, e.g. ``8月1日 → 'August 11'``."""
    if item.kind == "date":
        near = [text for m, _d, text in english.dates if m == item.value]
        if near:
            return f"{item.text} → {near[0]!r}"
        return f"{item.text} → no {_month_name(int(item.value))} {item.day} in the English"
    if item.kind == "month":
        return f"{item.text} → no {_month_name(int(item.value))} in the English"
    if item.kind == "range":
        return f"{item.text} → neither {int(item.value)} nor {item.day} in the English"
    value = int(item.value) if float(item.value).is_integer() else item.value
    return f"{item.text} → no {value} in the English"


def _month_name(month: int) -> str:
    return "January February March April May June July August September October November December".split()[month - 1]


def conflicting_date(item: NumberItem, english: EnglishNumbers) -> bool:
    """The English gives the same month with another day: a changed date, not a dropped one."""
    return item.kind == "date" and any(m == item.value and d != item.day for m, d, _ in english.dates)
