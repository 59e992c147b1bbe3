"""Chinese numerals and dates: values and English renderings (evalkit.systems.zhnum)."""

from __future__ import annotations

import pytest

from evalkit.systems.zhnum import Date, Number, extract_numbers, find_numbers, format_number, parse_number


@pytest.mark.parametrize(("text", "value"), [
    ("三十亿", 3_000_000_000), ("一九五八", 1958), ("十九", 19), ("二十九", 29), ("一百零五", 105),
    ("三千二百零五", 3205), ("一亿二千万", 120_000_000), ("五万", 50_000), ("两千", 2000),
    ("30亿", 3_000_000_000), ("1.5万", 15_000), ("1,200", 1200), ("２５", 25), ("二点五", 2.5),
    ("一千零十四", 1014), ("一万零十五", 10_015),  # 零 then 十: an implied 一 (一十)
])
def test_parse_number_reads_chinese_arabic_and_mixed_numerals(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["", "人民", "十分", "一二三四五六x"])
def test_parse_number_rejects_what_is_not_a_numeral(text):
    assert parse_number(text) is None


@pytest.mark.parametrize(("zh", "english"), [
    ("我收到了你8月1日的信。", ["August 1"]),
    ("1958年8月5日于莫斯科", ["August 5, 1958"]),
    ("一九五八年八月五日", ["August 5, 1958"]),
    ("二十九日", ["29th"]),
    ("三十亿人民", ["3 billion"]),
    ("一百二十万吨", ["1.2 million"]),
    ("五万人", ["50,000"]),
    ("一百多人", ["more than 100"]),
    ("百分之五十", ["50 percent"]),
    ("第二次世界大战", ["second"]),
    ("十月", ["October"]),
    ("1946年", ["1946"]),
    ("三个国家和两国", ["3", "2"]),
])
def test_find_numbers_renders_numbers_and_dates_in_english(zh, english):
    assert [span.value.english() for span in find_numbers(zh)] == english


@pytest.mark.parametrize("zh", ["统一", "一切", "十分重要", "万一", "一些国家", "同意"])
def test_words_that_merely_contain_numeral_characters_are_not_numbers(zh):
    assert find_numbers(zh) == []


def test_extract_numbers_returns_typed_values_in_order():
    assert extract_numbers("1958年8月5日，三十亿人中的第三个") == [
        Date(1958, 8, 5), Number(3_000_000_000), Number(3, "ordinal")]


def test_spans_point_back_into_the_source_text():
    zh = "在8月1日的信中"
    (span,) = find_numbers(zh)
    assert zh[span.start:span.end] == span.text == "8月1日"


@pytest.mark.parametrize(("value", "text"), [(1958, "1958"), (12_000, "12,000"), (3e9, "3 billion"), (2.5, "2.5")])
def test_format_number_writes_english_digits(value, text):
    assert format_number(value) == text
