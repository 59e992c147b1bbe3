"""Paragraph alignment: the seed exactly, hand-checked pairs of the corpus, the gold set, speed."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest
from conftest import ARTICLES, GOLD, SEED

from evalkit.corpus import align_article, parse_article
from evalkit.corpus.align import align

ALL_FILES = sorted(ARTICLES.glob("*.md")) + [SEED]


def _records(path: Path):
    return align_article(parse_article(path))


def _file(fragment: str) -> Path:
    (path,) = [p for p in ALL_FILES if fragment in p.name]
    return path


def _gold(path: Path) -> dict:
    return json.loads((GOLD / f"{path.stem}.json").read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------- the seed

def test_seed_matches_every_gold_group():
    records = [r for r in _records(SEED) if r.kind != "headline"]
    gold = _gold(SEED)["groups"]
    assert [(list(r.en_lines), list(r.zh_lines)) for r in records] == [(g["en"], g["zh"]) for g in gold]


SEED_PAIRS = [
    # index, bead, English, Chinese (whole texts; merged lines joined with "\n")
    (0, "1-1", "Khrushchev's Letter to Eisenhower", "赫鲁晓夫给艾森豪威尔的信"),  # the headline pair
    (1, "2-1", "Khrushchev's Letter to Eisenhower\nDear Mr. President:", "赫鲁晓夫给艾森豪威尔的信尊敬的总统先生："),
    (39, "1-1", "Finally, I hope that the US government", "最后，我希望美国政府"),
    (40, "1-2", "Sincerely,", "此致\n敬意"),
    (41, "1-1", "N. Khrushchev", "尼·赫鲁晓夫"),
    (42, "1-1", "August 5, 1958, in Moscow", "1958年8月5日于莫斯科"),
]


@pytest.mark.parametrize("index,bead,en,zh", SEED_PAIRS, ids=[f"#{p[0]}" for p in SEED_PAIRS])
def test_seed_named_pairs(index, bead, en, zh):
    record = _records(SEED)[index]
    assert record.bead == bead
    assert record.en.startswith(en) and record.zh.startswith(zh)


def test_seed_body_paragraphs_are_one_to_one_in_order():
    body = _records(SEED)[2:40]  # after the headline and the 2-1 opening, before "Sincerely,"
    assert [r.bead for r in body] == ["1-1"] * 38
    assert [r.en_lines for r in body] == [(i,) for i in range(2, 40)]
    assert [r.zh_lines for r in body] == [(j,) for j in range(1, 39)]
    assert body[0].en.startswith("I have received your letter of August 1")
    assert body[0].zh.startswith("我收到了你8月1日的信")


# ----------------------------------------------------------------------------- hand-checked pairs

HAND_CHECKED = [
    # (file, English starts with, Chinese starts with, bead, kind)
    # Named Entities files: the glossary is metadata, the body pairs normally.
    ("1946-05-15_新华书店", "[This City News] In addition to editing", "【本市消息】华北新华书店除编刊新大众外", "1-1", "body"),
    ("1946-05-17_济宁日报创刊", "Inauguration of Jining Daily", "济宁日报创刊", "1-1", "body"),
    # the poem 对话: OCR glued a speaker label onto a verse line
    ("1958-08-01_对话", 'Threatening your existence?\nAmerican "Overseas Chinese"', "威胁你们的生存？美国“侨民”", "2-1",
     "body"),
    ("1958-08-01_对话", "Wei Wei", "魏巍", "1-1", "body"),
    ("1958-08-01_对话", "You are the one who cares most about us!", "你是最关心我们的人！", "1-1", "body"),
    # multi-story bulletins: ▲ items, subheads, a trailing right-aligned dateline
    ("1948-10-02_美国侵华零讯", "▲ According to a statement by the U.S. Navy", "▲据美海军部二十四日宣布", "1-1", "body"),
    ("1948-10-02_美国侵华零讯", "Xinhua News Agency, Northern Shaanxi, 30th", "【新华社陕北三十日电】", "1-1", "body"),
    ("1960-05-01_国际简讯", "Iranian City of Lar Destroyed by Earthquake", "伊朗拉尔城毁于地震", "1-1", "body"),
    ("1960-05-01_国际简讯", "Tehran Dispatch:", "德黑兰讯", "1-1", "body"),
    # a picture item (woodcut with artist)
    ("1958-08-01_打夯姑娘", "Girls Ramming Earth (Color Woodcut) Wang Qi", "打夯姑娘（套色木刻）　王琦", "1-1", "body"),
    # English dropped the Xinhua dateline: it stays visible inside the pair
    ("1968-12-01_邓宝珊病逝", "National People's Congress representative", "新华社三十日讯　全国人民代表大会代表", "1-1",
     "body"),
    ("1968-12-01_邓宝珊病逝", "", "邓宝珊病逝", "0-1", "headline_repeat"),
    # a telegram: the Chinese lead and address are one line, two in English
    ("1958-08-01_毛主席电贺瑞士国庆", "Xinhua News Agency, July 31st: Chairman Mao Zedong",
     "新华社31日讯　毛泽东主席今天致电", "2-1", "body"),
    ("1958-08-01_毛主席电贺瑞士国庆", "July 31, 1958", "1958年7月31日", "1-1", "body"),
    # the English restates the headline, then the body: one line for two
    ("1968-07-03_我有关机关", "Relevant authorities have announced the expulsion", "我有关机关宣布驱逐两名英国间谍\n新华社天津二日电",
     "1-2", "body"),
    # two-deck headline repeated on two Chinese lines; a telegram signature date
    ("1950-11-02_瑞典国王", "", "毛主席致电吊唁", "0-1", "headline_repeat"),
    ("1950-11-02_瑞典国王", "October 31, 1950, Beijing", "一九五○年十月三十一日北京", "1-1", "body"),
    # numbered lists （七） ↔ (7) and 六、 ↔ 6.
    ("1950-11-01_一般地图", "(7) *New Situation Map", "（七）《中华人民共和国形势新图》", "1-1", "body"),
    ("1950-11-01_一般地图", "6. The railway from Dongan", "六、松江省境内从东安", "1-1", "body"),
    # a closing right-aligned source line
    ("1967-04-03_台湾人民在反抗", "(Source: Xinhua News Agency)", "（新华社）", "1-1", "body"),
    # the headline record itself
    ("1956-06-02_友好往来", "Friendly Exchanges", "友好往来", "1-1", "headline"),
]


@pytest.mark.parametrize("fragment,en,zh,bead,kind", HAND_CHECKED,
                         ids=[f"{h[0]}:{h[2][:8]}" for h in HAND_CHECKED])
def test_hand_checked_pairs(fragment, en, zh, bead, kind):
    records = _records(_file(fragment))
    matches = [r for r in records if r.zh.startswith(zh) and r.kind == kind]
    assert len(matches) == 1, [(r.bead, r.en[:40], r.zh[:20]) for r in records]
    record = matches[0]
    assert (record.bead, record.kind) == (bead, kind)
    assert record.en.startswith(en) if en else record.en == ""


@pytest.mark.parametrize("fragment,dateline", [
    ("1966-10-01_刚果", "据新华社二十九日讯"),
    ("1967-04-01_日中友协", "新华社三十一日讯"),
    ("1968-07-04_智利职工", "据新华社三日讯"),
    ("1968-12-01_邓宝珊病逝", "新华社三十日讯"),
])
def test_dropped_xinhua_dateline_is_noted_on_its_record(fragment, dateline):
    noted = [r for r in _records(_file(fragment)) if "dateline_missing_in_en" in r.meta]
    assert [r.meta["dateline_missing_in_en"] for r in noted] == [dateline]
    assert dateline in noted[0].zh and noted[0].en


def test_kept_dateline_is_not_noted():
    assert not any("dateline_missing_in_en" in r.meta for r in _records(_file("1948-10-02_美国侵华零讯")))


# ----------------------------------------------------------------------------- the gold set

PAIR_FLOOR = 198  # achieved: all 198 `pair` groups of the 25 gold files (bench/results/gold.md)


def _gold_comparison():
    exact = total = repeats_ok = repeats = 0
    lost: list[str] = []
    for path in ALL_FILES:
        gold = _gold(path)
        records = [r for r in _records(path) if r.kind != "headline"]
        got = {(r.en_lines, r.zh_lines): r for r in records}
        for group in gold["groups"]:
            key = (tuple(group["en"]), tuple(group["zh"]))
            if group["kind"] == "pair":
                total += 1
                exact += key in got and got[key].kind == "body"
            elif group["kind"] == "headline_repeat":
                repeats += 1
                repeats_ok += key in got and got[key].kind == "headline_repeat" and got[key].bead == "0-1"
        en = sorted(i for r in records for i in r.en_lines)
        zh = sorted(j for r in records for j in r.zh_lines)
        if en != list(range(gold["en_lines"])) or zh != list(range(gold["zh_lines"])):
            lost.append(path.name)
    return exact, total, repeats_ok, repeats, lost


def test_gold_pairs_come_back_as_one_record_each():
    exact, total, _, _, _ = _gold_comparison()
    assert total == 198
    assert exact >= PAIR_FLOOR


def test_gold_headline_repeats_come_back_as_headline_repeat_records():
    _, _, ok, repeats, _ = _gold_comparison()
    assert (ok, repeats) == (11, 11)


def test_no_line_is_lost_or_duplicated():
    # every English and Chinese body line is in exactly one record
    assert _gold_comparison()[4] == []


# ----------------------------------------------------------------------------- unmatched and speed

def test_untranslated_chinese_is_kept_as_a_0_1_record(tmp_path: Path):
    # Drop one English paragraph from the seed: its Chinese must come back as 0-1, not vanish.
    article = parse_article(SEED)
    cut = dataclasses.replace(article, en=article.en[:10] + article.en[11:])
    records = align_article(cut)
    orphans = [r for r in records if r.bead == "0-1"]
    assert [r.zh_lines for r in orphans] == [(9,)]
    assert orphans[0].kind == "body" and orphans[0].en == ""


@pytest.mark.parametrize("kept", [10, 25])
def test_truncated_english_leaves_the_chinese_tail_unmatched(kept):
    # The archive has English that stops long before the Chinese ends: the kept paragraphs must
    # still pair in order, and the rest of the Chinese come back as one run of 0-1 records
    # rather than being smeared over the document as merges.
    article = parse_article(SEED)
    records = [r for r in align_article(dataclasses.replace(article, en=article.en[:kept])) if r.kind == "body"]
    paired = [r for r in records if r.en]
    assert [(r.en_lines, r.zh_lines) for r in paired] == [((0, 1), (0,))] + [((i,), (i - 1,)) for i in range(2, kept)]
    assert [r.zh_lines for r in records if not r.en] == [(j,) for j in range(kept - 1, 43)]


def test_english_with_no_chinese_is_kept_as_a_1_0_record():
    article = parse_article(SEED)
    cut = dataclasses.replace(article, zh=article.zh[:20] + article.zh[21:])
    orphans = [r for r in align_article(cut) if r.bead == "1-0"]
    assert [r.en_lines for r in orphans] == [(21,)]


def test_every_record_has_a_bead_and_a_non_negative_cost():
    for path in ALL_FILES:
        for record in _records(path):
            assert record.bead in {"1-1", "2-1", "1-2", "3-1", "1-3", "1-0", "0-1"}
            assert record.align_cost >= 0


def test_a_thousand_paragraph_document_aligns_with_a_banded_programme():
    # The whole corpus, five times over, as one document: 1,005 English and 1,055 Chinese lines.
    articles = [parse_article(p) for p in ALL_FILES]
    en = tuple(p for a in articles for p in a.en) * 5
    zh = tuple(p for a in articles for p in a.zh) * 5
    big = dataclasses.replace(articles[-1], en=en, zh=zh)
    start = time.perf_counter()
    beads = align(big)
    elapsed = time.perf_counter() - start
    assert sum(len(b.en) for b in beads) == len(en) and sum(len(b.zh) for b in beads) == len(zh)
    # ~0.5 s alone on 2 cores (bench/bench_ingest.py measures it). The bound only catches a lost
    # band (a full DP over 1,000 × 1,000 cells takes far longer), not a few percent of speed.
    assert elapsed < 5, elapsed


# ----------------------------------------------------------------------------- lists and cut-off translations

LABELLED = Path(__file__).resolve().parent.parent / "reference" / "labelled" / "articles"
APPOINTMENTS = LABELLED / "1951.10__1951-10-01_中央人民政府委员会第十二次会议通过各项任免名单.md"
TELEGRAMS = LABELLED / "1951.10__1951-10-01_各国政府电贺我国国庆.md"


@pytest.fixture(scope="module")
def appointments():
    return _records(APPOINTMENTS)


@pytest.mark.parametrize("name, chinese", [
    ("Lei Renmin", "雷任民"), ("Zhang Weizhen", "张维桢"), ("Fei Xiaotong", "费孝通"),
    ("Peng Zhen", "彭真"), ("Liang Sicheng", "梁思成"), ("Zhou Jingzhai", "周静斋"),
])
def test_a_list_of_appointments_pairs_each_entry_with_the_characters_of_its_name(appointments, name, chinese):
    # 1951-10-01: 526 Chinese lines (entries wrapped onto continuation lines), 365 English ones (one
    # per entry, padded with runs of spaces), the English stopping in section 17 of 19. Lengths alone
    # lost the thread after a dozen entries; the pinyin of each name anchors it to its entry.
    (record,) = [r for r in appointments if name in r.en]
    assert record.zh.startswith(chinese)


def test_a_list_cut_off_leaves_the_untranslated_sections_as_one_tail(appointments):
    last = max(k for k, r in enumerate(appointments) if r.en)
    assert "Zhou Jingzhai" in appointments[last].en
    tail = appointments[last + 1:]
    assert len(tail) > 50 and all(r.bead == "0-1" for r in tail)
    assert any("十九、青海省人民政府委员补充名单" in r.zh for r in tail)


def test_list_sections_pair_by_their_letters_and_numerals(appointments):
    (section_a,) = [r for r in appointments if r.en.startswith("A. Name lists")]
    assert section_a.zh.startswith("甲、")
    (section_17,) = [r for r in appointments if r.en.startswith("XVII.")]
    assert section_17.zh.startswith("十七、")


def test_an_english_cut_off_mid_sentence_pairs_where_it_stops_not_where_the_lengths_fit():
    # Two of 21 telegrams translated, the second broken off after seven words: that fragment is
    # the start of the second telegram's text, and everything after it has no English.
    records = [r for r in _records(TELEGRAMS) if r.kind == "body"]
    last = max(k for k, r in enumerate(records) if r.en)
    assert records[last].en == "On the occasion of the second anniversary of"
    assert records[last].zh.startswith("值此中华人民共和国成立二周年之际，请接受我衷心的祝贺")
    assert records[last - 1].zh.startswith("【新华社三十日讯】保加利亚人民共和国外交部长奈捷夫")
    assert len(records) - last - 1 > 80


@pytest.mark.parametrize("line, cut", [
    ("On the occasion of the second anniversary of", True),
    ("He said that the people of the two countries,", True),
    ("August 5, 1958, in Moscow", False),      # a date and place line closes a letter
    ("Chairman of the Presidium of the National Assembly", False),
    ("The meeting ended at noon.", False),
    ("Sincerely yours", False),                # too short to tell
])
def test_an_english_line_is_cut_off_when_it_stops_on_a_lower_case_word_or_a_comma(line, cut):
    from evalkit.corpus.align import is_cut_off

    assert is_cut_off(line) is cut


def test_name_anchors_join_a_pinyin_name_to_the_characters_that_read_it():
    from evalkit.corpus.anchors import name_anchors

    en, zh = name_anchors(["Lei Renmin         Formerly Director of the General Office.",
                           "Gustav Adolf and Zhang Linchi arrived."],
                          ["雷任民              曾任内务部办公厅主任。", "张林池到达。", "古斯塔夫到达。"])
    assert en[0] == zh[0] and len(en[0]) == 1
    assert en[1] == zh[1] and len(en[1]) == 1  # Gustav Adolf is not pinyin: only Zhang Linchi counts
    assert zh[2] == frozenset()
