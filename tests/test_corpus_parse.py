"""Parsing archive article files: every layout variant of FORMATS.md, on the real corpus files."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from conftest import ARTICLES, GOLD, SEED

from evalkit.corpus import parse_article
from evalkit.corpus.anchors import en_numbers, zh_number, zh_numbers

ALL_FILES = sorted(ARTICLES.glob("*.md")) + [SEED]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, GOLD / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EXTRACT_EN = _load("extract_en").extract_en
EXTRACT_ZH = _load("extract_zh").extract


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.stem)
def test_body_lines_are_the_gold_extraction(path: Path):
    # The gold alignments index lines by these two scripts; our indices must be theirs.
    article = parse_article(path)
    assert [p.text for p in article.en] == EXTRACT_EN(str(path))
    assert [p.text for p in article.zh] == EXTRACT_ZH(str(path))[1]


HEADERS = [
    # file stem fragment, title_en, author_en, date, page, page_key, title_zh, author_zh, column
    ("1946-05-15_新华书店", "Xinhua Bookstore to Publish Three Periodicals", "", "1946-05-15", "2", "Edition",
     "新华书店将出三种期刊", "", ""),
    ("1946-05-17_济宁日报创刊", "Inauguration of Jining Daily", "", "1946-05-17", "2", "Edition",
     "济宁日报创刊", "", ""),
    ("1946-06-04_边区成立邮政学校", "Border Region Establishes Postal School", "Chen Bin, Qi Yan", "1946-06-04",
     "2", "Page", "边区成立邮政学校", "陈彬  启艳", ""),
    ("1948-10-02_美国侵华零讯", "American Aggression Against China - News Snippets", "", "1948-10-02", "2",
     "Page", "美国侵华零讯", "", "美国侵华零讯"),
    ("1950-11-02_瑞典国王", "King Gustav V of Sweden Passes Away, Chairman Mao Sends Condolences", "",
     "1950-11-02", "1", "Page", "瑞典国王古斯塔夫五世病逝  毛主席致电吊唁", "", ""),
    ("1960-05-01_国际简讯", "International Briefs", "", "1960-05-01", "6", "Page", "国际简讯", "", "国际简讯"),
    ("1966-10-01_红树绿", "Red Heart, Green Trees", "Fùjí Wén", "1966-10-01", "6", "Edition", "红树绿",
     "富集文", ""),
    ("000_53f484adf56f99c2", "Khrushchev's Letter to Eisenhower", "", "1958-08-07", "2", "Page",
     "赫鲁晓夫给艾森豪威尔的信", "", ""),
]


def _file(fragment: str) -> Path:
    (path,) = [p for p in ALL_FILES if fragment in p.name]
    return path


@pytest.mark.parametrize("fragment,title,author,date,page,page_key,title_zh,author_zh,column", HEADERS,
                         ids=[h[0] for h in HEADERS])
def test_headers(fragment, title, author, date, page, page_key, title_zh, author_zh, column):
    article = parse_article(_file(fragment))
    assert (article.title_en, article.author_en, article.date, article.page, article.page_key) == (
        title, author, date, page, page_key)
    assert (article.title_zh, article.author_zh, article.column) == (title_zh, author_zh, column)
    assert article.date_zh == date


def test_multi_deck_headline_is_split_into_decks():
    article = parse_article(_file("1950-11-02_瑞典国王"))
    assert article.headline_decks == ("瑞典国王古斯塔夫五世病逝", "毛主席致电吊唁")


@pytest.mark.parametrize("fragment,entries,sample", [
    ("1946-05-15_新华书店", 7, ("新大众", "Xin Dazhong (New Masses)")),           # two-space separators
    ("1946-05-17_济宁日报创刊", 3, ("济宁日报", "Jining Daily")),                  # TAB separators
])
def test_named_entities_become_a_glossary_not_paragraphs(fragment, entries, sample):
    article = parse_article(_file(fragment))
    assert len(article.glossary) == entries
    assert article.glossary[sample[0]] == sample[1]
    assert not any("Named Entities" in p.text or sample[1] == p.text for p in article.en)


def test_right_aligned_signature_keeps_its_indent_as_layout_evidence():
    article = parse_article(SEED)
    signature = next(p for p in article.zh if p.text == "尼·赫鲁晓夫")
    assert signature.indent == " " * 20
    assert signature.line == 146  # 1-based line in the file, for messages users can follow


# A synthetic file with the irregularities of FORMATS.md §2-§5 that the corpus copies lack.
IRREGULAR = (
    "Title:国民党 Forces in Hebei\n"          # no space after the colon, Chinese left in the title
    "\n"
    "Author: \n"                                # blank line between keys, trailing space, empty author
    "\n"
    "Date: 1946-05-17\n"
    "Edition: 2\n"
    "\tFirst paragraph, tab indented.\n"        # no blank line before the body
    "    \n"                                    # a whitespace-only line
    "\u3000\u3000Second paragraph, full-width indent.\n"
    "Third paragraph, no indent.\n"
    "\n\n\n"
    "<hr /> \n\nOriginal: \n\n\n"
    "### 国民党军  进犯河北\n"
    "\n"
    "1946-05-17\n"
    "第2版()\n"
    "专栏：\n"
    "\n"
    "    第一段\n"
    "\u3000\n"                                  # a stanza break: only a full-width space
    "    第二段\n"
    "                    第三段\n"
)


def test_irregular_header_and_body_variants(tmp_path: Path):
    path = tmp_path / "1946-05-17_国民党军进犯河北.md"
    path.write_text(IRREGULAR, encoding="utf-8")
    article = parse_article(path)
    assert article.title_en == "国民党 Forces in Hebei"
    assert article.author_en == ""
    assert (article.date, article.page, article.page_key) == ("1946-05-17", "2", "Edition")
    assert [p.text for p in article.en] == ["First paragraph, tab indented.", "Second paragraph, full-width indent.",
                                            "Third paragraph, no indent."]
    assert [p.indent for p in article.en] == ["\t", "\u3000\u3000", ""]
    assert [p.text for p in article.zh] == ["第一段", "第二段", "第三段"]
    assert [p.break_before for p in article.zh] == [False, True, False]
    assert article.headline_decks == ("国民党军", "进犯河北")


@pytest.mark.parametrize("run,value", [
    ("三十", 30), ("二十九", 29), ("卅一", 31), ("十四万", 140_000), ("一九五○", 1950), ("三百", 300),
    ("十", 10), ("一万", 10_000), ("两千五百", 2500), ("十二", 12),
])
def test_chinese_numerals(run, value):
    assert zh_number(run) == value


@pytest.mark.parametrize("zh,en,shared", [
    ("我收到了你8月1日的信", "I have received your letter of August 1.", {8}),
    ("1958年8月5日于莫斯科", "August 5, 1958, in Moscow", {1958, 8, 5}),
    ("一九五○年十月三十一日北京", "October 31, 1950, Beijing", {1950, 10, 31}),
    ("济宁市十四万市民的号角", "the 140,000 citizens of Jining City", {140_000}),
    ("【新华社陕北三十日电】", "Xinhua News Agency, Northern Shaanxi, 30th", {30}),
])
def test_numbers_are_compared_as_values(zh, en, shared):
    assert zh_numbers(zh) & en_numbers(en) == shared
