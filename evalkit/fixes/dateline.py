"""A Chinese news-agency dateline (【新华社延安三十日电】) rendered in the archive's English style.

The archive's own renderings, counted on the English paragraphs that open with the agency in
``reference/labelled/articles`` and ``tests/data/corpus/articles`` (122 datelines, 1946–1968):

* 1946–1949: place and day, no month (44 of 48), then a colon (22; the rest a full stop or a
  dash) — ``Xinhua News Agency, Yan'an, 30th:``;
* 1950–1965: place, month and day (44 of 64), then a colon (38) —
  ``Xinhua News Agency, Beijing, January 31st:``; the month is the one the paper's date implies,
  as the judge reads it (judge.quantities.dateline_month_conflict);
* 1966–1968: month always (10 of 10), the agency mostly as "New China News Agency" (6 of 10),
  a colon (6; the rest a dash) — ``New China News Agency, Hanoi, June 30th:``.

A dateline without a place (新华社三十日讯) drops the place; one without a day (新华社晋冀鲁豫
总分社讯) drops the day. Places come from a short table of the archive's usual dateline places
(陕北 → Northern Shaanxi, …前线 → … Front), then CC-CEDICT's proper-noun sense (延安 → Yan'an), then
pinyin; never Chinese characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Agencies as the judge knows them (judge.core._DATELINES) and the archive's English for each.
AGENCIES: dict[str, str] = {
    "新华社": "Xinhua News Agency",
    "塔斯社": "TASS",
    "美联社": "Associated Press",
    "合众社": "United Press",
    "法新社": "Agence France-Presse",
    "路透社": "Reuters",
    "本报": "This newspaper",
}
# How an English text names each agency (a dateline is present when the English names one).
AGENCY_IN_ENGLISH = re.compile(
    r"xinhua|new china news agency|ncna|hsinhua|\btass\b|associated press|\bAP\b|united press|\bUPI?\b|"
    r"agence france|\bAFP\b|french news agency|reuters?|people'?s daily|this (?:news)?paper|our (?:own )?(?:news)?paper",
    re.I)

_DIGITS = "0-9０-９〇○零一二三四五六七八九十廿卅"
DATELINE = re.compile(
    rf"(?P<open>【)?(?P<according>据)?(?P<agency>{'|'.join(AGENCIES)})"
    rf"(?P<body>[^。，；：:,【】\s\u3000]{{0,24}}?)(?P<kind>电|讯)(?P<close>】)?"
    rf"|（(?P<credit>新华社)）")
_BODY = re.compile(rf"^(?P<place>.*?)(?:(?P<month>[{_DIGITS}]{{1,2}})月)?(?:(?P<day>[{_DIGITS}]{{1,3}})日)?$")

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")

# The archive's renderings of its usual dateline places (regions and fronts CC-CEDICT lacks or glosses).
PLACES: dict[str, str] = {
    "陕北": "Northern Shaanxi", "北平": "Beiping", "东北": "Northeast", "华中": "Central China",
    "华东": "East China", "华北": "North China", "华南": "South China", "西北": "Northwest",
    "西南": "Southwest", "中原": "Central Plains", "晋冀鲁豫": "Jinji Luyu", "晋察冀": "Jin-Cha-Ji",
    "冀鲁豫": "Ji-Lu-Yu", "晋绥": "Jin-Sui", "太岳": "Taiyue", "太行": "Taihang", "冀中": "Central Hebei",
    "冀东": "Eastern Hebei", "苏北": "Northern Jiangsu", "山东": "Shandong", "长江": "Yangtze River",
    "朝鲜": "Korea", "朝鲜前线": "Korean Front", "开城": "Kaesong", "仰光": "Rangoon",
}
_SUFFIXES = (("前线", "Front"), ("总分社", "General Branch"), ("分社", "Branch"))
_VOWEL_START = re.compile(r"^[aeo]")


@dataclass(frozen=True, slots=True)
class Dateline:
    """A dateline found in a Chinese paragraph: where, and what it says."""

    text: str      # as printed, e.g. 【新华社延安三十日电】
    start: int     # its span in the paragraph
    end: int
    agency: str    # 新华社
    place: str     # 延安 ("" when none)
    day: int | None
    month: int | None = None  # only when the dateline names it (本报太岳十一月卅日电)

    @property
    def leading(self) -> bool:
        """At the head of its paragraph (else it closes it: a right-aligned 【新华社陕北三十日电】)."""
        return self.start <= 2


def find_dateline(zh: str) -> Dateline | None:
    """The first news-agency dateline of a Chinese paragraph, or None."""
    from evalkit.corpus.anchors import zh_number

    m = DATELINE.search(zh)
    if m is None:
        return None
    if m.group("credit"):
        return Dateline(m.group(0), m.start(), m.end(), "新华社", "", None)
    body = _BODY.match(m.group("body") or "")
    place = body.group("place") if body else ""

    def value(text: str | None, top: int) -> int | None:
        if not text:
            return None
        ascii_digits = text.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
        number = int(ascii_digits) if ascii_digits.isdigit() else zh_number(text)
        return number if number is not None and 1 <= number <= top else None

    day = value(body.group("day") if body else None, 31)
    month = value(body.group("month") if body else None, 12) if day is not None else None
    return Dateline(m.group(0), m.start(), m.end(), m.group("agency"), place, day, month)


def names_agency(english: str) -> bool:
    return bool(AGENCY_IN_ENGLISH.search(english))


def ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def implied_month(day: int, published: str) -> int | None:
    """The month a dateline's day falls in: the paper's month unless the day is after the
    paper's day, then the month before (the judge's reading, judge.quantities)."""
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", published or "")
    if not m:
        return None
    month, pub_day = int(m.group(2)), int(m.group(3))
    return month if day <= pub_day else (month - 2) % 12 + 1


def place_english(place: str) -> str:
    """A dateline place in English: the archive's table, CC-CEDICT's proper sense, or pinyin."""
    if not place:
        return ""
    if place in PLACES:
        return PLACES[place]
    for suffix, english in _SUFFIXES:
        if place.endswith(suffix) and len(place) > len(suffix):
            head = place_english(place[: -len(suffix)])
            return f"{head} {english}" if head else ""
    return _dictionary_place(place) or _pinyin_place(place)


def _dictionary_place(place: str) -> str:
    from evalkit.systems.gloss import choose_gloss, dictionary

    entries = dictionary().get(place)
    if not entries or not any(e.proper for e in entries):
        return ""
    sense = choose_gloss([e for e in entries if e.proper], prefer_proper=True) or ""
    sense = sense.split(" or ")[0].split(",")[0].split(";")[0]
    # "Nanjing subprovincial city on the Changjiang" → "Nanjing": the capitalised words that open it.
    words = []
    for word in sense.split():
        if not (word[:1].isupper() or word[:1] == "'" or "'" in word):
            break
        words.append(word)
    return " ".join(words)


def _pinyin_place(place: str) -> str:
    from evalkit.systems.gloss import syllables

    parts = syllables(place)
    if not parts:
        return ""
    joined = parts[0] + "".join(("'" + p) if _VOWEL_START.match(p) else p for p in parts[1:])
    return joined.capitalize()


@dataclass(frozen=True, slots=True)
class Style:
    """How the archive's English of one period writes a dateline."""

    xinhua: str        # the name of 新华社
    with_month: bool   # "January 31st" rather than "31st"
    end: str           # what follows the date


def style_for(year: int) -> Style:
    """The archive's dateline style for a paper of ``year`` (the counts of the module docstring)."""
    if year <= 1949:
        return Style("Xinhua News Agency", False, ":")
    if year <= 1965:
        return Style("Xinhua News Agency", True, ":")
    return Style("New China News Agency", True, ":")


def render(dateline: Dateline, published: str, closing: bool = False) -> str:
    """The English dateline in the style of the paper's year: ``Xinhua News Agency, Yan'an, 30th:``;
    with neither place nor day, ``Xinhua News Agency report:`` (据新华社讯, as the archive has it).
    ``closing``: without the final mark, for a dateline that ends its paragraph."""
    style = style_for(int(published[:4]) if published[:4].isdigit() else 1958)
    parts = [style.xinhua if dateline.agency == "新华社" else AGENCIES[dateline.agency]]
    place = place_english(dateline.place)
    if place:
        parts.append(place)
    if dateline.day is not None:
        # A month the Chinese names is always given (Yan'an, November 30th:, 1946).
        month = dateline.month or (implied_month(dateline.day, published) if style.with_month else None)
        parts.append(f"{MONTHS[month - 1]} {ordinal(dateline.day)}" if month else ordinal(dateline.day))
    if closing:
        return ", ".join(parts)
    if len(parts) == 1:
        return f"{parts[0]} report:"
    return ", ".join(parts) + style.end


def with_dateline(english: str, dateline: Dateline, published: str) -> str:
    """``english`` with the rendered dateline where the Chinese has it: at the head (the usual
    case) or, for a closing dateline (a right-aligned 【新华社陕北三十日电】, a final （新华社）),
    after the text in parentheses."""
    if dateline.leading:
        return f"{render(dateline, published)} {english.lstrip()}"
    return f"{english.rstrip()} ({render(dateline, published, closing=True)})"
