"""``evalkit apply``: corrected archive files from a worklist's decisions — and every refusal.

The end-to-end specification: on the damaged corpus of test_fixes_worklist.py, ``evalkit run`` →
``evalkit worklist`` → accept every proposal → ``evalkit apply`` gives files whose diff touches only
those paragraphs, that ingest with the same ids, and whose re-run has none of those paragraphs at
suspicion ≥ 0.5.
"""

from __future__ import annotations

import csv
import difflib
import json
import shutil
from pathlib import Path

import pytest

from conftest import ARTICLES, SEED, SEED_HYPS
from evalkit.cli import main
from evalkit.corpus.ingest import align_article, ingest_paths
from evalkit.corpus.parse import parse_article
from test_fixes_worklist import (  # noqa: F401  (damaged_run is a fixture)
    CHANGZHOU,
    damaged_run,
    hand_worklist,
    item_for,
    read_items,
    write_config,
)


def decide(items: list[dict], path: Path, decision: str = "accept", **changes) -> Path:
    """Write ``items`` to ``path`` with every decision set (and any field changed)."""
    with path.open("w", encoding="utf-8") as handle:
        for item in items:
            handle.write(json.dumps({**item, "decision": decision, **changes}, ensure_ascii=False) + "\n")
    return path


def relocate(items: list[dict], sources: Path, folder: Path) -> list[dict]:
    """A copy of the sources in ``folder`` and the items pointing at it (same hashes)."""
    shutil.copytree(sources, folder)
    return [{**i, "source": str(folder / Path(i["source"]).name)} for i in items]


def error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("evalkit: error: "), err
    return err.strip()


@pytest.fixture(scope="module")
def accepted(damaged_run, tmp_path_factory) -> dict:
    """Every proposal accepted and applied; the corrected files re-run."""
    tmp = tmp_path_factory.mktemp("accepted")
    items = read_items(damaged_run["worklist"])
    before = {p.name: p.read_bytes() for p in damaged_run["sources"].iterdir()}
    worklist = decide(items, tmp / "worklist.jsonl")
    out = tmp / "fixed"
    assert main(["apply", str(worklist), "--out", str(out)]) == 0
    after_sources = {p.name: p.read_bytes() for p in damaged_run["sources"].iterdir()}
    corrected = sorted(p for p in out.iterdir() if p.suffix in (".md", ".txt"))
    rerun = tmp / "rerun"
    assert main(["run", "--config", str(write_config(tmp, [out / p.name for p in corrected], rerun))]) == 0
    return {"items": items, "out": out, "before": before, "after_sources": after_sources, "corrected": corrected,
            "rerun": rerun, "run": damaged_run["run"]}


def test_the_sources_are_left_alone_and_every_touched_file_gets_a_copy_and_a_diff(accepted):
    assert accepted["after_sources"] == accepted["before"]
    names = {Path(i["source"]).name for i in accepted["items"]}
    assert {p.name for p in accepted["corrected"]} == names
    for name in names:
        diff = (accepted["out"] / f"{name}.diff").read_text(encoding="utf-8")
        assert diff.startswith("--- ") and "\n+++ " in diff and "\n@@ " in diff
    summary = json.loads((accepted["out"] / "apply-summary.json").read_text(encoding="utf-8"))
    assert summary["decisions"] == {"pending": 0, "accept": len(accepted["items"]), "reject": 0, "edit": 0}
    assert sorted(i["id"] for f in summary["files"] for i in f["items"]) == sorted(i["id"] for i in accepted["items"])


def test_the_diff_touches_only_the_accepted_paragraphs(accepted):
    for path in accepted["corrected"]:
        old = accepted["before"][path.name].decode("utf-8").split("\n")
        new = path.read_text(encoding="utf-8").split("\n")
        items = [i for i in accepted["items"] if Path(i["source"]).name == path.name]
        allowed_old = {k for i in items if i["en_lines"] for k in range(i["en_lines"][0] - 1, i["en_lines"][1])}
        proposed = {line.strip() for i in items for line in i["proposal"]["text"].split("\n")}
        proposed |= {"Title: " + i["proposal"]["text"] for i in items if i["kind"] == "headline"}
        added_blank = 0
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            assert set(range(i1, i2)) <= allowed_old, (path.name, old[i1:i2])
            for line in new[j1:j2]:
                if line.strip():
                    assert line.strip() in proposed, (path.name, line)
                else:
                    added_blank += 1
        inserts = sum(1 for i in items if i["insert"])
        assert added_blank <= inserts
        # The Chinese half, byte for byte.
        assert "\n".join(new).partition("<hr />")[1:] == "\n".join(old).partition("<hr />")[1:]


def test_the_corrected_files_ingest_with_the_same_ids_and_chinese(accepted):
    run = [json.loads(line) for line in (accepted["run"] / "reference.jsonl").read_text(encoding="utf-8").splitlines()]
    again = ingest_paths(accepted["corrected"]).records
    assert sorted(r.id for r in again) == sorted(r["id"] for r in run)
    by_id = {r.id: r for r in again}
    for r in run:
        assert by_id[r["id"]].zh == r["zh"] and list(by_id[r["id"]].zh_lines) == r["zh_lines"]
    for item in accepted["items"]:
        assert by_id[item["id"]].en == item["proposal"]["text"]


def test_the_rerun_clears_the_repaired_paragraphs(accepted):
    rows = {json.loads(line)["id"]: json.loads(line)
            for line in (accepted["rerun"] / "paragraphs.jsonl").read_text(encoding="utf-8").splitlines()}
    for item in accepted["items"]:
        row = rows[item["id"]]
        assert row["suspicion"] < 0.5, (item["id"], row["suspicion"], row["flags"])
        names = {f["name"] for f in row["flags"] if not f.get("system")}
        assert not names & {"untranslated", "dateline_missing", "cut_short"}, (item["id"], names)
        assert row["bead"] == "1-1" or item["bead"] != "0-1"


def test_the_dropped_dateline_restores_the_original_file_byte_for_byte(accepted):
    assert (accepted["out"] / CHANGZHOU.name).read_bytes() == CHANGZHOU.read_bytes()


def test_in_place_keeps_a_backup_and_writes_the_same_file(damaged_run, accepted, tmp_path):
    items = relocate(read_items(damaged_run["worklist"]), damaged_run["sources"], tmp_path / "sources")
    originals = {p.name: p.read_bytes() for p in (tmp_path / "sources").iterdir()}
    worklist = decide(items, tmp_path / "worklist.jsonl")
    assert main(["apply", str(worklist), "--out", str(tmp_path / "diffs"), "--in-place"]) == 0
    for name, data in originals.items():
        assert (tmp_path / "sources" / f"{name}.bak").read_bytes() == data
        assert (tmp_path / "sources" / name).read_bytes() == (accepted["out"] / name).read_bytes()
        assert (tmp_path / "diffs" / f"{name}.diff").exists() and not (tmp_path / "diffs" / name).exists()


def test_a_csv_worklist_gives_the_same_files(damaged_run, accepted, tmp_path):
    table = damaged_run["run"] / "worklist.csv"
    with table.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = [{**row, "decision": "Accept"} for row in reader]
        fields = reader.fieldnames
    edited = tmp_path / "decided.csv"
    with edited.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    assert main(["apply", str(edited), "--out", str(tmp_path / "out")]) == 0
    for path in accepted["corrected"]:
        assert (tmp_path / "out" / path.name).read_bytes() == path.read_bytes()


@pytest.mark.parametrize("decision", ["pending", "reject"])
def test_pending_and_rejected_items_change_nothing(damaged_run, tmp_path, capsys, decision):
    worklist = decide(read_items(damaged_run["worklist"]), tmp_path / "worklist.jsonl", decision)
    assert main(["apply", str(worklist), "--out", str(tmp_path / "out")]) == 0
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["apply-summary.json"]
    assert "no file changed" in capsys.readouterr().out


def test_an_edit_writes_the_edited_text(damaged_run, tmp_path):
    items = read_items(damaged_run["worklist"])
    target = item_for(items, "zh_tail")
    text = target["en"].split("这个")[0] + "That demonstration was a natural expression of sympathy for the victims."
    worklist = decide([target], tmp_path / "worklist.jsonl", "edit", edited=text)
    assert main(["apply", str(worklist), "--out", str(tmp_path / "out")]) == 0
    lines = (tmp_path / "out" / Path(target["source"]).name).read_text(encoding="utf-8").split("\n")
    assert lines[target["en_lines"][0] - 1] == text.strip()


# --- every refusal: one line naming the file, exit code 2, nothing written ---------------------------------------

def test_refused_when_a_source_changed_since_the_worklist(damaged_run, tmp_path, capsys):
    items = relocate(read_items(damaged_run["worklist"]), damaged_run["sources"], tmp_path / "sources")
    changed = tmp_path / "sources" / CHANGZHOU.name
    changed.write_text(changed.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    worklist = decide(items, tmp_path / "worklist.jsonl")
    assert main(["apply", str(worklist), "--out", str(tmp_path / "out")]) == 2
    err = error_line(capsys)
    assert f"evalkit: error: {changed}: changed since the worklist was made" in err
    assert not (tmp_path / "out").exists()


def test_refused_when_two_decisions_touch_the_same_lines(damaged_run, tmp_path, capsys):
    items = read_items(damaged_run["worklist"])
    target = item_for(items, "cut")
    worklist = decide([*items, {**target, "proposal": {**target["proposal"], "text": "Another English."}}],
                      tmp_path / "worklist.jsonl")
    assert main(["apply", str(worklist), "--out", str(tmp_path / "out")]) == 2
    err = error_line(capsys)
    assert f"evalkit: error: {target['source']}: items {target['id']!r}" in err and "both change" in err
    assert f"English line {target['en_lines'][0]}" in err
    assert not (tmp_path / "out").exists()


def test_refused_when_an_item_is_not_in_the_run(damaged_run, tmp_path, capsys):
    items = read_items(damaged_run["worklist"])
    stray = {**items[0], "id": items[0]["doc_id"] + "#0999"}
    worklist = decide([*items[1:], stray], tmp_path / "worklist.jsonl")
    assert main(["apply", str(worklist), "--out", str(tmp_path / "out")]) == 2
    err = error_line(capsys)
    assert f"evalkit: error: {worklist}:{len(items)}: item {stray['id']!r} is not a paragraph of the run" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", ["approve", "accepted", 1])
def test_refused_when_a_decision_is_not_allowed(damaged_run, tmp_path, capsys, value):
    items = read_items(damaged_run["worklist"])
    worklist = decide(items[:1] + [{**items[1], "decision": value}], tmp_path / "worklist.jsonl", "accept")
    # decide() sets every decision; put the bad one back on line 2.
    lines = worklist.read_text(encoding="utf-8").splitlines()
    lines[1] = json.dumps({**items[1], "decision": value}, ensure_ascii=False)
    worklist.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["apply", str(worklist), "--out", str(tmp_path / "out")]) == 2
    err = error_line(capsys)
    assert f"evalkit: error: {worklist}:2: item {items[1]['id']!r}: decision {value!r} is not one of " \
           "pending | accept | reject | edit" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("edited", [None, "", "   \n  "])
def test_refused_when_an_edit_has_no_text(damaged_run, tmp_path, capsys, edited):
    items = read_items(damaged_run["worklist"])
    worklist = decide(items, tmp_path / "worklist.jsonl", "edit", edited=edited)
    assert main(["apply", str(worklist), "--out", str(tmp_path / "out")]) == 2
    err = error_line(capsys)
    assert f"evalkit: error: {worklist}:1: item {items[0]['id']!r}: decision 'edit' has no text" in err
    assert not (tmp_path / "out").exists()


def test_refused_when_accepting_an_item_with_no_proposal(damaged_run, tmp_path, capsys):
    items = read_items(damaged_run["worklist"])
    none = {**items[0], "proposal": {"text": None, "origin": "none", "rule": "English with no Chinese counterpart"}}
    worklist = decide([none], tmp_path / "worklist.jsonl")
    assert main(["apply", str(worklist), "--out", str(tmp_path / "out")]) == 2
    assert f"{worklist}:1: item {none['id']!r}: decision 'accept' but nothing is proposed" in error_line(capsys)


def test_refused_when_the_worklist_lines_do_not_fit_the_file(damaged_run, tmp_path, capsys):
    items = read_items(damaged_run["worklist"])
    target = item_for(items, "cut")
    moved = {**target, "en_lines": [target["en_lines"][0] + 2, target["en_lines"][1] + 2]}
    worklist = decide([moved], tmp_path / "worklist.jsonl")
    assert main(["apply", str(worklist), "--out", str(tmp_path / "out")]) == 2
    err = error_line(capsys)
    assert f"{worklist}:1: item {target['id']!r} gives lines EN" in err and "does not fit this file" in err


def test_refused_when_the_new_english_no_longer_aligns_with_its_chinese(damaged_run, tmp_path, capsys):
    items = read_items(damaged_run["worklist"])
    target = item_for(items, "dropped")  # a new paragraph far too short for its Chinese
    worklist = decide([target], tmp_path / "worklist.jsonl", "edit", edited="Yes.")
    assert main(["apply", str(worklist), "--out", str(tmp_path / "out")]) == 2
    err = error_line(capsys)
    assert f"evalkit: error: {target['source']}: " in err and target["id"] in err and "reject the item" in err
    assert not (tmp_path / "out").exists()


def test_refused_when_out_is_the_source_folder(damaged_run, tmp_path, capsys):
    items = relocate(read_items(damaged_run["worklist"]), damaged_run["sources"], tmp_path / "sources")
    worklist = decide(items, tmp_path / "worklist.jsonl")
    assert main(["apply", str(worklist), "--out", str(tmp_path / "sources")]) == 2
    assert "would overwrite this source file" in error_line(capsys)


def test_refused_when_an_in_place_backup_exists(damaged_run, tmp_path, capsys):
    items = relocate(read_items(damaged_run["worklist"]), damaged_run["sources"], tmp_path / "sources")
    (tmp_path / "sources" / f"{SEED.name}.bak").write_text("earlier", encoding="utf-8")
    worklist = decide(items, tmp_path / "worklist.jsonl")
    assert main(["apply", str(worklist), "--out", str(tmp_path / "diffs"), "--in-place"]) == 2
    assert ".bak" in error_line(capsys)
    assert (tmp_path / "sources" / SEED.name).read_bytes() == (damaged_run["sources"] / SEED.name).read_bytes()


# --- every byte outside the paragraph stays, in every format variant ------------------------------------------------

def _crlf_bom_seed(tmp: Path) -> Path:
    path = tmp / "crlf" / SEED.name
    path.parent.mkdir()
    path.write_bytes(b"\xef\xbb\xbf" + SEED.read_bytes().replace(b"\n", b"\r\n"))
    return path


def _one_per_line_seed(tmp: Path) -> Path:
    english, sep, chinese = SEED.read_text(encoding="utf-8").partition("<hr />")
    head, _, body = english.partition("\n\n")
    body = "\n".join(line for line in body.split("\n") if line.strip()) + "\n\n\n\n"
    path = tmp / "oneline" / SEED.name
    path.parent.mkdir()
    path.write_text(head + "\n\n" + body + sep + chinese, encoding="utf-8")
    return path


FORMATS = {
    "blank-separated": lambda tmp: SEED,
    "one-per-line, 4 spaces": lambda tmp: ARTICLES / "1949.05__1949-05-01_北平市军管会通告（通字第二号）.md",
    "full-width indent": lambda tmp: ARTICLES / "1947.09__1947-09-03_上海美海军枪杀我同胞.md",
    "tabs": lambda tmp: ARTICLES / "1967.04__1967-04-03_台湾人民在反抗.md",
    "right-aligned dateline": lambda tmp: ARTICLES / "1948.10__1948-10-02_美国侵华零讯.md",
    "CRLF and BOM": _crlf_bom_seed,
    "one-per-line seed": _one_per_line_seed,
}


def _apply_hand(tmp: Path, source: Path, decisions: dict[int, tuple[str, str | None]], capsys=None) -> Path:
    worklist = hand_worklist(tmp, source, decisions)
    assert main(["apply", str(worklist), "--out", str(tmp / "out")]) == 0, capsys.readouterr().err if capsys else ""
    return tmp / "out" / source.name


@pytest.mark.parametrize("variant", list(FORMATS))
def test_an_edit_changes_only_its_line_and_keeps_indent_and_line_ends(tmp_path, variant, capsys):
    source = FORMATS[variant](tmp_path)
    records = align_article(parse_article(source))
    target = max((r for r in records if r.kind == "body" and r.bead == "1-1"), key=lambda r: len(r.en))
    new_text = target.en + " (Checked against the Chinese.)"
    corrected = _apply_hand(tmp_path, source, {target.index: ("edit", new_text)}, capsys)
    old = source.read_bytes().split(b"\n")
    new = corrected.read_bytes().split(b"\n")
    assert len(old) == len(new)
    changed = [k for k, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
    line = parse_article(source).en[target.en_lines[0]].line
    assert changed == [line - 1]
    before, after = old[line - 1].decode("utf-8"), new[line - 1].decode("utf-8")
    indent = before[: len(before) - len(before.lstrip(" \u3000\t\ufeff"))]
    trail = before[len(before.rstrip(" \u3000\t\r")):]
    assert after == indent + new_text + trail
    assert [r.id for r in align_article(parse_article(corrected))] == [r.id for r in records]


@pytest.mark.parametrize("variant, separator", [("blank-separated", [""]), ("one-per-line seed", [])])
def test_a_paragraph_split_in_two_uses_the_files_separator(tmp_path, variant, separator, capsys):
    source = FORMATS[variant](tmp_path)
    records = align_article(parse_article(source))
    target = next(r for r in records if r.en.startswith("Any country, if it truly wants"))
    first, _, rest = target.en.partition(". ")
    corrected = _apply_hand(tmp_path, source, {target.index: ("edit", f"{first}.\n{rest}")}, capsys)
    lines = corrected.read_text(encoding="utf-8").split("\n")
    k = lines.index(f"{first}.")
    assert lines[k + 1: k + 1 + len(separator)] == separator and lines[k + 1 + len(separator)] == rest


@pytest.mark.parametrize("variant, separator", [("blank-separated", [""]), ("one-per-line seed", [])])
def test_an_inserted_paragraph_goes_where_the_aligner_pairs_it(tmp_path, variant, separator, capsys):
    source = FORMATS[variant](tmp_path)
    text = source.read_text(encoding="utf-8")
    dropped = next(line for line in text.split("\n") if line.startswith("If we also trace other such facts"))
    damaged = tmp_path / "damaged" / source.name
    damaged.parent.mkdir()
    damaged.write_text(text.replace(dropped + "\n" + "\n" * len(separator), "", 1), encoding="utf-8")
    records = align_article(parse_article(damaged))
    gap = next(r for r in records if r.bead == "0-1")
    hyps = {json.loads(line)["zh"]: json.loads(line)["hyp"] for line in SEED_HYPS.read_text(encoding="utf-8").splitlines()}
    corrected = _apply_hand(tmp_path, damaged, {gap.index: ("edit", hyps[gap.zh])}, capsys)
    lines = corrected.read_text(encoding="utf-8").split("\n")
    k = lines.index(hyps[gap.zh])
    assert lines[k - 1 - len(separator)].startswith("If so, Mr. President, we have different understandings")
    assert lines[k - len(separator): k] == separator
    after = align_article(parse_article(corrected))
    assert [r.id for r in after] == [r.id for r in records]
    assert next(r for r in after if r.id == gap.id).bead == "1-1"


def test_two_new_paragraphs_after_the_same_line_keep_the_chinese_order(tmp_path, capsys):
    text = SEED.read_text(encoding="utf-8")
    article = parse_article(SEED)
    first, second = article.en[17], article.en[18]  # two consecutive paragraphs dropped
    lines = text.split("\n")
    damaged = tmp_path / "damaged" / SEED.name
    damaged.parent.mkdir()
    damaged.write_text("\n".join(lines[:first.line - 1] + lines[second.line + 1:]), encoding="utf-8")
    records = align_article(parse_article(damaged))
    gaps = [r for r in records if r.bead == "0-1"]
    assert len(gaps) == 2 and gaps[1].index == gaps[0].index + 1
    hyps = {json.loads(line)["zh"]: json.loads(line)["hyp"] for line in SEED_HYPS.read_text(encoding="utf-8").splitlines()}
    corrected = _apply_hand(tmp_path, damaged, {r.index: ("edit", hyps[r.zh]) for r in gaps}, capsys)
    out = corrected.read_text(encoding="utf-8").split("\n")
    a, b = out.index(hyps[gaps[0].zh]), out.index(hyps[gaps[1].zh])
    assert b == a + 2 and out[a + 1] == ""
    after = align_article(parse_article(corrected))
    assert [r.id for r in after] == [r.id for r in records]
    assert [r.en for r in after if r.id in {g.id for g in gaps}] == [hyps[g.zh] for g in gaps]


def test_a_merged_paragraph_replaced_by_one_line_loses_its_other_line(tmp_path, capsys):
    records = align_article(parse_article(SEED))
    merged = next(r for r in records if r.bead == "2-1")  # the title repeat and the salutation
    one = "Khrushchev's Letter to Eisenhower — Dear Mr. President:"
    corrected = _apply_hand(tmp_path, SEED, {merged.index: ("edit", one)}, capsys)
    old, new = SEED.read_text(encoding="utf-8").split("\n"), corrected.read_text(encoding="utf-8").split("\n")
    lines = [parse_article(SEED).en[i].line for i in merged.en_lines]
    assert new == old[:lines[0] - 1] + [one] + old[lines[-1]:]
    assert next(r for r in align_article(parse_article(corrected)) if r.id == merged.id).en == one


def test_an_empty_worklist_changes_nothing(damaged_run, tmp_path, capsys):
    worklist = tmp_path / "none.jsonl"
    assert main(["worklist", str(damaged_run["run"]), "-o", str(worklist), "--min-suspicion", "1"]) == 0
    assert worklist.read_text(encoding="utf-8") == ""
    assert main(["apply", str(worklist), "--out", str(tmp_path / "out")]) == 0
    assert "no file changed" in capsys.readouterr().out
