"""Quantities on both sides of a paragraph, read as intervals and aligned.

For the judge's ``number_mismatch`` (a *conflict*: the English gives the same quantity another value)
and ``number_missing`` (an *absence*: the English does not state it at all) flags. A translator who
drops a redundant count or date is common and rarely what an archivist must fix; a count that
changed (两万 → "two million", 五国 → "seven countries") is a real error. So the two are told apart,
and each reading is an interval, not a point, because both languages approximate:

Chinese (``zh_quantities``)
    plain numerals (Arabic or Chinese, 万/亿 sections, 万万 = 10⁸, 廿/卅/卌), approximations
    (几百 200–900, 数十 20–90, 十几 11–19, 三十多 30–39, 十余万 100,000–199,999, prefixes 近/约/将近
    and suffixes 左右/上下), ranges of neighbouring digits (三四十 30–40, 二三百 200–300, 十七八 17–18),
    百分之, fractions (三分之一), ordinals (第三), and dates from ``evalkit.systems.zhnum`` (8月1日,
    1958年, a day alone: 五日). The measure word or noun after a count is kept (its *unit*: 国, 人, 吨…).
English (``en_quantities``)
    digits ("2,500", "1.5 million", "30%"), number words ("two million", "twenty-nine"), vague
    magnitudes ("several hundred", "hundreds of", "tens of thousands", "dozens of", "a dozen"),
    fractions ("one-third", "half"), ordinals, Roman numerals, ranges ("two or three", "30 to 40"),
    approximation words ("nearly", "over", "about"), and a total implied by "N other(s)" (共六个 …
    "the vice-chancellor's office and five other offices" states six).

Alignment (``compare``): a Chinese quantity is *rendered* when some English quantity overlaps its
interval (within 10% when either side is approximate); dates compare month and day. A quantity not
rendered is a *conflict* when the English has an unaligned quantity in the same slot — the same unit
word ("seven countries" for 五国), the same leading digits at another scale (20,000 vs 2,000,000: the
classic 万 misreading), or the same month with another day — and an *absence* otherwise.

Conservative on the Chinese side, as before: a lone 一 is skipped (usually the article "a"), a lone
digit counts only before a measure word (三个, 五人), idioms whose numerals are not quantities (十分
"very", 万岁 "long live") are skipped, and a count that restates the list before it (苏、美、英三国) is
not checked.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from decimal import Decimal

from evalkit.systems.zhnum import BIG_UNITS as _BIG
from evalkit.systems.zhnum import DIGITS as _DIGIT
from evalkit.systems.zhnum import SMALL_UNITS as _UNIT
from evalkit.systems.zhnum import Date, find_numbers, parse_small_section


# --- Chinese ----------------------------------------------------------------------------------

# Idioms whose numerals are not quantities.
_IDIOMS = ("一点一滴", "十分", "万岁", "千万", "万一", "万分", "百般", "千方百计", "成千上万", "千百万", "亿万", "万众",
           "万物", "百倍", "千古", "百姓", "十足", "百花", "万象", "三番五次", "四面八方", "五花八门",
           "七嘴八舌", "一五一十", "千军万马", "三三两两", "九一八", "一二·九", "五四", "百万雄师", "万里")


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


_ZH_CHARS = "".join(_DIGIT) + "".join(_UNIT) + "".join(_BIG) + "几"
_FINANCIAL = frozenset("壹贰叁肆伍陆柒捌玖拾佰仟")
# A numeral run: Arabic digits (with a Chinese scale), or Chinese digits and units; 几, 多 and 余
# may sit inside (十几, 十余万, 三千多万), 数 only in front of a unit (数十, 数百万).
_ZH_RUN = re.compile(
    r"(?:[0-9０-９]+(?:[.．][0-9０-９]+)?|[0-9]{1,3}(?:[,，][0-9]{3})+)(?:[多余]?[万萬亿億]+)?"
    rf"|(?:数(?=[十百千万亿]))?[{_ZH_CHARS}](?:[{_ZH_CHARS}]|[多余](?=[万萬亿億])|[·．点](?=[〇零○一二三四五六七八九]))*")
_FRACTION = re.compile(rf"([{_ZH_CHARS}0-9]+)分之([{_ZH_CHARS}0-9·．.]+)")
# A month and a day joined by a dot, with no unit after: an event's name (四·一二, 八·一; 一二·九 is
# an idiom above), not the decimal it looks like (四·六亿斤 is one).
_DOTTED_EVENT = re.compile(r"(?:十[一二]?|[一二三四五六七八九])[·．]"
                           r"(?:[一二三]?十[一二三四五六七八九]?|[一二三]?[〇零○一二三四五六七八九])")
_PREFIX_APPROX = ("将近", "接近", "大约", "约", "近", "差不多", "大概")
_SUFFIX_APPROX = ("左右", "上下", "以上", "来", "许", "强")
# 十, 百 or 千 alone counts only before one of these units of measure or of people (千亩 "a thousand
# mu", 百人): elsewhere it is part of a word (百货, 千里, 十年树木).
_MEASURES_OF_A_LONE_UNIT = ("亩", "吨", "斤", "公斤", "公里", "米", "元", "顷", "垧", "担", "人", "名")
# A lone digit is a count only before one of these (三个, 五人, 两国); with a unit (三十, 五百) it always is.
MEASURE = set("个份人名位次件条项种只架艘辆吨斤公里米元角岁倍队国家省县市区乡村批座所篇部本张匹头口户处台门"
              "场届期年月天日周星小时分秒亩顷担石斗升尺寸丈里营连排师团军支枚颗棵株封列路层样类篇首")
# What English words a Chinese unit is counted in, for a conflict in the same slot ("seven countries"
# for 五国). Only units whose English word is unambiguous.
UNIT_WORDS: dict[str, str] = {
    "国": r"countr(?:y|ies)|nations?|states|powers",
    "省": r"provinces?", "县": r"count(?:y|ies)", "村": r"villages?", "乡": r"townships?|villages?",
    "吨": r"tons?|tonnes?", "斤": r"jin|catt(?:y|ies)|pounds?", "亩": r"mu|acres?", "公里": r"kilomet(?:er|re)s?|km",
    "元": r"yuan", "岁": r"years?(?: old)?|aged?", "天": r"days?", "日": r"days?", "年": r"years?",
    "个月": r"months?", "小时": r"hours?", "次": r"times|rounds?|sessions?", "架": r"(?:air)?planes?|aircraft",
    "艘": r"ships?|vessels?|boats?|warships?", "辆": r"vehicles?|trucks?|cars?|tanks?", "户": r"households?|families",
    "人": r"people|persons?|men|women|workers|peasants|students|delegates|members|soldiers|children|residents",
    "名": r"people|persons?|men|women|workers|peasants|students|delegates|members|soldiers|children",
    "所": r"schools?|hospitals?|universities|colleges|institutions?", "座": r"bridges?|factories|buildings?|mountains?",
    "师": r"divisions?", "团": r"regiments?", "营": r"battalions?", "项": r"items?|projects?|points?",
    "公斤": r"kilo(?:gram(?:me)?)?s?|kg", "公顷": r"hectares?", "米": r"met(?:er|re)s?",
    "华里": r"li|(?:chinese )?miles?", "里": r"li|(?:chinese )?miles?", "垧": r"shang|hectares?",
    "顷": r"qing|ch'?ing",
}
# Units of one dimension: a Chinese count rendered with its number but another unit of the same
# dimension (四百八十斤 → "480 kilograms", 六亩 → "six acres", 八十里 → "80 kilometres": a li is half
# a kilometre; 三顷 → "three hectares": a qing is a hundred mu) is a changed quantity, since the
# value changes with the unit. ``None``: an English unit no Chinese unit here renders. The li's old
# English name is the "Chinese mile", so "miles" for 里 is loose, not changed (reference/labelled's
# rules: minor); a 垧 of the North-East is about a hectare.
_DIMENSIONS: tuple[dict[str | None, str], ...] = (
    {"斤": r"jin|catt(?:y|ies)|pounds?", "公斤": r"kilo(?:gram(?:me)?)?s?|kg", "吨": r"tons?|tonnes?"},
    {"亩": r"mu|mou", "公顷": r"hectares?", "垧": r"shang|hectares?", "顷": r"qing|ch'?ing", None: r"acres?"},
    {"公里": r"kilomet(?:er|re)s?|km", "米": r"met(?:er|re)s?", "里": r"li|(?:chinese )?miles?",
     "华里": r"li|(?:chinese )?miles?", None: r"miles?"},
)


@dataclass(frozen=True, slots=True)
class Quantity:
    """A quantity read from one side: the interval [``low``, ``high``] (equal when exact).

    ``kind``: count, ordinal, percent, fraction, year, month, day or date (``month``/``day`` set).
    ``unit``: the Chinese measure word or noun after a count ('' if none); for English, the few
    words after the number (lower-case), which ``UNIT_WORDS`` patterns are matched against.
    """

    text: str
    low: float
    high: float
    kind: str = "count"
    approx: bool = False
    unit: str = ""
    start: int = 0
    month: int | None = None
    day: int | None = None

    @property
    def value(self) -> float:
        return self.low

    def shown(self) -> str:
        """The value as evidence writes it: 20,000; 200–900; 1/3; August 1."""
        if self.kind == "date":
            return f"{_MONTH_NAMES[self.month - 1]} {self.day}" if self.month and self.day else self.text
        if self.kind == "fraction":
            return f"{self.low:.3g}"
        if self.kind == "year" or (self.low == self.high and 1800 <= self.low <= 2100 and self.low.is_integer()):
            return str(int(self.low))  # 1958, not 1,958
        lo, hi = _fmt(self.low), _fmt(self.high)
        text = lo if lo == hi else f"{lo}–{hi}"
        return f"{text}%" if self.kind == "percent" else text


_MONTH_NAMES = "January February March April May June July August September October November December".split()


def _fmt(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:,.2f}".rstrip("0").rstrip(".")


def _parse_section(text: str) -> int | None:
    """Chinese digits and 十/百/千 below 10,000 (三千二百零五); bare digits read positionally."""
    if text and all(ch in _DIGIT for ch in text):
        return int("".join(str(_DIGIT[ch]) for ch in text))
    return parse_small_section(text)


def parse_zh(text: str) -> float | None:
    """One exact Chinese or Arabic numeral: 三万万 → 300,000,000, 两万 → 20,000, 1.5万 → 15,000."""
    text = text.translate(str.maketrans("０１２３４５６７８９．，", "0123456789.,")).replace(",", "")
    text = text.replace("廿", "二十").replace("卅", "三十").replace("卌", "四十").replace("万万", "亿")
    # A decimal written in Chinese digits: 四·六亿 = 4.6 × 10⁸, 三九○·五 = 390.5, 一百零五点五 = 105.5.
    d = re.fullmatch(r"(.+?)[·．.点]([〇零○一二三四五六七八九]+)([万萬亿億]*)", text)
    if d:
        whole = parse_zh(d.group(1))
        if whole is None:
            return None
        # In decimal, so that 四·六亿 is 460,000,000 and not 459,999,999.99999994.
        exact = Decimal(repr(whole)) + Decimal("0." + "".join(str(_DIGIT[c]) for c in d.group(2)))
        for ch in d.group(3):
            exact *= _BIG[ch]
        return float(exact)
    m = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)([万萬亿億]*)", text)
    if m:
        value = float(m.group(1))
        for ch in m.group(2):
            value *= _BIG[ch]
        return value
    if not text or any(ch not in _DIGIT and ch not in _UNIT and ch not in _BIG for ch in text):
        return None
    # Largest scale first: 一亿二千万 = 1 × 10⁸ + 2000 × 10⁴; a scale may repeat (三千万万).
    for ch in ("亿", "億", "万", "萬"):
        if ch in text:
            # A repeated scale is the outer one: 一万六千五百万 = 16,500 × 10⁴, 三千万万 = 3,000 × 10⁸.
            head, _, rest = text.rpartition(ch) if text.count(ch) > 1 else text.partition(ch)
            head_value = parse_zh(head) if head else 1.0
            rest_value = parse_zh(rest) if rest else 0.0
            if head_value is None or rest_value is None:
                return None
            # A rest written without its unit after 万 (两万五 = 25,000) is not read: rare and ambiguous.
            return head_value * _BIG[ch] + rest_value
    section = _parse_section(text)
    return None if section is None else float(section)


def _read_run(run: str) -> tuple[float, float, bool] | None:
    """(low, high, approximate) of one numeral run, or None when it is not a quantity."""
    run = run.replace("廿", "二十").replace("卅", "三十").replace("卌", "四十")
    if run.startswith("数"):
        # 数十 / 数百万: "several tens", read like 几.
        run = "几" + run[1:]
    scale = 1.0
    approx = False
    m = re.fullmatch(r"(.+?)([多余])([万萬亿億]+)", run)
    if m:
        # 十余万 = more than 100,000: the approximation sits before the scale, and applies to the
        # last section only (一亿三千多万 = 10⁸ + 3,000–3,999 × 10⁴).
        number = m.group(1)
        outer = max((number.rfind(c) for c in "亿億万萬"), default=-1)
        head_value = parse_zh(number[:outer + 1]) if outer >= 0 else 0.0
        low = parse_zh(number[outer + 1:]) if number[outer + 1:] else None
        if low is None or head_value is None:
            return None
        step = _last_place(number[outer + 1:])
        for ch in m.group(3):
            scale *= _BIG[ch]
        return head_value + low * scale, head_value + (low + step) * scale - 1, True
    m = re.fullmatch(r"(.*?)([万萬亿億]+)", run)
    if m and ("几" in m.group(1) or _neighbour_digits(m.group(1))):
        for ch in m.group(2):
            scale *= _BIG[ch]
        run = m.group(1)
    if "几" in run:
        i = run.index("几")
        after_unit = i > 0 and run[i - 1] in _UNIT
        low = parse_zh(run.replace("几", "一" if after_unit else "二", 1).replace("几", ""))
        high = parse_zh(run.replace("几", "九", 1).replace("几", ""))
        if low is None or high is None or run == "几":
            return None
        return low * scale, high * scale, True
    pair = _neighbour_digits(run)
    if pair:
        return pair[0] * scale, pair[1] * scale, True
    value = parse_zh(run)
    if value is None:
        return None
    return value * scale, value * scale, approx


def _last_place(text: str) -> float:
    """The place value of a numeral's last digit: 三十 → 10, 三千 → 1000, 35 → 1, 二十万 → 100,000."""
    scale = 1.0
    while text and text[-1] in _BIG:
        scale *= _BIG[text[-1]]
        text = text[:-1]
    last = text[-1] if text else ""
    return float(_UNIT[last]) * scale if last in _UNIT else scale


def _neighbour_digits(run: str) -> tuple[float, float] | None:
    """Approximate counts of two neighbouring digits: 三四十 (30–40), 二三百, 十七八 (17–18), 三五."""
    m = re.fullmatch(r"(.*?)([一二两三四五六七八九])([二两三四五六七八九])([十百千]?)", run)
    if not m:
        return None
    head, d1, d2, unit = m.groups()
    a, b = _DIGIT[d1], _DIGIT[d2]
    if d1 in "二两" and d2 in "二两" or not (b == a + 1 or (a, b) == (3, 5)):
        return None
    if head and head[-1] not in _UNIT:
        return None  # 一九五八 is a year read digit by digit, not a range
    if head and unit and _UNIT[head[-1]] <= _UNIT[unit]:
        return None  # only a smaller place after the head: 二百七八十 (270–280), 一千二三百
    low, high = parse_zh(head + d1 + unit), parse_zh(head + d2 + unit)
    if low is None or high is None:
        return None
    return low, high


# Two neighbouring digits written with an enumeration comma before a place (七、八十 "seventy or
# eighty", 二百七、八十亩): one range, as 七八十 is. Not at the start of a line or clause, where
# 一、 numbers a list item.
_RANGE_COMMA = re.compile(r"(?<=[^\s。；：！？，、（(])([一二三四五六七八九])、(?=([二三四五六七八九])[十百千万])")


def _join_range(m: re.Match[str]) -> str:
    return m.group(1) if _DIGIT[m.group(2)] == _DIGIT[m.group(1)] + 1 else m.group(0)


def zh_quantities(text: str) -> list[Quantity]:
    """Every quantity of a Chinese text that a translation should carry, in order."""
    norm = _RANGE_COMMA.sub(_join_range, text.replace("廿", "二十").replace("卅", "三十").replace("卌", "四十"))
    out: list[Quantity] = []
    taken = [False] * len(norm)

    def take(start: int, end: int) -> None:
        for k in range(start, end):
            taken[k] = True

    # Dates first (zhnum's patterns), so that 八月一日 is not read as counts.
    for span in find_numbers(norm):
        v = span.value
        if not isinstance(v, Date) or _in_idiom(norm, span.start, span.end):
            continue
        take(span.start, span.end)
        if v.month is not None and v.day is not None:
            out.append(Quantity(span.text, v.day, v.day, "date", start=span.start, month=v.month, day=v.day))
        elif v.month is not None:
            out.append(Quantity(span.text, v.month, v.month, "month", start=span.start, month=v.month))
        elif v.day is not None:
            out.append(Quantity(span.text, v.day, v.day, "day", start=span.start, day=v.day))
        if v.year is not None:
            out.append(Quantity(span.text, v.year, v.year, "year", start=span.start))
    for m in _FRACTION.finditer(norm):
        if any(taken[m.start():m.end()]):
            continue
        den, num = parse_zh(m.group(1)), parse_zh(m.group(2))
        if den and num is not None:
            take(m.start(), m.end())
            kind = "percent" if den == 100 else "fraction"
            value = num if den == 100 else num / den
            out.append(Quantity(m.group(0), value, value, kind, start=m.start()))
    for m in _ZH_RUN.finditer(norm):
        start, end = m.start(), m.end()
        run = m.group(0)
        # Financial numerals (伍, 陆, 拾…) are also everyday characters (队伍, 陆军, 收拾): one leading a
        # run of ordinary numerals belongs to the word before it (游行队伍五万人), and one alone is no count.
        common = next((k for k, ch in enumerate(run) if ch not in _FINANCIAL), len(run))
        if common == len(run) and len(run) == 1:
            continue
        if 0 < common < len(run) and all(ch not in _FINANCIAL for ch in run[common:]):
            start, run = start + common, run[common:]
        if any(taken[start:end]) or _in_idiom(norm, start, end):
            continue
        before, after = norm[max(0, start - 2):start], norm[end:end + 2]
        if start > 0 and norm[start - 1] in "星礼":  # 星期一, 礼拜三: weekdays
            continue
        if _DOTTED_EVENT.fullmatch(run) and not (after[:1] in MEASURE or after[:1] in _BIG or after[:1] in ("%", "％")
                                                   or any(after.startswith(u) for u in UNIT_WORDS)):
            continue  # 四·一二 (the April 12 coup), 八·一: an event named by its date, like 九一八
        read = _read_run(run)
        if read is None:
            continue
        low, high, approx = read
        chinese = not re.match(r"[0-9０-９]", run)
        lone = chinese and len(run) == 1
        if lone and run in _UNIT and not any(after.startswith(u) for u in _MEASURES_OF_A_LONE_UNIT):
            continue  # 百货, 千里: a unit alone is not a count (千亩 and 百人 are)
        if lone and not (after[:1] in MEASURE or after[:2] in UNIT_WORDS or after[:1] in ("多", "余")):
            continue
        if low == high == 1 and not approx:
            continue  # 一个, 一国: "a", "one", "the"… too ambiguous to check
        if _restates_enumeration(norm, start, end, low):
            continue
        kind = "count"
        if before.endswith("第"):
            kind = "ordinal"
        elif after.startswith("%") or after.startswith("％"):
            kind = "percent"
        if any(before.endswith(p) for p in _PREFIX_APPROX) or any(after.startswith(s) for s in _SUFFIX_APPROX):
            approx = True
        suffix = norm[end:end + 1]
        approximate_suffix = suffix in ("多", "余")
        if approximate_suffix and low == high:
            step = _last_place(run)
            high = low + step - (1 if step > 1 else 0.5)
            approx = True
        unit = next((u for u in sorted(UNIT_WORDS, key=len, reverse=True)
                     if norm.startswith(u, end + (1 if approximate_suffix else 0))
                     or norm.startswith("个" + u, end)), "")
        take(start, end)
        # The evidence shows the count with its approximation and unit, as written: 三十多人, 五国.
        shown = norm[start:end + (1 if approximate_suffix else 0)] + (unit if norm.startswith(unit, end + (1 if approximate_suffix else 0)) else "")
        out.append(Quantity(shown, low, high, kind, approx, unit, start))
    return sorted(out, key=lambda q: q.start)


# --- English ------------------------------------------------------------------------------------

_UNITS_EN = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen".split())}
_TENS_EN = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_ORD_EN = {w: i + 1 for i, w in enumerate(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
    "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth".split())}
_ORD_EN.update({w: 10 * (i + 2) for i, w in enumerate(
    "twentieth thirtieth fortieth fiftieth sixtieth seventieth eightieth ninetieth".split())})
_SCALE_EN = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000}
_FRACTION_EN = {"half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4, "quarters": 4, "fourth": 4,
                "fourths": 4, "fifth": 5, "fifths": 5, "sixth": 6, "sixths": 6, "eighth": 8, "eighths": 8,
                "tenth": 10, "tenths": 10}
_EXTRA_EN = {"both": 2, "twice": 2, "double": 2, "pair": 2, "couple": 2, "dozen": 12, "score": 20,
             "thrice": 3, "triple": 3, "single": 1, "once": 1}
_VAGUE_PLURAL = {"dozens": (24, 99), "scores": (40, 99), "hundreds": (200, 999), "thousands": (2000, 9999),
                 "millions": (2_000_000, 999_999_999)}
_APPROX_EN = re.compile(r"(?:about|around|approximately|nearly|almost|some|over|more than|less than|fewer than|"
                        r"up to|at least|roughly|close to|upwards of|in excess of|under|as many as)\s+$", re.I)
_ROMAN_EN = {"II": 2, "III": 3, "IV": 4, "VI": 6, "VII": 7, "VIII": 8, "IX": 9, "XI": 11, "XII": 12}
_TOKEN = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|[A-Za-z]+|%")


def _word_number(word: str) -> float | None:
    w = word.lower()
    if w in _UNITS_EN:
        return float(_UNITS_EN[w])
    if w in _TENS_EN:
        return float(_TENS_EN[w])
    return None


def en_quantities(text: str) -> list[Quantity]:
    """Every quantity an English text states (``Quantity.unit``: the next few words, lower-case)."""
    toks = [(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    out: list[Quantity] = []

    def after(k: int, n: int = 4) -> str:
        return " ".join(t for t, _s, _e in toks[k:k + n]).lower()

    def add(low: float, high: float, kind: str, i0: int, i1: int) -> None:
        start, end = toks[i0][1], toks[i1 - 1][2]
        approx = bool(_APPROX_EN.search(text[max(0, start - 20):start])) or low != high
        out.append(Quantity(text[start:end], low, high, kind, approx, after(i1), start))
        # "five other offices" / "and four others": the text states a total one larger.
        nxt = toks[i1][0].lower() if i1 < len(toks) else ""
        if nxt in ("other", "others", "more") and low == high:
            out.append(Quantity(text[start:end] + " " + nxt, low + 1, high + 1, "total", approx, after(i1 + 1), start))

    i = 0
    while i < len(toks):
        tok, low_tok = toks[i][0], toks[i][0].lower()
        nxt = toks[i + 1][0].lower() if i + 1 < len(toks) else ""
        nxt2 = toks[i + 2][0].lower() if i + 2 < len(toks) else ""
        # Fractions: "one-third", "two thirds", "a quarter", "half".
        if nxt in _FRACTION_EN and (low_tok in ("a", "one") or _word_number(tok) or tok.isdigit()) \
                and not (nxt in ("fourth", "fifth", "sixth", "eighth", "tenth") and low_tok == "a"):
            num = 1.0 if low_tok in ("a", "one") else (_word_number(tok) or float(tok))
            add(num / _FRACTION_EN[nxt], num / _FRACTION_EN[nxt], "fraction", i, i + 2)
            i += 2
            continue
        if low_tok == "half":
            add(0.5, 0.5, "fraction", i, i + 1)
            i += 1
            continue
        # Vague magnitudes: "several hundred", "a few thousand", "hundreds of", "tens of thousands".
        if low_tok in ("several", "few") and nxt in _SCALE_EN:
            scale = _SCALE_EN[nxt]
            add(2 * scale, 9 * scale, "count", i, i + 2)
            i += 2
            continue
        if low_tok == "tens" and nxt == "of" and nxt2 in ("thousands", "millions"):
            scale = 10_000 if nxt2 == "thousands" else 10_000_000
            add(2 * scale, 9.99 * scale, "count", i, i + 3)
            i += 3
            continue
        if low_tok in _VAGUE_PLURAL and (nxt == "of" or nxt in ("thousands", "millions")):
            lo, hi = _VAGUE_PLURAL[low_tok]
            if nxt in ("thousands", "millions"):
                mult = 1000 if nxt == "thousands" else 1_000_000
                lo, hi = lo * mult, hi * mult
                add(lo, hi, "count", i, i + 2)
                i += 2
            else:
                add(lo, hi, "count", i, i + 1)
                i += 1
            continue
        if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?", tok):
            value = float(tok.replace(",", ""))
            j = i + 1
            while j < len(toks) and toks[j][0].lower() in _SCALE_EN:
                value *= _SCALE_EN[toks[j][0].lower()]
                j += 1
            kind = "count"
            if j < len(toks) and (toks[j][0] == "%" or toks[j][0].lower() == "percent"
                                  or (toks[j][0].lower() == "per" and j + 1 < len(toks)
                                      and toks[j + 1][0].lower() == "cent")):
                kind = "percent"
            if j == i + 1 and j < len(toks) and toks[j][1] == toks[i][2] and toks[j][0].lower() in ("st", "nd", "rd", "th"):
                kind = "ordinal"  # "31st": the suffix is its own token
                j += 1
            add(value, value, kind, i, j)
            i = j
            continue
        if low_tok in _ORD_EN:
            add(float(_ORD_EN[low_tok]), float(_ORD_EN[low_tok]), "ordinal", i, i + 1)
            i += 1
            continue
        if _word_number(tok) is not None or (low_tok == "a" and nxt in _SCALE_EN):
            total = current = 0.0
            j = i
            while j < len(toks):
                w = toks[j][0].lower()
                prev = toks[j - 1][0].lower() if j > i else ""
                if _word_number(w) is not None and current % 100 and not (
                        prev in _TENS_EN and w in _UNITS_EN and _UNITS_EN[w] < 10):
                    break  # "Three-Eight Style", "two three": two numbers, not 11 or 5 ("twenty-eight" is one)
                if _word_number(w) is not None:
                    current += _word_number(w)  # type: ignore[operator]
                elif w == "a" and j == i:
                    current = 1.0
                elif w == "hundred":
                    current = (current or 1.0) * 100
                elif w in _SCALE_EN:
                    total += (current or 1.0) * _SCALE_EN[w]
                    current = 0.0
                elif w == "and" and j + 1 < len(toks) and _word_number(toks[j + 1][0]) is not None and j > i:
                    pass
                elif w in _ORD_EN and j > i and _TENS_EN.get(toks[j - 1][0].lower()):
                    current += _ORD_EN[w]  # "twenty-first"
                    j += 1
                    break
                else:
                    break
                j += 1
            value = total + current
            if low_tok == "a" and value == 1.0:
                i += 1
                continue
            kind = "percent" if j < len(toks) and toks[j][0].lower() in ("percent", "%") else "count"
            add(value, value, kind, i, j)
            i = j
            continue
        if low_tok in _EXTRA_EN:
            add(float(_EXTRA_EN[low_tok]), float(_EXTRA_EN[low_tok]), "count", i, i + 1)
        elif tok in _ROMAN_EN:
            add(float(_ROMAN_EN[tok]), float(_ROMAN_EN[tok]), "ordinal", i, i + 1)
        i += 1
    for m in re.finditer(r"\b(\d+)/(\d+)\b", text):
        num, den = int(m.group(1)), int(m.group(2))
        if den:
            out.append(Quantity(m.group(0), num / den, num / den, "fraction", False, "", m.start()))
    return out


# --- English dates (month, day) -------------------------------------------------------------------

_MONTHS_EN = {m.lower(): i + 1 for i, m in enumerate(_MONTH_NAMES)}
_MONTHS_EN.update({m[:3]: i for m, i in list(_MONTHS_EN.items())})
_MONTHS_EN["sept"] = 9
_DATE_TOKEN = re.compile(r"\d{1,2}(?:st|nd|rd|th)?\b|[A-Za-z]+")


def _day(tokens: list[tuple[str, int, int]], k: int) -> tuple[int, int] | None:
    """The day written at token k ("5", "5th", "fifth", "twenty-first"): (day, tokens used)."""
    if not 0 <= k < len(tokens):
        return None
    tok = tokens[k][0].lower()
    m = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?", tok)
    if m:
        day, used = int(m.group(1)), 1
    elif tok in _TENS_EN and k + 1 < len(tokens) and tokens[k + 1][0].lower() in _ORD_EN:
        day, used = _TENS_EN[tok] + _ORD_EN[tokens[k + 1][0].lower()], 2
    elif tok in _ORD_EN:
        day, used = _ORD_EN[tok], 1
    elif tok in _UNITS_EN and tok != "zero":
        day, used = _UNITS_EN[tok], 1
    else:
        return None
    return (day, used) if 1 <= day <= 31 else None


def english_dates(text: str) -> tuple[frozenset[int], tuple[tuple[int, int, str], ...]]:
    """The months an English text names and its (month, day, text) dates: "August 1", "1st August",
    "the first of August". "May" counts as a month only before a day."""
    tokens = [(m.group(0), m.start(), m.end()) for m in _DATE_TOKEN.finditer(text)]
    months: set[int] = set()
    dates: list[tuple[int, int, str]] = []
    for i, (tok, start, end) in enumerate(tokens):
        low = tok.lower()
        if low not in _MONTHS_EN or not tok[0].isupper():
            continue
        month = _MONTHS_EN[low]
        after = _day(tokens, i + 1)
        if tok != "May" or after:
            months.add(month)
        if after:
            dates.append((month, after[0], text[start:tokens[i + after[1]][2]]))
            continue
        back = 2 if i >= 2 and tokens[i - 1][0].lower() == "of" else 1
        before = _day(tokens, i - back)
        if before and before[1] == 1:
            dates.append((month, before[0], text[tokens[i - back][1]:end]))
    return frozenset(months), tuple(dates)


# --- alignment ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Finding:
    """A Chinese quantity the English does not render: a ``conflict`` (``english`` names what the
    English says instead) or an ``absence``."""

    kind: str
    chinese: Quantity
    english: Quantity | str | None

    def evidence(self) -> str:
        zh = f"{self.chinese.text} ({self.chinese.shown()})"
        if self.kind == "conflict":
            if isinstance(self.english, Quantity):
                return f"{zh} ↔ {self.english.text!r} ({self.english.shown()})"
            return f"{zh} ↔ {self.english!r}"
        return f"{zh} → not in the English"


def _overlaps(zh: Quantity, en: Quantity) -> bool:
    lo, hi = zh.low, zh.high
    elo, ehi = en.low, en.high
    if (zh.approx or en.approx) and lo == hi:
        # "nearly 2,500" for 二千四百多; an interval reading (三十多: 30–39) already carries its slack.
        slack = 0.1 * max(abs(lo), 1e-9)
        lo, hi = lo - slack, hi + slack
    eps = 1e-9 * max(abs(lo), abs(hi), 1.0)  # 4.6 × 10⁸ is 459,999,999.99999994 in binary floating point
    return elo <= hi + eps and ehi >= lo - eps


def _renders(zh: Quantity, en: Quantity) -> bool:
    if zh.kind == "fraction" or en.kind == "fraction":
        if zh.kind == "fraction" and en.kind == "fraction":
            return abs(zh.low - en.low) < 0.01
        if zh.kind == "fraction" and en.kind == "percent":
            return abs(zh.low * 100 - en.low) < 1.0
        return False
    return _overlaps(zh, en)


@functools.lru_cache(maxsize=128)
def _words_pattern(alternatives: str, lead: int) -> re.Pattern[str]:
    """The English words ``alternatives`` at the start of a quantity's following words, after up to
    ``lead`` other words ("30 heavy tons")."""
    return re.compile(rf"^(?:[a-z]+ ){{0,{lead}}}(?:{alternatives})\b")


def _unit_pattern(unit: str) -> re.Pattern[str]:
    return _words_pattern(UNIT_WORDS[unit], 2)


def _other_unit(q: Quantity, hits: list[Quantity]) -> Quantity | None:
    """The English rendering of ``q``'s number in another unit of its dimension, if no rendering
    keeps its unit (see ``_DIMENSIONS``)."""
    dimension = next((d for d in _DIMENSIONS if q.unit in d), None)
    if dimension is None or q.kind != "count":
        return None
    if any(_words_pattern(dimension[q.unit], 1).match(e.unit) for e in hits):
        return None
    for e in hits:
        for unit, english in dimension.items():
            if unit != q.unit and (m := _words_pattern(english, 1).match(e.unit)):
                return Quantity(f"{e.text} {m.group(0)}", e.low, e.high, e.kind, e.approx, e.unit, e.start)
    return None


def _leading_digits(x: float) -> tuple[int, int]:
    """(significant digits as an integer, power of ten): 20,000 → (2, 4); 2,500 → (25, 2)."""
    if x <= 0:
        return (0, 0)
    exp = int(math.floor(math.log10(x)))
    mant = round(x / 10 ** exp, 6)
    digits = int(round(mant * 1000))
    while digits and digits % 10 == 0:
        digits //= 10
    return digits, exp


def compare(zh: str, en: str) -> list[Finding]:
    """The Chinese quantities of a paragraph that its English does not render, each a conflict or an
    absence (see the module docstring)."""
    chinese = zh_quantities(zh)
    if not chinese:
        return []
    english = en_quantities(en)
    months, dates = english_dates(en)
    findings: list[Finding] = []
    used: set[int] = set()
    pending: list[Quantity] = []
    for q in chinese:
        if q.kind == "date":
            if any(m == q.month and d == q.day for m, d, _t in dates):
                continue
            other = [t for m, d, t in dates if m == q.month and d != q.day]
            if other:
                findings.append(Finding("conflict", q, other[0]))
            else:
                findings.append(Finding("absence", q, None))
            continue
        if q.kind == "month":
            if q.month in months or any(e.low == q.month for e in english):
                continue
            findings.append(Finding("absence", q, None))
            continue
        hits = [k for k, e in enumerate(english) if _renders(q, e)]
        if hits:
            used.update(hits)
            if (wrong := _other_unit(q, [english[k] for k in hits])) is not None:
                findings.append(Finding("conflict", q, wrong))
            continue
        pending.append(q)
    # Rivals: unaligned English counts, not 1 ("one person", "a"), which is too ambiguous to oppose.
    free = [e for k, e in enumerate(english) if k not in used and e.kind in ("count", "total", "percent")
            and not e.low == e.high == 1]
    for q in pending:
        if q.low != q.high and any(0.9 * q.low <= e.low <= q.high for e in free):
            continue  # an approximate count rendered by its round base (二十几年 → "twenty years")
        rival: Quantity | str | None = None
        if q.unit and q.kind == "count":
            pattern = _unit_pattern(q.unit)
            for e in free:
                m = pattern.match(e.unit)
                if m and not _overlaps(q, e):
                    rival = Quantity(f"{e.text} {m.group(0)}", e.low, e.high, e.kind, e.approx, e.unit, e.start)
                    break
        if rival is None and q.kind in ("count", "percent") and q.low == q.high and q.low >= 1000:
            digits, exp = _leading_digits(q.low)
            rival = next((e for e in free if e.low == e.high and e.low >= 100 and _leading_digits(e.low)[0] == digits
                          and _leading_digits(e.low)[1] != exp and not _overlaps(q, e)), None)
        findings.append(Finding("conflict", q, rival) if rival is not None else Finding("absence", q, None))
    return _leftover_conflict(findings, free, chinese)


def _leftover_conflict(findings: list[Finding], free: list[Quantity], chinese: list[Quantity]) -> list[Finding]:
    """One quantity of the Chinese left unrendered and one of the English left unaligned, of the
    same kind and within a factor of five: the English changed it (1958 → 1968, 三十 → "forty").
    Only when exactly one is left on each side, so that a count the English adds or drops with
    another one beside it is not mistaken for a change; English numbers that restate the
    Chinese dates (days, months, years) are not left over."""
    absent = [k for k, f in enumerate(findings) if f.kind == "absence" and f.chinese.low == f.chinese.high
              and f.chinese.kind in ("count", "year", "percent", "ordinal")]
    dated = {v for q in chinese for v in (q.month, q.day) if v is not None}
    dated |= {q.low for q in chinese if q.kind == "year"}
    left = [e for e in free if e.low == e.high and e.low not in dated and e.kind != "total"]
    if len(absent) != 1 or len(left) != 1:
        return findings
    q, e = findings[absent[0]].chinese, left[0]
    yearish = 1800 <= e.low <= 2100
    if (q.kind == "year") != yearish or not (q.low / 5 <= e.low <= q.low * 5) or q.low == e.low:
        return findings
    if _other_unit(q, [e]) is not None:
        return findings  # converted into another unit of its dimension (八十里 → "40 kilometres")
    out = list(findings)
    out[absent[0]] = Finding("conflict", q, e)
    return out


EN_DATELINE_OPENING = re.compile(r"\W*(?:xinhua|new china news agency|ncna|hsinhua|tass)\b[^:：\n]{0,60}?[:：]",
                                  re.I)


def dateline_month_conflict(dateline: str, published: str, en: str) -> str | None:
    """A dateline's day (新华社二十七日讯) whose month the English states wrongly.

    A dateline gives the day only; its month is implied by the paper's date: the same month if
    the day is not after the paper's, else the month before (a news item reports a past day). An
    English "March 27" for 新华社二十七日讯 in the paper of 1957-03-01 is a changed date. Returns the
    evidence, or None (no day, no date in the English, or the right month).
    """
    m = re.search(r"([0-9０-９]{1,2}|[一二三四五六七八九十廿卅]{1,3})日", dateline)
    pub = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", published or "")
    if not m or not pub:
        return None
    day = parse_zh(m.group(1))
    if day is None or not 1 <= day <= 31:
        return None
    year, month, pub_day = (int(x) for x in pub.groups())
    implied = month if day <= pub_day else (month - 2) % 12 + 1
    # When the English opens with its own dateline ("Xinhua News Agency, December 29th: …"), that
    # date is the dateline's rendering; a date later in the text is another one (the event's).
    opening = EN_DATELINE_OPENING.match(en)
    _months, dates = english_dates(opening.group(0) if opening else en)
    wrong = [text for mo, d, text in dates if d == day and mo != implied]
    if not wrong or any(d == day and mo == implied for mo, d, _t in dates):
        return None
    return f"{dateline} ({_MONTH_NAMES[implied - 1]} {int(day)}, in the paper of {published}) ↔ {wrong[0]!r}"


__all__ = ["dateline_month_conflict", "Finding", "Quantity", "UNIT_WORDS", "compare", "en_quantities", "parse_zh", "zh_quantities"]

