"""Bounded memory for ingest, the run's reference copy, translate, ``ci --baseline`` and ``compare``.

Specification:
- ``evalkit ingest`` streams documents (discovered, parsed, aligned, written one at a time) and
  writes exactly what collecting every record wrote; discovery yields the files in the order a
  sorted ``rglob`` gave; a bad path still fails before any file is read; a repeated document id
  still names the earlier file; memory does not grow with the number of documents;
- ``prepare_references`` copies a reference set line by line with ``read_references``' checks
  and messages (a repeated id reported first, with both lines);
- the translate stage reads the reference file in windows: the records and the file are those
  of translating the set whole when it fits one window; each window's misses are batched by
  length; memory does not grow with the number of paragraphs;
- ``evalkit translate`` with ``sources`` works and leaves a run folder ``score`` can follow;
- ``compare`` and the regression gate give the same results whatever their block size, and
  read a repeated id as a dict would (first position, last row).
"""

from __future__ import annotations

import gc
import json
import shutil
import tracemalloc
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml
from conftest import ARTICLES, REPO, SEED, SEED_HYPS

from evalkit.cli import main
from evalkit.config import RunConfig, SystemConfig
from evalkit.corpus import ingest as ingest_module
from evalkit.corpus import ingest_paths, ingest_to_file, iter_ingest
from evalkit.errors import InputError
from evalkit.jsonl import write_jsonl
from evalkit.layout import RunLayout
from evalkit.records import ReferenceRecord, read_references
from evalkit.systems import runner
from evalkit.systems.base import BACKENDS, Segment, Translation, Translator

SEED_REF = REPO / "reference" / "seed.jsonl"


def _copies(folder: Path, n: int) -> Path:
    """``n`` corpus articles, each under its own name (so its own document id)."""
    files = sorted(ARTICLES.glob("*.md"))
    for k in range(n):
        src = files[k % len(files)]
        name = src.name.split("__", 1)[-1]
        out = folder / name[:7].replace("-", ".") / f"{Path(name).stem}_{k:05d}.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, out)
    return folder


# ----------------------------------------------------------------------------- ingest


def test_discovery_walks_in_the_order_of_a_sorted_rglob(tmp_path):
    root = tmp_path / "tree"
    for rel in ["a.md", "a-b/x.md", "a/z.txt", "a/b/y.MD", "a/b.md", "B.md", "中文/一.md", "中文/二.txt",
                "a/.hidden/h.md", ".git/x.md", "a/.swp.md", "notes.json", "dir.md/inner.md", "a/b/c/d/e.txt"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x", encoding="utf-8")
    (root / "linked").symlink_to(root / "a", target_is_directory=True)  # not entered, as rglob
    (root / "alias.md").symlink_to(root / "a.md")  # a file link is a file
    expected = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".md", ".txt") and p.is_file()
                      and not any(part.startswith(".") for part in p.relative_to(root).parts))
    assert list(ingest_module.iter_discover([root])) == expected
    assert list(ingest_module.iter_discover([root, root / "B.md"])) == expected + [root / "B.md"]


def test_streamed_ingest_writes_what_collecting_wrote(tmp_path):
    folder = _copies(tmp_path / "in", 30)
    (folder / "1958.08" / "bad.md").write_text("not an article", encoding="utf-8")
    collected = ingest_paths([folder, SEED], skip_bad=True)
    write_jsonl(tmp_path / "collected.jsonl", collected.records)
    stats = ingest_to_file([folder, SEED], tmp_path / "streamed.jsonl", skip_bad=True)
    assert (tmp_path / "streamed.jsonl").read_bytes() == (tmp_path / "collected.jsonl").read_bytes()
    assert stats.summary() == collected.summary()
    assert stats.records == len(collected.records) and stats.documents == 31 and len(stats.skipped) == 1


def test_iter_ingest_yields_a_document_before_reading_the_next(tmp_path, monkeypatch):
    folder = _copies(tmp_path / "in", 5)
    parsed = []
    real = ingest_module.parse_article
    monkeypatch.setattr(ingest_module, "parse_article", lambda p: parsed.append(p) or real(p))
    records = iter_ingest([folder])
    first = next(records)
    assert first.index == 0 and len(parsed) == 1
    assert len(list(records)) > 0 and len(parsed) == 5


def test_a_bad_path_fails_before_any_file_is_read(tmp_path, monkeypatch):
    folder = _copies(tmp_path / "in", 3)
    (tmp_path / "empty").mkdir()
    monkeypatch.setattr(ingest_module, "parse_article", lambda p: pytest.fail("parsed before the paths were checked"))
    with pytest.raises(InputError, match="no article files"):
        list(iter_ingest([folder, tmp_path / "empty"]))
    with pytest.raises(InputError, match="no such file or folder"):
        list(iter_ingest([folder, tmp_path / "missing"]))


def test_a_repeated_document_id_names_the_earlier_file(tmp_path, capsys):
    # The same folder given twice: every file of the second pass repeats one of the first.
    folder = _copies(tmp_path / "in", 4)
    files = sorted(p for p in folder.rglob("*.md"))
    with pytest.raises(InputError) as info:
        list(iter_ingest([folder, files[2]]))
    assert str(info.value).startswith(f"{files[2]}:") and f"already given by {files[2]}" in str(info.value)
    # A copy elsewhere gives the same document id: the error is about the copy and names the original.
    copy = tmp_path / "elsewhere" / files[2].name
    copy.parent.mkdir()
    shutil.copyfile(files[2], copy)
    with pytest.raises(InputError) as info:
        list(iter_ingest([folder, copy]))
    assert str(info.value).startswith(f"{copy}:") and f"already given by {files[2]};" in str(info.value)
    out = tmp_path / "o.jsonl"
    assert main(["ingest", str(folder), str(folder), "-o", str(out), "--skip-bad"]) == 0
    summary = capsys.readouterr().out
    assert "documents: 4" in summary and "skipped files: 4" in summary
    for f in files:
        assert f"{f}: gives document id" in summary and f"already given by {f};" in summary


def test_ingest_memory_does_not_grow_with_the_documents(tmp_path):
    ingest_to_file([_copies(tmp_path / "warm-up", 24)], tmp_path / "warm-up.jsonl")  # first-use caches
    peaks = []
    for n in (40, 160):
        folder = _copies(tmp_path / f"in{n}", n)
        # pathlib interns the parts of every path it parses; the interpreter's table of interned
        # strings grows by doubling (a one-off block of megabytes, whenever earlier tests filled it
        # near a threshold), which is no memory of the ingest's. Parse the paths beforehand, and
        # keep them, so that their parts stay interned while the ingest is measured.
        parsed = [Path(str(p)) for p in folder.rglob("*")]
        assert len([p for p in parsed if p.suffix == ".md"]) == n
        gc.collect()
        tracemalloc.start()
        stats = ingest_to_file([folder], tmp_path / f"o{n}.jsonl")
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        del parsed
        assert stats.documents == n
    # Collecting every record grows by two thirds here; streaming holds one document (and a hash
    # per document).
    assert peaks[1] < peaks[0] * 1.3, peaks


# ----------------------------------------------------------------------------- the run's reference copy


def _prepare(tmp_path: Path, reference: Path) -> Path:
    from evalkit.reference_set import prepare_references

    layout = RunLayout.at(tmp_path / "run")
    prepare_references(RunConfig(reference=str(reference), systems=[]), layout)
    return layout.reference


def test_the_reference_copy_is_what_read_references_and_write_jsonl_gave(tmp_path):
    copy = _prepare(tmp_path, SEED_REF)
    write_jsonl(tmp_path / "expected.jsonl", read_references(SEED_REF))
    assert copy.read_bytes() == (tmp_path / "expected.jsonl").read_bytes()


@pytest.mark.parametrize("damage", ["duplicate", "duplicate_then_bad", "bad_record", "bad_json", "empty"])
def test_the_reference_copy_fails_as_read_references_does(tmp_path, damage):
    lines = SEED_REF.read_text(encoding="utf-8").splitlines()
    if damage.startswith("duplicate"):
        lines[9] = lines[3]
    if damage in ("duplicate_then_bad", "bad_record"):
        lines[20] = json.dumps({"id": "x"})
    if damage == "bad_json":
        lines[12] = "{not json"
    if damage == "empty":
        lines = []
    source = tmp_path / "ref.jsonl"
    source.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    with pytest.raises(InputError) as expected:
        read_references(source)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "reference.jsonl").write_text("previous\n", encoding="utf-8")
    with pytest.raises(InputError) as got:
        _prepare(tmp_path, source)
    assert str(got.value) == str(expected.value)
    assert (tmp_path / "run" / "reference.jsonl").read_text(encoding="utf-8") == "previous\n"


# ----------------------------------------------------------------------------- translate in windows


class EchoTranslator(Translator):
    """hyp = "EN(<zh>)"; records the batches it is given in the file ``calls`` (one JSON list a line)."""

    backend = "echo"

    def __init__(self, config: SystemConfig):
        super().__init__(config)
        self.calls = Path(config.options()["calls"])
        self.batch_size = int(config.options().get("batch_size", 4))

    def settings(self):
        return {}

    def translate(self, segments: Sequence[Segment]) -> list[Translation]:
        with self.calls.open("a", encoding="utf-8") as f:
            f.write(json.dumps([s.zh for s in segments], ensure_ascii=False) + "\n")
        return [Translation(f"EN({s.zh})", chunks=1 + len(s.zh) // 40) for s in segments]


@pytest.fixture
def echo(monkeypatch, tmp_path):
    monkeypatch.setitem(BACKENDS, "echo", "test_scale_streaming:EchoTranslator")
    calls = tmp_path / "calls.jsonl"
    system = SystemConfig(name="echo", backend="echo", calls=str(calls), batch_size=3)
    return RunConfig(reference="unused.jsonl", systems=[system]), calls


def _batches(calls: Path) -> list[list[str]]:
    return [json.loads(line) for line in calls.read_text(encoding="utf-8").splitlines()] if calls.exists() else []


def test_a_set_within_one_window_gives_the_same_file_from_a_list_or_a_path(echo, tmp_path):
    config, calls = echo
    refs = read_references(SEED_REF)
    translated = runner.translate_to_files(config, refs, tmp_path / "list", keep=True)["echo"].records
    batches = _batches(calls)
    calls.unlink()
    (tmp_path / "cache").rename(tmp_path / "cache.old")  # a fresh cache: the same work again
    stats = runner.translate_to_files(config, SEED_REF, tmp_path / "path")["echo"]
    assert _batches(calls) == batches
    written = RunLayout.at(tmp_path / "path").hyps("echo").read_bytes()
    assert written == RunLayout.at(tmp_path / "list").hyps("echo").read_bytes()
    assert (stats.paragraphs, stats.cached, stats.chunked) == (len(refs), 0, sum(r.chunks > 1 for r in translated))


@pytest.mark.parametrize("set_by", ["runner.WINDOW", "engine.window"])
def test_each_window_is_looked_up_batched_and_written_in_order(echo, tmp_path, monkeypatch, set_by):
    config, calls = echo
    refs = [r for r in read_references(SEED_REF)]
    # A repeat of the first paragraph in the third window: served from the cache there.
    refs.append(ReferenceRecord(**{**refs[1].to_dict(), "id": "repeat#0001", "en_lines": (), "zh_lines": ()}))
    if set_by == "runner.WINDOW":
        monkeypatch.setattr(runner, "WINDOW", 10)
    else:  # the config's setting wins over the module default
        monkeypatch.setattr(runner, "WINDOW", 7)
        config = config.model_copy(update={"engine": config.engine.model_copy(update={"window": 10})})
    records = runner.translate_system(config, config.systems[0], refs)
    assert [r.id for r in records] == [r.id for r in refs]
    assert [r.hyp for r in records] == [f"EN({r.zh})" if r.zh else "" for r in refs]
    expected = []
    for start in range(0, len(refs), 10):
        window = refs[start:start + 10]
        seen = {r.zh for r in refs[:start]}
        misses = [zh for zh in dict.fromkeys(r.zh for r in window if r.zh) if zh not in seen]
        expected += runner._batches_by_length(misses, 3)
    assert _batches(calls) == expected
    assert records[-1].cached and not any(r.cached for r in records[:-1])


def test_translate_memory_does_not_grow_with_the_paragraphs(echo, tmp_path, monkeypatch):
    config, calls = echo
    seed = [r for r in read_references(SEED_REF) if r.zh]
    monkeypatch.setattr(runner, "WINDOW", 200)
    runner.translate_to_files(config, seed[:5], tmp_path / "warm-up")  # imports and first-use caches
    peaks = []
    for n in (800, 3200):
        refs = [ReferenceRecord(**{**seed[k % len(seed)].to_dict(), "id": f"d{k // 40}#{k % 40:04d}",
                                   "zh": seed[k % len(seed)].zh + str(k)}) for k in range(n)]
        path = tmp_path / f"ref{n}.jsonl"
        write_jsonl(path, refs)
        del refs
        gc.collect()
        tracemalloc.start()
        stats = runner.translate_to_files(config, path, tmp_path / f"run{n}")["echo"]
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert stats.paragraphs == n
        calls.unlink()
    assert peaks[1] < peaks[0] * 1.3, peaks


def test_translate_command_with_sources_leaves_a_run_folder_score_can_follow(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"sources": [str(SEED)], "out": str(tmp_path / "run"),
                                      "systems": [{"name": "gloss", "backend": "gloss"}],
                                      "scoring": {"metrics": ["chrf"], "workers": 1}}), encoding="utf-8")
    assert main(["translate", "--config", str(config)]) == 0
    assert "gloss: 43 paragraphs" in capsys.readouterr().out
    assert (tmp_path / "run" / "reference.jsonl").read_bytes() == SEED_REF.read_bytes()
    assert main(["score", "--config", str(config)]) == 0


# ----------------------------------------------------------------------------- compare and the gate


def _run(tmp_path: Path, name: str, systems: list[dict]) -> Path:
    config = tmp_path / f"{name}.yaml"
    config.write_text(yaml.safe_dump({
        "reference": str(SEED_REF), "out": str(tmp_path / name), "systems": systems,
        "gates": {"max_flagged_share": 0.99}, "scoring": {"metrics": ["chrf"], "bootstrap": 50, "workers": 1},
    }), encoding="utf-8")
    assert main(["run", "--config", str(config)]) == 0
    return config


def test_compare_and_the_gate_do_not_depend_on_the_block_size(tmp_path, monkeypatch):
    from evalkit import compare
    from evalkit.config import load_config

    external = {"name": "mt", "backend": "file", "path": str(SEED_HYPS), "key": "zh", "allow_missing": True}
    _run(tmp_path, "a", [external, {"name": "gloss", "backend": "gloss"}])
    config_b = _run(tmp_path, "b", [{"name": "mt", "backend": "gloss"}, {"name": "gloss", "backend": "gloss"}])
    config = load_config(config_b)
    layout = RunLayout.at(config.out)
    results = []
    for block in (compare._BLOCK, 3):
        monkeypatch.setattr(compare, "_BLOCK", block)
        monkeypatch.setattr(compare, "_LOOKUP", min(block, 500))
        gates, info = compare.regression_gates(config, layout, str(tmp_path / "a"))
        results.append((compare.compare_runs(str(tmp_path / "a"), str(tmp_path / "b"), n_bootstrap=50),
                        [g.to_dict() for g in gates], info))
    assert results[0] == results[1]
    result, gates, info = results[0]
    assert [s["significance"]["test"] for s in result["systems"]] == ["identical", "paired-bs"]
    assert info["systems"]["mt"]["compared"] > 30 and not list(layout.root.glob(".evalkit-compare-*"))


def test_a_repeated_id_keeps_its_first_place_and_its_last_row(tmp_path):
    import sqlite3

    from evalkit.compare import _Rows

    rows = [{"id": "x", "en": "first", "zh": "一", "systems": {"s": {"hyp": "a"}}, "flags": [], "suspicion": 0.1},
            {"id": "y", "en": "y", "zh": "二", "systems": {}, "flags": [{"name": "omission"}], "suspicion": 0.5},
            {"id": "x", "en": "last", "zh": "一", "systems": {"s": {"hyp": "b"}}, "flags": [], "suspicion": 0.2}]
    path = tmp_path / "paragraphs.jsonl"
    write_jsonl(path, rows)
    db = sqlite3.connect(":memory:")
    table = _Rows(db, "t", path)
    assert table.count == 2
    assert list(db.execute("SELECT id, en, hyps FROM t ORDER BY ord")) == [("x", "last", '{"s": "b"}'), ("y", "y", "{}")]
