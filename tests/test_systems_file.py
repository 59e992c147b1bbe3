"""The ``file`` backend: precomputed hypotheses of an external system, matched to the reference."""

from __future__ import annotations

import json
import logging

import pytest

from evalkit.config import SystemConfig
from evalkit.errors import ConfigError, InputError
from evalkit.records import ReferenceRecord
from evalkit.systems.base import Segment, create_system
from tiny_models import CORPUS_HYPS, SEED_HYPS, built_seed_references, seed_lines, seed_references


def segments(refs: list[ReferenceRecord]) -> list[Segment]:
    return [Segment(r.id, r.zh) for r in refs]


def file_system(path, **options):
    return create_system(SystemConfig(name="ext", backend="file", path=str(path), **options))


def test_keyed_by_zh_joins_the_lines_of_a_merged_paragraph():
    refs = built_seed_references()
    rows = seed_lines()
    out = file_system(SEED_HYPS).translate(segments(refs))
    merged = next(i for i, r in enumerate(refs) if "\n" in r.zh)
    assert out[merged].hyp == rows[5]["hyp"] + " " + rows[6]["hyp"]
    assert out[0].hyp == rows[0]["hyp"]
    assert all(t.hyp for t in out)


def test_the_real_seed_reference_matches_every_body_paragraph():
    # Headline records hold the ### headline, which the per-line files do not translate.
    refs = seed_references()
    out = file_system(SEED_HYPS, allow_missing=True).translate(segments(refs))
    missing = [r for r, t in zip(refs, out, strict=True) if r.zh and not t.hyp]
    assert all(r.kind == "headline" for r in missing)


def test_keyed_by_zh_ignores_spaces_and_tabs_the_way_the_corpus_strips_them():
    refs = built_seed_references()[:3]
    spaced = [Segment(r.id, " " + r.zh[:5] + "\u3000\t" + r.zh[5:] + " ") for r in refs]
    out = file_system(SEED_HYPS).translate(spaced)
    assert [t.hyp for t in out] == [row["hyp"] for row in seed_lines()[:3]]


def test_a_folder_of_per_document_files_is_one_system():
    rows = [json.loads(line) for f in sorted(CORPUS_HYPS.glob("*.jsonl")) for line in f.read_text("utf-8").splitlines()]
    segs = [Segment(f"r{i}", row["zh"]) for i, row in enumerate(rows[:20])]
    out = file_system(CORPUS_HYPS).translate(segs)
    assert [t.hyp for t in out] == [row["hyp"].strip() for row in rows[:20]]


def test_keyed_by_id(tmp_path):
    refs = built_seed_references()[:4]
    path = tmp_path / "by_id.jsonl"
    path.write_text("".join(json.dumps({"id": r.id, "hyp": f"hyp {i}"}) + "\n" for i, r in enumerate(reversed(refs))))
    out = file_system(path).translate(segments(refs))
    assert [t.hyp for t in out] == ["hyp 3", "hyp 2", "hyp 1", "hyp 0"]


def test_plain_text_is_one_line_per_reference_paragraph(tmp_path):
    refs = built_seed_references()[:3]
    path = tmp_path / "hyps.txt"
    path.write_text("one\ntwo\nthree\n", encoding="utf-8")
    assert [t.hyp for t in file_system(path).translate(segments(refs))] == ["one", "two", "three"]


def test_missing_ids_are_an_error_that_lists_the_first_few(tmp_path):
    refs = built_seed_references()
    path = tmp_path / "by_id.jsonl"
    path.write_text(json.dumps({"id": refs[0].id, "hyp": "x"}) + "\n")
    with pytest.raises(InputError) as info:
        file_system(path).translate(segments(refs))
    message = str(info.value)
    assert str(path) in message and f"{len(refs) - 1} of {len(refs)}" in message
    assert refs[1].id in message and refs[5].id in message and refs[6].id not in message
    assert "allow_missing" in message


def test_allow_missing_gives_empty_hypotheses_and_a_warning(tmp_path, caplog):
    refs = built_seed_references()[:3]
    path = tmp_path / "by_id.jsonl"
    path.write_text(json.dumps({"id": refs[0].id, "hyp": "x"}) + "\n")
    with caplog.at_level(logging.WARNING, logger="evalkit.systems"):
        out = file_system(path, allow_missing=True).translate(segments(refs))
    assert [t.hyp for t in out] == ["x", "", ""]
    assert "no hypothesis for 2 paragraph(s)" in caplog.text


def test_too_few_text_lines_are_missing_paragraphs(tmp_path):
    refs = built_seed_references()[:3]
    path = tmp_path / "hyps.txt"
    path.write_text("one\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"no hypothesis for 2 paragraph\(s\)"):
        file_system(path).translate(segments(refs))


def test_extra_text_lines_are_an_error(tmp_path):
    refs = built_seed_references()[:2]
    path = tmp_path / "hyps.txt"
    path.write_text("one\ntwo\nthree\n", encoding="utf-8")
    with pytest.raises(InputError, match="1 extra line"):
        file_system(path).translate(segments(refs))


def test_extra_jsonl_entries_are_reported(caplog):
    refs = built_seed_references()[:2]
    with caplog.at_level(logging.WARNING, logger="evalkit.systems"):
        file_system(SEED_HYPS).translate(segments(refs))
    assert "match no reference paragraph" in caplog.text


def test_duplicate_ids_are_an_error(tmp_path):
    path = tmp_path / "dup.jsonl"
    path.write_text(json.dumps({"id": "a", "hyp": "x"}) + "\n" + json.dumps({"id": "a", "hyp": "y"}) + "\n")
    with pytest.raises(InputError, match=r"dup.jsonl:2: duplicate id 'a' \(first at .*dup.jsonl:1\)"):
        file_system(path).translate([Segment("a", "信")])


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        file_system(tmp_path / "nope.jsonl")


def test_path_is_required():
    with pytest.raises(ConfigError, match="'path' is required"):
        create_system(SystemConfig(name="ext", backend="file"))


def test_file_systems_are_not_cached_and_fingerprint_their_content(tmp_path):
    path = tmp_path / "hyps.txt"
    path.write_text("one\n", encoding="utf-8")
    first = file_system(path)
    before = first.fingerprint
    path.write_text("uno\n", encoding="utf-8")
    assert not first.cacheable
    assert file_system(path).fingerprint != before
