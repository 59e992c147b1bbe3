"""``evalkit worklist``: one work item per flagged paragraph, each with a proposed repair.

The damaged corpus used here and in test_fixes_apply.py: the seed with a paragraph cut short,
a Chinese sentence left in the English, a paragraph's English dropped (a 0-1 bead) and Chinese
left in its Title; the 1949 Changzhou article with its Xinhua dateline dropped from the English;
the 1968 Chilean article with its first English paragraph (the one carrying the dateline)
dropped, so the new paragraph goes in front of the first English line.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import ARTICLES, CORPUS_HYPS, REPO, SEED, SEED_HYPS
from evalkit.cli import main
from evalkit.corpus.ingest import align_article, ingest_to_file
from evalkit.corpus.parse import parse_article
from evalkit.fixes.dateline import find_dateline, render, with_dateline
from evalkit.fixes.items import Proposal, WorkItem
from evalkit.fixes.worklist import (
    SystemRanking,
    choose_system,
    insertion_point,
    is_flagged,
    line_spans,
    propose,
    rank_systems,
    replace_untranslated,
    translate_run,
)
from evalkit.records import ReferenceRecord

CHANGZHOU = ARTICLES / "1949.05__1949-05-01_常州军管会成立.md"
CHILE = ARTICLES / "1968.07__1968-07-04_智利职工不断展开罢工斗争.md"

# old text → new text of the seed's English half (the cut and the Chinese tail of test_pipeline.FOUR_DAMAGES).
CUT = ("in fact recognize the right of all countries to make autonomous decisions and to establish national systems "
       "that conform to their interests. But the actual actions are not like this. Whenever a change occurs somewhere "
       "that disrupts the order that pleases the US government, you insist that this change is not based on the will "
       "of the people, but on the will of others.", "in fact recognize the right of all")
ZH_TAIL = ("This demonstration was a very natural expression of the Soviet people's sympathy for the victims of "
           "aggression.", "这个示威运动是苏联人民同情侵略的牺牲者的一种极其自然的表现。")
DROPPED = "If we also trace other such facts"  # the English paragraph removed from the seed
TITLE = ("Title: Khrushchev's Letter to Eisenhower", "Title: Khrushchev's Letter to 艾森豪威尔")
DATELINE = "Xinhua News Agency, Yangtze River Front, 30th: "
CHILE_FIRST = "Chilean workers have been"

# What each damage's item must propose (origin), found by a marker of its paragraph.
EXPECTED = {
    "cut": ("000_53f484adf56f99c2.txt", "in fact recognize the right of all", "system:external"),
    "zh_tail": ("000_53f484adf56f99c2.txt", "这个示威运动", "edit:untranslated"),
    "dropped": ("000_53f484adf56f99c2.txt", "如果也追溯一下其他这样的事实", "edit:insert"),
    "title": ("000_53f484adf56f99c2.txt", "Letter to 艾森豪威尔", "system:gloss"),
    "dateline": (CHANGZHOU.name, "常州市军事管制委员会已于二十八日成立", "edit:dateline"),
    "chile": (CHILE.name, "据新华社三日讯", "edit:insert"),
}


def damage_corpus(folder: Path) -> dict[str, Path]:
    """Write the damaged copies into ``folder``; return them by name."""
    folder.mkdir(parents=True, exist_ok=True)
    english, sep, chinese = SEED.read_text(encoding="utf-8").partition("<hr />")
    for old, new in (CUT, ZH_TAIL, TITLE):
        assert english.count(old) == 1, old
        english = english.replace(old, new)
    dropped = next(line for line in english.split("\n") if line.startswith(DROPPED))
    english = english.replace(dropped + "\n\n", "", 1)
    (folder / SEED.name).write_text(english + sep + chinese, encoding="utf-8")
    text = CHANGZHOU.read_text(encoding="utf-8")
    assert text.count(DATELINE) == 1
    (folder / CHANGZHOU.name).write_text(text.replace(DATELINE, ""), encoding="utf-8")
    text = CHILE.read_text(encoding="utf-8")
    first = next(line for line in text.split("\n") if line.startswith(CHILE_FIRST))
    (folder / CHILE.name).write_text(text.replace(first + "\n\n", "", 1), encoding="utf-8")
    return {p.name: p for p in folder.iterdir()}


def write_config(tmp: Path, sources: list[Path], out: Path) -> Path:
    """A run config in the style of test_pipeline's ``_config``: gloss and an external file system
    (the seed's and the corpus files' independent translations), chrF only, a small bootstrap."""
    hyps = tmp / "hyps"
    hyps.mkdir(exist_ok=True)
    shutil.copy(SEED_HYPS, hyps)
    for article in (CHANGZHOU, CHILE):
        shutil.copy(CORPUS_HYPS / f"{article.stem}.jsonl", hyps)
    data = yaml.safe_load((REPO / "configs" / "default.yaml").read_text(encoding="utf-8"))
    data.pop("reference")
    data.update(sources=[str(s) for s in sources], out=str(out), gates={"min_chrf": {}},
                scoring={"metrics": ["chrf"], "bootstrap": 20, "seed": 12345, "workers": 1},
                systems=[{"name": "gloss", "backend": "gloss"},
                         {"name": "external", "backend": "file", "path": str(hyps), "key": "zh", "allow_missing": True}])
    path = tmp / f"config-{out.name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def read_items(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def item_for(items: list[dict], key: str) -> dict:
    name, marker, _origin = EXPECTED[key]
    found = [i for i in items if Path(i["source"]).name == name and (marker in i["zh"] or marker in i["en"])]
    assert len(found) == 1, (key, [(i["id"], i["proposal"]["origin"]) for i in items])
    return found[0]


@pytest.fixture(scope="module")
def damaged_run(tmp_path_factory) -> dict[str, Path]:
    """``evalkit run`` then ``evalkit worklist`` on the damaged corpus."""
    tmp = tmp_path_factory.mktemp("fixes")
    files = damage_corpus(tmp / "damaged")
    run = tmp / "run"
    assert main(["run", "--config", str(write_config(tmp, [tmp / "damaged"], run))]) == 0
    assert main(["worklist", str(run)]) == 0
    return {"tmp": tmp, "run": run, "worklist": run / "worklist.jsonl", "sources": tmp / "damaged", **files}


# --- the command ------------------------------------------------------------------------------------------

def test_items_are_the_paragraphs_with_reference_flags_at_suspicion_one_half(damaged_run):
    rows = [json.loads(line) for line in (damaged_run["run"] / "paragraphs.jsonl").read_text(encoding="utf-8").splitlines()]
    flagged = [r["id"] for r in rows if r["suspicion"] >= 0.5
               and any(not f.get("system") and f["name"] != "truncated_hypothesis" for f in r["flags"])]
    assert [i["id"] for i in read_items(damaged_run["worklist"])] == flagged


def test_one_item_per_damaged_paragraph_with_the_expected_proposal(damaged_run):
    items = read_items(damaged_run["worklist"])
    for key, (_name, _marker, origin) in EXPECTED.items():
        item = item_for(items, key)
        assert item["proposal"]["origin"] == origin, (key, item["proposal"])
        assert item["decision"] == "pending" and item["edited"] is None
        assert item["suspicion"] >= 0.5 and any(not f.get("system") for f in item["flags"])


@pytest.mark.parametrize("key", list(EXPECTED))
def test_item_fields_point_at_the_archive_file(damaged_run, key):
    item = item_for(read_items(damaged_run["worklist"]), key)
    source = Path(item["source"])
    assert source == damaged_run[source.name].resolve()
    assert item["source_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert Path(item["run"]) == damaged_run["run"].resolve()
    lines = source.read_text(encoding="utf-8").split("\n")
    assert item["doc_id"] in item["id"] and item["title_en"] and isinstance(item["index"], int)
    first, last = item["zh_lines"]
    zh = "".join("".join(lines[k - 1].split()) for k in range(first, last + 1))
    assert zh.removeprefix("###") == "".join(item["zh"].split())
    if item["en"]:
        first, last = item["en_lines"]
        got = [lines[k - 1].strip() for k in range(first, last + 1) if lines[k - 1].strip()]
        expected = [("Title: " + item["en"]) if item["kind"] == "headline" else item["en"]]
        assert got == expected
        assert item["insert"] is None
    else:
        assert item["en_lines"] == [] and set(item["insert"]) <= {"after", "before"}
    assert {"name", "evidence"} <= set(item["flags"][0])
    assert set(item["proposal"]) == {"text", "origin", "rule"} and item["proposal"]["rule"]


def test_the_dropped_dateline_comes_back_in_the_archive_style(damaged_run):
    item = item_for(read_items(damaged_run["worklist"]), "dateline")
    assert "dateline_missing" in {f["name"] for f in item["flags"]}
    assert item["proposal"]["text"] == DATELINE + item["en"]  # exactly what the archive's English had


def test_the_chinese_tail_is_replaced_by_its_sentence_of_the_best_system(damaged_run):
    item = item_for(read_items(damaged_run["worklist"]), "zh_tail")
    text = item["proposal"]["text"]
    assert text.startswith(item["en"].split("这个")[0].strip())
    assert text.endswith("That demonstration was a perfectly natural expression of the Soviet people's sympathy "
                         "for the victims of aggression.")
    assert "external" in item["proposal"]["rule"] and "这" not in text


@pytest.mark.parametrize("key, where", [("dropped", "after"), ("chile", "before")])
def test_a_paragraph_with_no_english_gets_the_translation_of_its_chinese(damaged_run, key, where):
    item = item_for(read_items(damaged_run["worklist"]), key)
    assert item["bead"] == "0-1" and "untranslated" in {f["name"] for f in item["flags"]}
    assert list(item["insert"]) == [where]
    hyps = {json.loads(line)["id"]: json.loads(line)["hyp"]
            for line in (damaged_run["run"] / "hyps" / "external.jsonl").read_text(encoding="utf-8").splitlines()}
    assert item["proposal"]["text"] == hyps[item["id"]]


def test_the_csv_beside_it_holds_the_same_items(damaged_run):
    items = read_items(damaged_run["worklist"])
    with (damaged_run["run"] / "worklist.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == [i["id"] for i in items]
    for row, item in zip(rows, items, strict=True):
        assert row["proposal_text"] == (item["proposal"]["text"] or "")
        assert row["zh"] == item["zh"] and row["decision"] == "pending"
        assert row["source_sha256"] == item["source_sha256"]


def test_min_suspicion_and_output_file(damaged_run, tmp_path):
    out = tmp_path / "all.jsonl"
    assert main(["worklist", str(damaged_run["run"]), "-o", str(out), "--min-suspicion", "0"]) == 0
    everything = read_items(out)
    assert (tmp_path / "all.csv").exists()
    rows = [json.loads(line) for line in (damaged_run["run"] / "paragraphs.jsonl").read_text(encoding="utf-8").splitlines()]
    with_reference_flags = [r["id"] for r in rows if any(not f.get("system") and f["name"] != "truncated_hypothesis"
                                                          for f in r["flags"])]
    assert [i["id"] for i in everything] == with_reference_flags
    assert len(everything) > len(EXPECTED)


def test_from_forces_the_proposal_system(damaged_run, tmp_path):
    out = tmp_path / "gloss.jsonl"
    assert main(["worklist", str(damaged_run["run"]), "-o", str(out), "--from", "gloss"]) == 0
    item = item_for(read_items(out), "cut")
    assert item["proposal"]["origin"] == "system:gloss" and "--from" in item["proposal"]["rule"]


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("evalkit: error: ") and "\n" not in err, err
    return err


def test_a_worklist_holding_decisions_is_not_overwritten(damaged_run, tmp_path, capsys):
    out = tmp_path / "mine.jsonl"
    assert main(["worklist", str(damaged_run["run"]), "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8").replace('"decision": "pending"', '"decision": "accept"', 1)
    out.write_text(text, encoding="utf-8")
    assert main(["worklist", str(damaged_run["run"]), "-o", str(out)]) == 2
    assert f"{out}: holds decisions" in _error(capsys)
    assert out.read_text(encoding="utf-8") == text


def test_from_an_unknown_system_is_refused(damaged_run, tmp_path, capsys):
    assert main(["worklist", str(damaged_run["run"]), "-o", str(tmp_path / "x.jsonl"), "--from", "nllb"]) == 2
    err = _error(capsys)
    assert "summary.json" in err and "'nllb'" in err and "gloss" in err and "external" in err


def test_a_source_changed_since_the_run_is_refused(damaged_run, tmp_path, capsys):
    copy = tmp_path / "moved"
    shutil.copytree(damaged_run["sources"], copy)
    path = copy / CHANGZHOU.name
    path.write_text(path.read_text(encoding="utf-8").replace("The Changzhou", "Changzhou's"), encoding="utf-8")
    assert main(["worklist", str(damaged_run["run"]), "-o", str(tmp_path / "x.jsonl"), "--sources", str(copy)]) == 2
    err = _error(capsys)
    assert str(path) in err and "changed since `evalkit run`" in err


@pytest.mark.parametrize("folder, problem", [("nowhere", "no such run folder"), ("empty", "no summary.json")])
def test_not_a_run_folder_is_refused(tmp_path, capsys, folder, problem):
    (tmp_path / "empty").mkdir()
    assert main(["worklist", str(tmp_path / folder)]) == 2
    assert problem in _error(capsys)


def test_a_run_from_a_reference_set_needs_sources(tmp_path, capsys):
    data = yaml.safe_load((REPO / "configs" / "default.yaml").read_text(encoding="utf-8"))
    data.update(reference=str(REPO / "reference" / "seed.jsonl"), out=str(tmp_path / "run"), gates={"min_chrf": {}},
                scoring={"metrics": ["chrf"], "bootstrap": 20, "workers": 1})
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert main(["run", "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["worklist", str(tmp_path / "run"), "--min-suspicion", "0"]) == 2
    assert "--sources" in _error(capsys)
    assert main(["worklist", str(tmp_path / "run"), "--min-suspicion", "0", "--sources", str(SEED)]) == 0
    assert read_items(tmp_path / "run" / "worklist.jsonl")


# --- the rules, one at a time (pure functions) --------------------------------------------------------------

@pytest.mark.parametrize("zh, published, expected", [
    # As the archive's English has them (FORMATS.md; reference/labelled/articles):
    ("【新华社长江前线三十日电】常州市", "1949-05-01", "Xinhua News Agency, Yangtze River Front, 30th:"),
    ("【新华社延安三十日电】劳动英雄", "1946-12-03", "Xinhua News Agency, Yan'an, 30th:"),
    ("【新华社陕北廿七日电】莫斯科讯", "1948-03-01", "Xinhua News Agency, Northern Shaanxi, 27th:"),
    ("【新华社晋冀鲁豫十一月卅日电】", "1946-12-04", "Xinhua News Agency, Jinji Luyu, November 30th:"),
    ("【新华社华东前线卅日电】", "1947-08-01", "Xinhua News Agency, East China Front, 30th:"),
    ("【新华社北京三十一日电】", "1950-02-01", "Xinhua News Agency, Beijing, January 31st:"),
    ("新华社拉萨一日电　", "1955-04-02", "Xinhua News Agency, Lhasa, April 1st:"),
    ("据新华社武汉31日电　", "1959-02-01", "Xinhua News Agency, Wuhan, January 31st:"),
    ("新华社31日讯　毛泽东主席", "1958-08-01", "Xinhua News Agency, July 31st:"),
    ("新华社三十一日讯　", "1966-06-01", "New China News Agency, May 31st:"),
    ("新华社济南一日电　", "1967-02-02", "New China News Agency, Jinan, February 1st:"),
    ("据新华社三日讯　圣地亚哥消息", "1968-07-04", "New China News Agency, July 3rd:"),
    ("【新华社晋冀鲁豫总分社讯】济宁", "1946-05-17", "Xinhua News Agency, Jinji Luyu General Branch:"),
    ("据新华社讯　中南建筑工程", "1957-02-02", "Xinhua News Agency report:"),
])
def test_datelines_render_in_the_archive_style_of_their_year(zh, published, expected):
    dateline = find_dateline(zh)
    assert dateline is not None and dateline.leading
    assert render(dateline, published) == expected


def test_a_closing_dateline_goes_at_the_end():
    zh = "▲美国经济合作总署又成立“援华计划公共咨询委员会”。【新华社陕北三十日电】"
    dateline = find_dateline(zh)
    assert dateline is not None and not dateline.leading
    assert with_dateline("The U.S. ECA has set up another committee.", dateline, "1948-10-02") == \
        "The U.S. ECA has set up another committee. (Xinhua News Agency, Northern Shaanxi, 30th)"
    credit = find_dateline("台湾人民的反抗斗争日益高涨。（新华社）")
    assert credit is not None and not credit.leading
    assert with_dateline("Resistance grows.", credit, "1967-04-03") == "Resistance grows. (New China News Agency)"


ZH = "第一句话说了一件事。第二句话说了另一件事。"


@pytest.mark.parametrize("run, hyp, expected", [
    ("第二句话说了另一件事。", "The first sentence. The second one.", "The second one."),
    ("第一句话说了一件事。第二句话说了另一件事。", "The first sentence. The second one.",
     "The first sentence. The second one."),
    ("第二句话", "The first sentence. The second one.", None),          # not a whole sentence
    ("第二句话说了另一件事。", "All in one sentence here.", None),        # sentence counts differ
])
def test_a_chinese_run_is_translated_only_when_it_can_be_isolated(run, hyp, expected):
    assert translate_run(run, ZH, hyp) == expected


def test_replace_untranslated_keeps_the_english_around_the_run():
    assert replace_untranslated("The first sentence, in English. 第二句话说了另一件事。", ZH,
                                "The first sentence. The second one.") == "The first sentence, in English. The second one."
    # The whole English left in Chinese takes the whole hypothesis; an isolated name cannot be matched.
    assert replace_untranslated(ZH, ZH, "One. Two.") == "One. Two."
    assert replace_untranslated("A letter to 艾森豪威尔", "赫鲁晓夫给艾森豪威尔的信", "Khrushchev's letter.") is None


def _row(flags=(), suspicion=0.9, **hyps):
    return {"flags": list(flags), "suspicion": suspicion, "systems": {k: {"hyp": v} for k, v in hyps.items()}}


RANKING = SystemRanking("chrf", ("external", "gloss"), {"external": 70.0, "gloss": 45.0})


@pytest.mark.parametrize("flags, hyps, forced, expected", [
    ((), {"external": "E", "gloss": "G"}, None, "external"),
    (({"name": "low_score", "evidence": "", "system": "external"},), {"external": "E", "gloss": "G"}, None, "gloss"),
    (({"name": "truncated_hypothesis", "evidence": "", "system": "external"},), {"external": "E", "gloss": "G"},
     None, "gloss"),
    ((), {"external": "", "gloss": "G"}, None, "gloss"),
    ((), {"external": "E", "gloss": "G"}, "gloss", "gloss"),
    (({"name": "low_score", "evidence": "", "system": "external"},), {"external": "E", "gloss": ""}, None, None),
])
def test_the_proposal_system_is_the_best_unflagged_one(flags, hyps, forced, expected):
    assert choose_system(_row(flags, **hyps), RANKING, forced)[0] == expected


def test_ranking_by_corpus_chrf_then_other_metrics():
    summary = {"systems": {"a": {"corpus": {"chrf": {"score": 40.0}}}, "b": {"corpus": {"chrf": {"score": 60.0}}}}}
    assert rank_systems(summary, ["a", "b"]).order == ("b", "a")
    summary = {"systems": {"a": {"corpus": {"bleu": {"score": 20.0}}}, "b": {"corpus": {"bleu": {"score": 10.0}}}}}
    assert rank_systems(summary, ["a", "b"]) == SystemRanking("bleu", ("a", "b"), {"a": 20.0, "b": 10.0})
    assert rank_systems({"systems": {"a": {}, "b": {}}}, ["b", "a"]).order == ("b", "a")


@pytest.mark.parametrize("flags, suspicion, expected", [
    ([{"name": "omission", "evidence": ""}], 0.6, True),
    ([{"name": "omission", "evidence": ""}], 0.4, False),
    ([{"name": "low_score", "evidence": "", "system": "gloss"}], 0.9, False),       # system-side only
    ([{"name": "truncated_hypothesis", "evidence": "", "system": "gloss"}], 0.9, False),
    ([], 0.9, False),
])
def test_which_paragraphs_are_flagged(flags, suspicion, expected):
    assert is_flagged({"flags": flags, "suspicion": suspicion}) is expected


def _record(en: str, zh: str, bead: str = "1-1", kind: str = "body", date: str = "1958-08-07") -> ReferenceRecord:
    return ReferenceRecord(id="d#0001", doc_id="d", index=1, zh=zh, en=en, bead=bead, align_cost=0.0, kind=kind,
                           meta={"date": date})


@pytest.mark.parametrize("record, flags, origin", [
    (_record("English only.", "", "1-0"), ["alignment"], "none"),
    (_record("", "赫鲁晓夫给艾森豪威尔的信", "0-1", "headline_repeat"), ["alignment"], "none"),
    (_record("", "第一句话。", "0-1"), ["untranslated"], "edit:insert"),
    (_record("", "新华社北京三十日电　第一句话。", "0-1"), ["untranslated"], "edit:insert+dateline"),
    (_record("It was said.", "新华社北京三十日电　第一句话。"), ["dateline_missing"], "edit:dateline"),
    (_record("第一句话。", "新华社北京三十日电　第一句话。"), ["untranslated", "dateline_missing"], "edit:untranslated+dateline"),
    (_record("Much too short.", "第一句话说了一件事。"), ["omission"], "system:external"),
    (_record("Much too short.", "新华社北京三十日电　第一句话说了一件事。"), ["omission"], "system:external+dateline"),
])
def test_proposal_origins(record, flags, origin):
    row = _row([{"name": f, "evidence": ""} for f in flags], external="First sentence.", gloss="first sentence")
    proposal = propose(record, row, RANKING)
    assert proposal.origin == origin, proposal
    assert (proposal.text is None) == (origin == "none") and proposal.rule
    if "dateline" in origin:
        assert proposal.text.startswith("Xinhua News Agency, Beijing, July 30th: ")


def test_line_spans_and_insertion_points_come_from_the_file():
    article = parse_article(SEED)
    records = align_article(article)
    lines = SEED.read_text(encoding="utf-8").split("\n")
    (title, title_end), (headline, headline_end) = line_spans(records[0], article, lines)  # the headline record
    assert (title, title_end) == (1, 1) and lines[0].startswith("Title: ")
    assert headline == headline_end and lines[headline - 1].startswith("### ")
    two = next(r for r in records if r.bead == "2-1")
    en, zh = line_spans(two, article, lines)
    assert en == (article.en[two.en_lines[0]].line, article.en[two.en_lines[1]].line) and en[1] > en[0]
    # A record with no English goes after the English of the record before it.
    gap = ReferenceRecord(id="x", doc_id="x", index=5, zh="中文", en="", bead="0-1", align_cost=0.0)
    spliced = [*records[:5], gap, *records[5:]]
    assert str(insertion_point(spliced, 5, article)) == f"after {article.en[records[4].en_lines[-1]].line}"
    assert str(insertion_point([records[0], gap, *records[1:]], 1, article)) == f"before {article.en[0].line}"


# --- helpers the apply tests share ---------------------------------------------------------------------------

def hand_worklist(tmp: Path, source: Path, decisions: dict[int, tuple[str, str | None]]) -> Path:
    """A worklist made by hand for ``source``: items for the records of the given indexes, with
    their decisions; the run folder is an ``evalkit ingest`` of the file (what apply checks ids on)."""
    run = tmp / "handrun"
    run.mkdir(exist_ok=True)
    ingest_to_file([source], run / "reference.jsonl")
    article = parse_article(source)
    records = align_article(article)
    lines = source.read_text(encoding="utf-8").replace("\r\n", "\n").removeprefix("\ufeff").split("\n")
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    out = tmp / "hand.jsonl"
    with out.open("w", encoding="utf-8") as handle:
        for position, record in enumerate(records):
            if record.index not in decisions:
                continue
            decision, edited = decisions[record.index]
            en_lines, zh_lines = line_spans(record, article, lines)
            insert = insertion_point(records, position, article) if not record.en and record.kind == "body" else None
            item = WorkItem(id=record.id, doc_id=record.doc_id, title_en=article.title_en, index=record.index,
                            kind=record.kind, bead=record.bead, source=str(source), source_sha256=sha,
                            en_lines=en_lines, zh_lines=zh_lines, insert=insert, flags=(), suspicion=0.0, fault=None,
                            zh=record.zh, en=record.en, proposal=Proposal(edited, "edit:hand", "by hand"),
                            run=str(run), decision=decision, edited=edited if decision == "edit" else None)
            handle.write(json.dumps(item.to_dict(), ensure_ascii=False) + "\n")
    return out
