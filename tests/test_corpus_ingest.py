"""``evalkit ingest`` and ``ingest_paths``: ids, records, the summary, bad input, reference/."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import ARTICLES, REPO, SEED

from evalkit.cli import main as cli
from evalkit.corpus import ingest_paths, load_reference
from evalkit.records import read_references

GOOD = """Title: Test Article
Author:
Date: 1958-08-07
Page: 3

The first paragraph of the test article, in English.

The second paragraph says something else entirely, at some length.



<hr /> 

Original: 


### 测试文章

1958-08-07
第3版()
专栏：

    测试文章的第一段，中文。
    第二段说的是完全不同的事情，比较长一些。
"""


def _write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- the corpus

def test_every_corpus_file_ingests(tmp_path: Path, capsys):
    out = tmp_path / "corpus.jsonl"
    assert cli(["ingest", str(ARTICLES), "-o", str(out)]) == 0
    records = read_references(out)
    assert len({r.doc_id for r in records}) == 24
    summary = capsys.readouterr().out
    assert "documents: 24" in summary
    assert "body beads: 1-1 153, 1-2 1, 2-1 2" in summary
    assert "documents with problems: 0" in summary


@pytest.mark.parametrize("fragment,doc_id", [
    ("1946-05-15_新华书店", "1946-05-15_p2_新华书店将出三种期刊"),
    ("1949-05-01_北平市", "1949-05-01_p1_北平市军管会通告-通字第二号"),
    ("1966-10-01_刚果", "1966-10-01_p8_刚果-布-客人到京"),
    ("1950-11-02_瑞典国王", "1950-11-02_p1_瑞典国王古斯塔夫五世病逝_毛主席致电吊唁"),
])
def test_document_ids_come_from_date_page_and_file_name(fragment, doc_id):
    (path,) = [p for p in ARTICLES.glob("*.md") if fragment in p.name]
    records = ingest_paths([path]).records
    assert {r.doc_id for r in records} == {doc_id}
    assert [r.id for r in records[:2]] == [f"{doc_id}#0000", f"{doc_id}#0001"]
    assert [r.index for r in records] == list(range(len(records)))


def test_ids_are_stable_across_runs_and_folders(tmp_path: Path):
    # The archive name and the articles/ copy name (with its YYYY.MM__ prefix) give one id.
    src = next(ARTICLES.glob("*邓宝珊*"))
    original = tmp_path / "rmrb" / "1968.12" / src.name.split("__", 1)[1]
    original.parent.mkdir(parents=True)
    shutil.copy(src, original)
    assert [r.id for r in ingest_paths([src]).records] == [r.id for r in ingest_paths([original]).records]


def test_record_meta():
    (path,) = [p for p in ARTICLES.glob("*.md") if "1946-05-17" in p.name]
    record = ingest_paths([path]).records[1]
    assert record.meta == {
        "date": "1946-05-17", "page": "2", "edition": "2", "title_en": "Inauguration of Jining Daily",
        "title_zh": "济宁日报创刊", "author": "", "author_zh": "", "column": "", "source": path.name,
        "glossary": {"新华社晋冀鲁豫总分社": "Xinhua News Agency, Jinji Luyu General Branch",
                     "济宁日报": "Jining Daily", "济宁市": "Jining City"},
    }


def test_folders_are_searched_recursively_for_md_and_txt(tmp_path: Path):
    _write(tmp_path, "a/one.md", GOOD)
    _write(tmp_path, "a/b/two.txt", GOOD.replace("Page: 3", "Page: 4"))
    _write(tmp_path, "a/b/notes.json", "{}")
    _write(tmp_path, "a/.git/x.md", "not an article")  # hidden folders are not searched
    result = ingest_paths([tmp_path / "a"])
    # sorted by path: a/b/two.txt comes before a/one.md
    assert [d.doc_id for d in result.documents] == ["1958-08-07_p4_two", "1958-08-07_p3_one"]


def test_summary_lists_documents_with_untranslated_chinese(tmp_path: Path, capsys):
    # Add a long Chinese paragraph that the English lacks: a 0-1 body record and a listed problem.
    text = GOOD.replace("    第二段", "    这是一段没有英文译文的很长的中文段落，讲的是另外一件事情，英文里完全没有对应的内容。\n    第二段")
    path = _write(tmp_path, "1958-08-07_gap.md", text)
    out = tmp_path / "out.jsonl"
    assert cli(["ingest", str(path), "-o", str(out)]) == 0
    summary = capsys.readouterr().out
    assert "documents with problems: 1" in summary
    assert "1 Chinese paragraph(s) with no English (ZH lines 2)" in summary
    (orphan,) = [r for r in read_references(out) if r.bead == "0-1"]
    assert orphan.kind == "body" and orphan.en == "" and orphan.zh.startswith("这是一段没有英文译文")


def test_merged_lines_are_joined_with_newlines_in_the_jsonl(tmp_path: Path):
    out = tmp_path / "seed.jsonl"
    assert cli(["ingest", str(SEED), "-o", str(out)]) == 0
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    closing = next(r for r in lines if r["bead"] == "1-2")
    assert closing["zh"].split("\n") == ["此致", "敬意"]


# ----------------------------------------------------------------------------- bad input

NO_HR = GOOD.replace("<hr /> ", "")
EMPTY_EN = GOOD.split("The first")[0] + "\n\n\n<hr /> " + GOOD.split("<hr /> ", 1)[1]
EMPTY_ZH = GOOD.split("    测试文章的第一段")[0]
NO_DATE = GOOD.replace("Date: 1958-08-07\n", "")
# Latin-1 bytes in the title line: é as the single byte 0xe9.
NOT_UTF8 = GOOD.replace("Test Article", "Caf\u00e9 Article").encode("utf-8").replace("é".encode(), b"\xe9")
BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))

BAD_FILES = [
    # name, content, what the one-line message must say, the line it must name (or None)
    ("no_hr", NO_HR, "no '<hr />' line", None),
    ("empty_en", EMPTY_EN, "the English half has no body text", 9),    # the <hr /> line
    ("empty_zh", EMPTY_ZH, "the Chinese half has no body text", 21),  # the 专栏： line
    ("no_date", NO_DATE, "no 'Date:' line", 4),
    ("not_utf8", NOT_UTF8, "not UTF-8", 1),
    ("binary", BINARY, "binary file", None),
]


@pytest.mark.parametrize("name,content,message,line", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_file_is_one_line_error_with_exit_2(tmp_path: Path, capsys, name, content, message, line):
    path = _write(tmp_path, f"{name}.md", content)
    out = tmp_path / "out.jsonl"
    assert cli(["ingest", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"evalkit: error: {path}" + (f":{line}:" if line else ":"))
    assert message in err
    assert not out.exists()


def test_two_files_with_the_same_document_id(tmp_path: Path, capsys):
    first = _write(tmp_path, "a/1958-08-07_same.md", GOOD)
    second = _write(tmp_path, "b/1958-08-07_same.md", GOOD)
    assert cli(["ingest", str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(tmp_path / "o.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"evalkit: error: {second}:")
    assert "'1958-08-07_p3_same'" in err and str(first) in err


def test_a_path_with_no_article_files(tmp_path: Path, capsys):
    (tmp_path / "empty").mkdir()
    _write(tmp_path, "empty/data.json", "{}")
    assert cli(["ingest", str(tmp_path / "empty"), "-o", str(tmp_path / "o.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err == f"evalkit: error: {tmp_path / 'empty'}: no article files (*.md, *.txt) in this folder\n"


def test_a_path_that_does_not_exist(tmp_path: Path, capsys):
    assert cli(["ingest", str(tmp_path / "missing"), "-o", str(tmp_path / "o.jsonl")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_skip_bad_skips_counts_and_lists_bad_files(tmp_path: Path, capsys):
    _write(tmp_path, "in/1958-08-07_good.md", GOOD)
    for name, content, _, _ in BAD_FILES:
        _write(tmp_path, f"in/{name}.md", content)
    _write(tmp_path, "dup/1958-08-07_good.md", GOOD)
    (tmp_path / "nothing").mkdir()
    out = tmp_path / "out.jsonl"
    args = ["ingest", str(tmp_path / "in"), str(tmp_path / "dup"), str(tmp_path / "nothing"), "-o", str(out),
            "--skip-bad"]
    assert cli(args) == 0
    summary = capsys.readouterr().out
    assert "documents: 1" in summary
    assert f"skipped files: {len(BAD_FILES) + 2}" in summary
    for name, _, message, _ in BAD_FILES:
        assert f"{tmp_path / 'in' / name}.md: " in summary and message in summary
    assert "already given by" in summary and "no article files" in summary
    assert {r.doc_id for r in read_references(out)} == {"1958-08-07_p3_good"}


def test_skip_bad_with_nothing_left_is_an_error(tmp_path: Path, capsys):
    _write(tmp_path, "no_hr.md", NO_HR)
    assert cli(["ingest", str(tmp_path), "-o", str(tmp_path / "o.jsonl"), "--skip-bad"]) == 2
    assert "no article could be ingested (1 skipped" in capsys.readouterr().err


# ----------------------------------------------------------------------------- reference/

def test_reference_seed_is_up_to_date(tmp_path: Path):
    # reference/seed.jsonl is exactly what the documented command builds from reference/sources.
    out = tmp_path / "seed.jsonl"
    assert cli(["ingest", str(REPO / "reference" / "sources"), "-o", str(out)]) == 0
    assert out.read_bytes() == (REPO / "reference" / "seed.jsonl").read_bytes()


def test_reference_source_is_the_seed():
    assert (REPO / "reference" / "sources" / SEED.name).read_bytes() == SEED.read_bytes()


def test_load_reference_gives_a_dataset():
    ds = load_reference(REPO / "reference" / "seed.jsonl")
    assert ds.num_rows == 43
    assert ds[41]["en"] == "N. Khrushchev" and ds[41]["zh"] == "尼·赫鲁晓夫"


def test_dataset_card_lets_load_dataset_find_the_data(monkeypatch):
    import datasets

    monkeypatch.chdir(REPO)
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    ds = datasets.load_dataset("reference", split="train")
    assert ds.num_rows == 43
    assert ds[1]["bead"] == "2-1"
    assert os.path.basename(ds[0]["meta"]["source"]) == SEED.name


# The archive holds files whose English stops inside its own header: a title cut off mid-word,
# no Date line, no body (rmrb/1956.02/1956-02-02_…列席人员名单.md, in reference/labelled/).
CUT_OFF_IN_HEADER = ("Title: A List of Attendees of the Chinese People'\n\n<hr /> " + GOOD.split("<hr /> ", 1)[1])


def test_an_english_cut_off_inside_its_header_keeps_every_chinese_paragraph_untranslated(tmp_path: Path):
    path = _write(tmp_path, "cut.md", CUT_OFF_IN_HEADER)
    records = ingest_paths([path]).records
    body = [r for r in records if r.kind == "body"]
    assert [r.zh for r in body] == ["测试文章的第一段，中文。", "第二段说的是完全不同的事情，比较长一些。"]
    assert all(r.en == "" and r.bead == "0-1" for r in body)
    assert records[0].meta["date"] == "1958-08-07"  # from the Chinese half
