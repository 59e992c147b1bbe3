"""The judge's flags, suspicion and fault on hand-built records."""

from __future__ import annotations

import pytest

from evalkit.judge import JudgeParams, assess, judge
from evalkit.judge.core import Flag
from evalkit.judge.numbers import english_numbers, rendered, zh_numbers
from evalkit.records import HypothesisRecord, ReferenceRecord

# A small clean corpus: Chinese paragraphs and faithful English (about 3 English characters per Chinese one).
CLEAN = [
    ("我收到了你的信。我完全同意其中谈到的看法。", "I have received your letter. I fully agree with the view expressed in it."),
    ("我们现在进行的是不平常的通信。请正确地理解我的意思。", "We are now engaged in an unusual correspondence. Please understand me correctly."),
    ("美国和英国派遣自己的军队侵入黎巴嫩和约旦。", "The United States and Britain sent their troops into Lebanon and Jordan."),
    ("联合国是在第二次世界大战的苦难中诞生的。", "The United Nations was born of the suffering of the Second World War."),
    ("人类把维护和平的希望寄托在联合国的工作上。", "Mankind places its hopes of keeping the peace on the work of the United Nations."),
    ("这个伟大的国家存在着，不断地巩固和发展着。", "This great country exists and is constantly consolidating and developing."),
    ("安全理事会实际上陷于瘫痪，不能通过任何决议。", "The Security Council is virtually paralysed and cannot pass any decision."),
    ("苏联政府认为必须继续努力维护和巩固和平。", "The Soviet government holds that peace must be kept and built up."),
    ("让我们尽一切必要的努力使各国人民期待的会谈不致落空。", "Let us make every necessary effort so that the talks the peoples expect do not come to nothing."),
    ("最后，我希望美国政府支持召开联合国大会紧急会议的建议。", "Lastly, I hope the US government backs a call for an emergency UN General Assembly."),
]


def _refs(rows, bead="1-1", kind="body"):
    return [ReferenceRecord(id=f"doc#{i:04d}", doc_id="doc", index=i, zh=zh, en=en, bead=bead, align_cost=0.1, kind=kind)
            for i, (zh, en) in enumerate(rows)]


def _hyps(refs, name="mt", texts=None, truncated=()):
    texts = texts or {}
    return {r.id: HypothesisRecord(r.id, f"{name}@000000000000", texts.get(r.id, r.en), truncated=r.id in truncated)
            for r in refs}


def _judge_one(rows, index, hyps=None, chrf=None):
    refs = _refs(rows)
    result = judge(refs, hyps if hyps is not None else {}, chrf)
    return result[index]


def _names(j):
    return [f.name for f in j.flags]


def test_clean_corpus_has_no_flags():
    refs = _refs(CLEAN)
    results = judge(refs, {"mt": _hyps(refs)}, {"mt": {r.id: 60.0 + i for i, r in enumerate(refs)}})
    assert [j.flags for j in results] == [()] * len(CLEAN)
    assert all(j.suspicion == 0.0 and j.fault is None for j in results)


def test_chinese_left_in_the_english_is_untranslated():
    rows = list(CLEAN)
    rows[3] = (rows[3][0], rows[3][0])
    j = _judge_one(rows, 3)
    assert "untranslated" in _names(j)
    assert j.suspicion >= 0.9 and j.fault == "reference"


@pytest.mark.parametrize("kind,flagged", [("body", True), ("headline_repeat", False)])
def test_empty_english_is_untranslated_unless_a_repeated_headline(kind, flagged):
    refs = _refs(CLEAN) + [ReferenceRecord(id="doc#9999", doc_id="doc", index=99, zh="赫鲁晓夫给艾森豪威尔的信", en="",
                                           bead="0-1", align_cost=0.0, kind=kind)]
    j = judge(refs, {})[-1]
    assert ("untranslated" in _names(j)) is flagged


def test_changed_date_is_a_number_mismatch_with_evidence():
    rows = list(CLEAN)
    rows[0] = ("我收到了你8月1日的信。我完全同意其中谈到的看法。", "I have received your letter of August 11. I fully agree with the view.")
    j = _judge_one(rows, 0)
    (flag,) = [f for f in j.flags if f.name == "number_mismatch"]
    assert flag.evidence == "8月1日 → 'August 11'"
    assert j.fault == "reference" and j.suspicion >= 0.8


@pytest.mark.parametrize("zh,en,ok", [
    ("我收到了你8月1日的信", "your letter of August 1", True),
    ("我收到了你8月1日的信", "your letter of August 11", False),
    ("济宁市十四万市民", "140,000 citizens of Jining", True),
    ("济宁市十四万市民", "14,000 citizens of Jining", False),
    ("【新华社延安卅一日电】", "Xinhua News Agency, Yan'an, 31st", True),
    ("共5万人", "fifty thousand people", True),
    ("1958年8月5日于莫斯科", "Moscow, August 5, 1958", True),
    ("1958年8月5日于莫斯科", "Moscow, August 5, 1957", False),
    ("备麦籽十九石", "prepared nineteen shi of wheat seed", True),
    ("第六舰队", "the Sixth Fleet", True),
    ("十分肯定，一个问题，万岁", "quite certain, a question, long live", True),
    # A count restating the list before it is not a number the English must repeat …
    ("美英两国在中近东所进行的侵略", "the aggression of the United States and the United Kingdom", True),
    ("苏、美、英、法、印五国政府首脑会议", "a summit of the Soviet Union, the United States, Britain, France and India", True),
    # … but a count that does not match its list still is.
    ("苏、美、英三国政府首脑会议", "a summit of the Soviet Union, the United States, Britain", True),
    ("苏、美、英五国政府首脑会议", "a summit of the Soviet Union, the United States, Britain", False),
])
def test_numbers_and_dates_are_found_in_the_english(zh, en, ok):
    english = english_numbers(en)
    assert all(rendered(item, english) for item in zh_numbers(zh)) is ok


def test_news_agency_dateline_missing_from_the_english():
    rows = list(CLEAN)
    rows[2] = ("新华社三十一日讯　美国和英国派遣自己的军队侵入黎巴嫩和约旦。", "On the 31st, the United States and Britain sent troops into Lebanon and Jordan.")
    j = _judge_one(rows, 2)
    assert "dateline_missing" in _names(j)
    rows[2] = (rows[2][0], "Xinhua, 31st — The United States and Britain sent troops into Lebanon and Jordan.")
    assert "dateline_missing" not in _names(_judge_one(rows, 2))


@pytest.mark.parametrize("bead,fault", [("2-1", "alignment"), ("1-0", "alignment")])
def test_beads_that_are_not_one_to_one_are_alignment(bead, fault):
    refs = _refs(CLEAN)
    refs[4] = ReferenceRecord(id=refs[4].id, doc_id="doc", index=4, zh=refs[4].zh if bead != "1-0" else "",
                              en=refs[4].en, bead=bead, align_cost=0.1)
    j = judge(refs, {})[4]
    assert _names(j) == ["alignment"] and j.fault == fault


def test_high_alignment_cost_is_flagged():
    refs = _refs(CLEAN)
    refs[5] = ReferenceRecord(id=refs[5].id, doc_id="doc", index=5, zh=refs[5].zh, en=refs[5].en, bead="1-1", align_cost=3.5)
    assert "alignment" in _names(judge(refs, {})[5])


def test_dropped_english_is_an_omission():
    rows = list(CLEAN)
    rows[9] = (rows[9][0] + "我们相信这次会议能够取得成功。", "Finally, I hope so.")
    j = _judge_one(rows, 9)
    assert "omission" in _names(j)


def test_invented_english_is_an_addition():
    rows = list(CLEAN)
    rows[6] = (rows[6][0], rows[6][1] + " The delegates applauded for a long time, and the meeting closed in a warm "
               "and friendly atmosphere after many speeches by representatives of every region of the country.")
    assert "addition" in _names(_judge_one(rows, 6))


def test_truncated_hypothesis_is_the_systems_fault():
    refs = _refs(CLEAN)
    j = judge(refs, {"mt": _hyps(refs, truncated={refs[1].id})})[1]
    assert _names(j) == ["truncated_hypothesis"] and j.fault == "system" and j.suspicion == 0.0


def test_one_system_low_is_the_systems_fault_all_systems_low_is_the_references():
    refs = _refs(CLEAN)
    chrf = {"a": {r.id: 60.0 + i % 3 for i, r in enumerate(refs)}, "b": {r.id: 50.0 + i % 3 for i, r in enumerate(refs)}}
    chrf["a"][refs[7].id] = 10.0
    hyps = {"a": _hyps(refs, "a", {refs[7].id: "Fishing boats left the harbour at dawn."}), "b": _hyps(refs, "b")}
    j = judge(refs, hyps, chrf)[7]
    assert [(f.name, f.system) for f in j.flags if f.name == "low_score"] == [("low_score", "a")]
    assert j.fault == "system"
    chrf["b"][refs[7].id] = 5.0
    hyps["b"] = _hyps(refs, "b", {refs[7].id: "Fishing boats left the harbour at dawn."})
    j = judge(refs, hyps, chrf)[7]
    assert {f.system for f in j.flags if f.name == "low_score"} == {None}
    assert j.suspicion > 0


def test_systems_agreeing_against_the_reference_is_consensus():
    refs = _refs(CLEAN)
    other = {r.id: r.en.replace("the", "a") for r in refs}
    # Both systems say the same thing for paragraph 8, which the reference does not.
    odd = "We should make every effort for the talks to succeed, as all peoples wish."
    other[refs[8].id] = odd
    hyps = {"a": _hyps(refs, "a", {refs[8].id: odd}), "b": _hyps(refs, "b", other)}
    chrf = {s: {r.id: (25.0 if r.id == refs[8].id else 70.0 + i % 4) for i, r in enumerate(refs)} for s in hyps}
    j = judge(refs, hyps, chrf)[8]
    assert "consensus" in _names(j)


@pytest.mark.parametrize("flags,fault", [
    ([], None),
    ([Flag("untranslated", "x")], "reference"),
    ([Flag("alignment", "x")], "alignment"),
    ([Flag("truncated_hypothesis", "x", 1.0, "mt")], "system"),
    ([Flag("low_score", "x", 0.4)], "unclear"),
])
def test_fault_from_flags(flags, fault):
    suspicion, got = assess(flags, JudgeParams())
    assert got == fault
    assert 0.0 <= suspicion <= 1.0


def test_suspicion_grows_with_independent_evidence():
    one, _ = assess([Flag("omission", "x", 0.5)], JudgeParams())
    two, _ = assess([Flag("omission", "x", 0.5), Flag("number_mismatch", "y", 0.7)], JudgeParams())
    assert 0 < one < two < 1
