"""The score and judge stages sharded (``evalkit.shard``): the same bytes wherever the work runs.

Specification:
- a local pool of two processes writes scores.jsonl, paragraphs.jsonl/.csv, report.md/.html,
  junit.xml and summary.json (less its timings and where the work ran) byte-identical to one
  process, with tasks small enough that there are many of them and several in flight;
- with ``engine: {name: ray, shard_min_paragraphs: 0}`` the score stage's scoring and the judge's
  two passes run as Ray tasks on a local instance and write the same bytes;
- below ``shard_min_paragraphs`` an ``engine: ray`` run uses the local pool; scores.meta.json and
  summary.json say which path ran;
- at most ``window`` tasks are in flight: the stream of tasks is consumed as results are, so the
  driver never holds the corpus.

The run folder is made without ``evalkit run`` (the stages under test only read its files);
Ray starts once for the module.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from conftest import REPO, SEED_HYPS
from evalkit import pipeline
from evalkit.config import EngineConfig, RunConfig, SystemConfig, load_config
from evalkit.jsonl import write_jsonl
from evalkit.layout import RunLayout
from evalkit.pipeline import report_stage, score_stage
from evalkit.records import HypothesisRecord, read_references
from evalkit.shard import open_shards, score_rows
from evalkit.systems import Segment, create_system

OUTPUTS = ["scores.jsonl", "paragraphs.jsonl", "paragraphs.csv", "report.md", "report.html", "junit.xml"]


@pytest.fixture(scope="module")
def one_process(tmp_path_factory) -> Path:
    """A scored and reported run folder, made in one process (scoring.workers 1): the expected bytes.

    The seed's reference set four times over under fresh ids (172 paragraphs), with the gloss
    system's hypotheses and an independent translation (a ``file`` system, some paragraphs missing).
    """
    tmp = tmp_path_factory.mktemp("shard")
    layout = RunLayout.at(tmp / "run")
    layout.hyps_dir.mkdir(parents=True)
    seed = read_references(REPO / "reference" / "seed.jsonl")
    copies = [replace(r, id=f"{r.doc_id}~{k}#{r.index:04d}", doc_id=f"{r.doc_id}~{k}") for k in range(4) for r in seed]
    write_jsonl(layout.reference, copies)
    systems = [{"name": "gloss", "backend": "gloss"},
               {"name": "external", "backend": "file", "path": str(SEED_HYPS), "key": "zh", "allow_missing": True}]
    for spec in systems:
        with create_system(SystemConfig(**spec)) as system:
            sources = [r for r in seed if r.zh]
            done = dict(zip((r.id for r in sources), system.translate([Segment(r.id, r.zh) for r in sources]), strict=True))
            fingerprint = system.fingerprint
        write_jsonl(layout.hyps(spec["name"]), [
            HypothesisRecord(c.id, fingerprint, done[r.id].hyp, done[r.id].chunks, done[r.id].truncated)
            if r.id in done else HypothesisRecord(c.id, fingerprint, "", 0)
            for c, r in zip(copies, seed * 4, strict=True)])
    base = {"reference": str(layout.reference), "out": str(layout.root), "systems": systems,
            "scoring": {"metrics": ["chrf", "chrf++", "bleu"], "bootstrap": 20, "workers": 1}, "gates": {"min_chrf": {}}}
    (tmp / "base.json").write_text(json.dumps(base), encoding="utf-8")
    config = RunConfig.model_validate(base)
    score_stage(config, layout)
    report_stage(config, layout)
    return layout.root


@pytest.fixture
def small_tasks(monkeypatch):
    # 172 paragraphs: tasks of a few paragraphs make dozens of tasks, several in flight at once.
    monkeypatch.setattr(pipeline, "_SCORE_TASK", 5)
    monkeypatch.setattr(pipeline, "_SCORE_TASK_RAY", 7)
    monkeypatch.setattr(pipeline, "_JUDGE_TASK", 6)


def _comparable(summary: dict) -> dict:
    out = {k: v for k, v in summary.items() if k not in ("timings", "sharding")}
    # Where the work ran, and the run folder.
    out["config"] = {k: v for k, v in out["config"].items() if k not in ("engine", "scoring", "reference", "out")}
    return out


def _rerun(source: Path, folder: Path, **changes) -> tuple[dict[str, bytes], dict, dict]:
    """Score and report a copy of ``source``'s reference and hypotheses with the config changed."""
    folder.mkdir()
    shutil.copy(source / "reference.jsonl", folder / "reference.jsonl")
    shutil.copytree(source / "hyps", folder / "hyps")
    data = json.loads((source.parent / "base.json").read_text(encoding="utf-8"))
    data.update(reference=str(folder / "reference.jsonl"), out=str(folder))
    for key, value in changes.items():
        data[key] = {**data.get(key, {}), **value}
    config = RunConfig.model_validate(data)
    layout = RunLayout.at(folder)
    score_stage(config, layout)
    summary, _ = report_stage(config, layout)
    meta = json.loads((folder / "scores.meta.json").read_text(encoding="utf-8"))
    return {name: (folder / name).read_bytes() for name in OUTPUTS}, summary, meta


def _expected(one_process: Path) -> tuple[dict[str, bytes], dict]:
    summary = json.loads((one_process / "summary.json").read_text(encoding="utf-8"))
    return {name: (one_process / name).read_bytes() for name in OUTPUTS}, summary


def test_a_local_pool_writes_what_one_process_writes(one_process, tmp_path, small_tasks):
    expected, expected_summary = _expected(one_process)
    assert expected_summary["sharding"]["judge"] == {"engine": "local", "workers": 1}
    outputs, summary, meta = _rerun(one_process, tmp_path / "pool", scoring={"workers": 2})
    for name in OUTPUTS:
        assert outputs[name] == expected[name], name
    assert _comparable(summary) == _comparable(expected_summary)
    assert meta["sharding"] == {"engine": "local", "workers": 2}
    assert summary["sharding"] == {"score": meta["sharding"], "judge": {"engine": "local", "workers": 2}}
    assert summary["flags"]["paragraphs_flagged"] > 0  # the judge had something to find


@pytest.mark.parametrize("window_per_worker", [1, 3])
def test_the_local_pool_holds_at_most_its_window_of_tasks(window_per_worker):
    config = RunConfig(reference="unused", scoring={"workers": 2})
    pulled = []

    def tasks():
        for i in range(40):
            pulled.append(i)
            yield i, (("chrf",), [(f"#{i}", "s", None, "a" * (i + 1), "a" * 7)])

    with open_shards(config, 10, window_per_worker=window_per_worker) as shards:
        window = shards.window
        assert window == 2 * window_per_worker
        got = []
        for i, lines in shards.map(score_rows, tasks()):
            assert len(pulled) <= len(got) + window  # never more than the window ahead of the consumer
            got.append((i, lines))
    assert [i for i, _ in got] == list(range(40))
    assert got[6][1] == score_rows((("chrf",), [("#6", "s", None, "a" * 7, "a" * 7)]))


def test_shard_min_paragraphs_defaults_to_fifty_thousand_and_is_not_negative(tmp_path):
    assert EngineConfig().shard_min_paragraphs == 50_000
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"reference": "r.jsonl", "engine": {"name": "ray", "shard_min_paragraphs": -1}}))
    with pytest.raises(Exception, match="shard_min_paragraphs"):
        load_config(path)


# --- on Ray --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    from evalkit.systems import ray_engine

    if not ray.is_initialized():
        ray.init(**ray_engine.local_ray_kwargs(num_cpus=2))
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_shards_write_what_one_process_writes(one_process, tmp_path, small_tasks, local_ray):
    expected, expected_summary = _expected(one_process)
    outputs, summary, meta = _rerun(one_process, tmp_path / "ray", engine={"name": "ray", "shard_min_paragraphs": 0})
    for name in OUTPUTS:
        assert outputs[name] == expected[name], name
    assert _comparable(summary) == _comparable(expected_summary)
    assert meta["sharding"] == {"engine": "ray", "workers": 2}
    assert summary["sharding"] == {"score": meta["sharding"], "judge": {"engine": "ray", "workers": 2}}


def test_below_the_threshold_a_ray_engine_uses_the_local_pool(one_process, tmp_path):
    expected, _ = _expected(one_process)
    outputs, summary, meta = _rerun(one_process, tmp_path / "below", engine={"name": "ray", "shard_min_paragraphs": 10_000},
                                    scoring={"workers": 2})
    assert outputs == expected
    assert meta["sharding"] == {"engine": "local", "workers": 2}
    assert summary["sharding"]["judge"]["engine"] == "local"


@pytest.mark.slow
def test_ray_holds_at_most_its_window_of_tasks_and_keeps_their_order(local_ray):
    config = RunConfig(reference="unused", engine={"name": "ray", "shard_min_paragraphs": 0})
    pulled = []

    def tasks():
        for i in range(12):
            pulled.append(i)
            yield i, _task(i)

    with open_shards(config, 0) as shards:
        assert shards.kind == "ray" and shards.window == 4
        got = []
        for i, lines in shards.map(score_rows, tasks()):
            assert len(pulled) <= len(got) + shards.window
            got.append((i, lines))
    assert [i for i, _ in got] == list(range(12))
    assert [lines for _, lines in got] == [score_rows(_task(i)) for i in range(12)]


def _task(i):
    return ("chrf",), [(f"#{i}", "s", None, "ab" * (12 - i), "ab" * 6)]
