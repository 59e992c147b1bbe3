"""The labelled real-defect set (reference/labelled/) and the suspicion model fitted on it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter

import pytest

from evalkit.errors import InputError
from evalkit.judge.labelled import DEFECT_TYPES, judge_fold, load_labelled
from evalkit.judge.suspicion import FEATURES, LENGTH_SCALE, MODEL_FILE, SuspicionModel, feature_vector, load_model
from evalkit.records import ReferenceRecord

from conftest import REPO

LABELLED = REPO / "reference" / "labelled"


@pytest.fixture(scope="module")
def labelled():
    return load_labelled(LABELLED)


def test_the_set_holds_at_least_200_archive_files_all_labelled(labelled):
    assert len(labelled.files) >= 200
    assert labelled.unfinished == []
    assert {r.id for r in labelled.records} == set(labelled.labels)


def test_every_defect_has_a_type_and_evidence(labelled):
    defects = [label for label in labelled.labels.values() if label.label != "clean"]
    assert defects and all(label.types and label.evidence.strip() for label in defects)
    assert set(t for label in defects for t in label.types) <= set(DEFECT_TYPES)


def test_the_folds_split_the_documents_and_both_hold_defects(labelled):
    folds = Counter(labelled.fold_of.values())
    assert set(folds) == {"calibration", "test"}
    assert min(folds.values()) >= 0.4 * sum(folds.values())  # half of each year's files, give or take one
    for fold in ("calibration", "test"):
        assert any(labelled.labels[r.id].defective for r in labelled.fold(fold))
    # A document's paragraphs are all in its one fold.
    assert all(labelled.fold_of[r.doc_id] in ("calibration", "test") for r in labelled.records)


def test_the_sample_is_what_the_seeded_script_draws_from_the_saved_listings():
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "sample_labelled.py"), "check"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_labels_whose_ids_no_longer_match_the_file_are_refused_naming_the_file(tmp_path, labelled):
    row_file = next(iter(labelled.files.values()))
    for sub in ("sample", "articles", "labels"):
        (tmp_path / sub).mkdir()
    shutil.copy(row_file, tmp_path / "articles" / row_file.name)
    label_path = LABELLED / "labels" / (row_file.stem + ".json")
    doc = json.loads(label_path.read_text(encoding="utf-8"))
    doc["paragraphs"][0]["id"] += "x"
    (tmp_path / "labels" / label_path.name).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "sample" / "1.tsv").write_text(f"file\tfold\n{row_file.name}\ttest\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"labels/.*\.json: the labelled ids are not the ids ingest gives"):
        load_labelled(tmp_path)


def test_the_packaged_suspicion_model_is_what_fitting_the_calibration_fold_gives(tmp_path):
    pytest.importorskip("scipy")
    out = tmp_path / MODEL_FILE
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "fit_suspicion.py"), "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    fitted, packaged = json.loads(out.read_text(encoding="utf-8")), load_model().to_dict()
    assert fitted["fitted_on"]["features_digest"] == packaged["fitted_on"]["features_digest"]
    assert fitted["weights"] == pytest.approx(packaged["weights"], abs=1e-5)
    assert fitted["leak"] == pytest.approx(packaged["leak"], abs=1e-5)


def test_a_model_for_other_features_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"version": "x", "features": ["a"], "weights": [0.5], "leak": 0.1}), encoding="utf-8")
    with pytest.raises(InputError, match="refit it with bench/fit_suspicion.py"):
        load_model(str(path))


@pytest.mark.parametrize("x,expected", [
    ((0.0,) * len(FEATURES), 0.1),
    ((1.0,) + (0.0,) * (len(FEATURES) - 1), 1 - 0.9 * 0.5),
    ((1.0, 1.0) + (0.0,) * (len(FEATURES) - 2), 1 - 0.9 * 0.5 * 0.5),
])
def test_suspicion_is_a_noisy_or_of_the_evidence(x, expected):
    model = SuspicionModel("t", FEATURES, (0.5,) * len(FEATURES), 0.1, {})
    assert model.probability(x) == pytest.approx(expected)


def test_judging_a_fold_gives_every_paragraph_a_probability(labelled):
    records = labelled.fold("test")[:40]
    judged = judge_fold(records, labelled.hyps_dir, with_file=True)
    assert set(judged) == {r.id for r in records}
    assert all(0.0 <= j.suspicion <= 1.0 and len(j.features) == len(FEATURES) for j in judged.values())


@pytest.mark.parametrize("zh,length", [("", 0.0), ("新华社讯", 4 / LENGTH_SCALE), ("字" * (2 * LENGTH_SCALE), 1.0)])
def test_the_length_feature_is_the_chinese_length_up_to_its_scale(zh, length):
    ref = ReferenceRecord(id="d#0001", doc_id="d", index=1, zh=zh, en="x", bead="1-1", align_cost=0.0)
    assert feature_vector(ref, [])[FEATURES.index("length")] == pytest.approx(length)


def test_with_no_evidence_a_long_paragraph_is_more_suspect_than_a_short_one_but_never_flagged():
    # Fitted on the calibration fold: a defect no check sees has more room in a long paragraph.
    model = load_model()
    short, long = (ReferenceRecord(id="d#0001", doc_id="d", index=1, zh="字" * n, en="x", bead="1-1", align_cost=0.0)
                   for n in (20, 600))
    p_short, p_long = (model.probability(feature_vector(r, [])) for r in (short, long))
    assert p_short < p_long < 0.5


def _labelled_tool(monkeypatch, tmp_path):
    """bench/labelled_tool.py working on a copy of the set's labels under ``tmp_path``."""
    sys.path.insert(0, str(REPO / "bench"))
    import labelled_tool

    shutil.copytree(LABELLED / "labels", tmp_path / "labels")
    monkeypatch.setattr(labelled_tool, "SET", tmp_path)
    return labelled_tool


def _write_records(path, records):
    path.write_text("".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def test_carrying_labels_onto_the_same_records_changes_nothing(monkeypatch, tmp_path, labelled):
    tool = _labelled_tool(monkeypatch, tmp_path)
    article = sorted(labelled.files.values())[0]
    before = tool.label_path(article).read_bytes()
    _write_records(tmp_path / "old.jsonl", tool.records(article))
    assert tool.carry(article, tmp_path / "old.jsonl") == (len(tool.records(article)), [])
    assert tool.label_path(article).read_bytes() == before


def test_after_an_aligner_change_unchanged_records_keep_their_labels_and_new_ones_await_a_person(
        monkeypatch, tmp_path, labelled):
    import dataclasses

    tool = _labelled_tool(monkeypatch, tmp_path)
    article = next(p for p in sorted(labelled.files.values()) if len(tool.records(p)) >= 6)
    today = tool.records(article)
    doc = json.loads(tool.label_path(article).read_text(encoding="utf-8"))
    # The labels were written for an aligner that merged records 3 and 4 into one.
    merged = dataclasses.replace(today[3], zh=today[3].zh + "\n" + today[4].zh, en=today[3].en + "\n" + today[4].en)
    old = [*today[:3], merged, *today[5:]]
    old = [dataclasses.replace(r, id=f"{r.doc_id}#{k:04d}", index=k) for k, r in enumerate(old)]
    _write_records(tmp_path / "old.jsonl", old)
    kept = doc["paragraphs"]
    doc["paragraphs"] = [{**p, "id": r.id, "zh_start": r.zh[:8]} for p, r in
                         zip([*kept[:3], {"label": "minor", "defects": [{"type": "misalignment", "evidence": "merged"}]},
                              *kept[5:]], old, strict=True)]
    tool.label_path(article).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")

    carried, todo = tool.carry(article, tmp_path / "old.jsonl")
    assert (carried, todo) == (len(today) - 2, [today[3].id, today[4].id])
    now = json.loads(tool.label_path(article).read_text(encoding="utf-8"))["paragraphs"]
    assert [p["id"] for p in now] == [r.id for r in today]
    assert [p["label"] for p in now] == [*(p["label"] for p in kept[:3]), "?", "?", *(p["label"] for p in kept[5:])]


def test_carrying_from_records_the_labels_were_not_written_for_is_refused(monkeypatch, tmp_path, labelled):
    tool = _labelled_tool(monkeypatch, tmp_path)
    article = sorted(labelled.files.values())[0]
    _write_records(tmp_path / "old.jsonl", tool.records(article)[1:])
    with pytest.raises(SystemExit, match="not the records .* labels"):
        tool.carry(article, tmp_path / "old.jsonl")
