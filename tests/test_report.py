"""Reports treat corpus text as data: escaped in HTML and Markdown, one row per paragraph in CSV."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from evalkit.cli import main
from evalkit.records import ReferenceRecord
from evalkit.report.render import md_cell, word_diff

PAYLOAD = "<script>alert(1)</script>"
ROWS = [
    ("我收到了你的信。", f"I have received your letter. {PAYLOAD}"),
    ("美国和英国派遣军队侵入黎巴嫩。", "The United States and Britain sent troops into Lebanon."),
    ("联合国是在战争的苦难中诞生的。", "The United Nations was born of the suffering of war."),
    ("这个伟大的国家存在着。", 'This great country exists. <img src=x onerror="alert(2)">'),
    ("安全理事会实际上陷于瘫痪。", "The Security Council is virtually paralysed."),
    ("苏联政府认为必须继续努力。", "The Soviet government believes efforts must continue | go on."),
]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    ref = tmp / "ref.jsonl"
    ref.write_text("".join(json.dumps(ReferenceRecord(id=f"doc_{PAYLOAD}#{i}", doc_id="doc", index=i, zh=zh, en=en,
                                                      bead="1-1", align_cost=0.1).to_dict(), ensure_ascii=False) + "\n"
                           for i, (zh, en) in enumerate(ROWS)), encoding="utf-8")
    hyps = tmp / "hyps.txt"  # a text-file system, one line per paragraph, with markup of its own
    hyps.write_text("".join(f"{en} </td></tr><b>bold</b>\n" for _, en in ROWS), encoding="utf-8")
    config = tmp / "config.yaml"
    config.write_text(yaml.safe_dump({
        "reference": str(ref), "out": str(tmp / "run"),
        "systems": [{"name": "ext", "backend": "file", "path": str(hyps), "format": "text"}],
        "gates": {"max_suspicious": 0, "suspicion_threshold": 0.0},
        "scoring": {"metrics": ["chrf", "bleu"], "bootstrap": 10, "workers": 1},
    }), encoding="utf-8")
    assert main(["run", "--config", str(config)]) == 0
    return tmp / "run"


def test_markup_in_the_corpus_is_text_in_the_html(run):
    html = (run / "report.html").read_text(encoding="utf-8")
    assert PAYLOAD not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html and "<b>bold</b>" not in html
    assert html.count("<script>") == 1  # ours: the table's sorting and filtering


def test_markup_in_the_corpus_is_text_in_the_markdown(run):
    md = (run / "report.md").read_text(encoding="utf-8")
    assert PAYLOAD not in md and "<img" not in md


@pytest.mark.parametrize("text,expected", [
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("a | b", "a \\| b"),
    ("two\nlines", "two lines"),
])
def test_markdown_cells_escape_markup_and_pipes(text, expected):
    assert md_cell(text) == expected


def test_csv_has_one_row_per_paragraph_with_scores_per_system(run):
    rows = list(csv.DictReader(io.StringIO((run / "paragraphs.csv").read_text(encoding="utf-8"))))
    assert [r["id"] for r in rows] == [f"doc_{PAYLOAD}#{i}" for i in range(len(ROWS))]
    assert {"ext:chrf", "ext:bleu", "flags", "suspicion", "fault"} <= set(rows[0])
    jsonl = [json.loads(line) for line in (run / "paragraphs.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [float(r["ext:chrf"]) for r in rows] == pytest.approx([p["systems"]["ext"]["chrf"] for p in jsonl], abs=1e-4)


def test_junit_escapes_corpus_text(run):
    root = ET.parse(run / "junit.xml").getroot()  # parses: the payload in ids is escaped
    names = [c.get("name") for c in root.iter("testcase")]
    assert "max_suspicious" in names


def test_word_diff_marks_words_missing_on_each_side():
    ref, hyp = word_diff("the letter of August 1", "the letter of August 11")
    assert ("del", "1") in ref and ("ins", "11") in hyp


def test_top_rows_keeps_what_a_full_sort_would_show():
    import random

    from evalkit.report.summary import TopRows, divergent_order, html_order, top_divergent

    rng = random.Random(3)
    rows = [{"id": str(i), "suspicion": rng.choice([0.0, 0.25, 0.5, 0.9]), "flags": [{"name": "x"}] * rng.randint(0, 1)}
            for i in range(500)]
    for n in (0, 1, 7, 300, 600):
        html = TopRows(n, html_order)
        md = TopRows(n, divergent_order, keep=lambda p: bool(p["flags"]))
        for row in rows:
            html.add(row)
            md.add(row)
        assert html.rows() == sorted(rows, key=html_order)[:n]
        assert md.rows() == top_divergent(rows, n)


def test_the_markdown_report_keeps_evalkits_own_code_spans(run):
    text = (run / "report.md").read_text(encoding="utf-8")
    assert "add `ter` to compute it" in text and "\\`ter\\`" not in text


def test_paragraphs_are_shown_by_their_documents_title_and_index(run):
    html = (run / "report.html").read_text(encoding="utf-8")
    assert "doc ¶ 0" in html  # no English title in this reference: its document id stands in
    assert '"Noto Sans CJK SC"' in html  # a CJK font stack, so Chinese never renders as empty boxes


def test_a_paragraph_label_is_its_documents_english_title_and_index():
    from evalkit.report.render import paragraph_label

    assert paragraph_label({"doc_id": "d", "index": 4, "meta": {"title_en": "Khrushchev's Letter"}}) == \
        "Khrushchev's Letter ¶ 4"
