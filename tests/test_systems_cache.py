"""The translation cache and the runner: reruns cost nothing, changes cost only what changed,
interrupted runs resume, and concurrent writers do not corrupt the file."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from evalkit.config import RunConfig, SystemConfig
from evalkit.errors import BackendError, ConfigError
from evalkit.records import ReferenceRecord, read_hypotheses
from evalkit.systems.base import BACKENDS, PartialTranslationError, Segment, Translation, Translator
from evalkit.systems.cache import TranslationCache, cache_path, source_key
from evalkit.systems.runner import translate_system, translate_to_files
from tiny_models import seed_references


class CountingTranslator(Translator):
    """Upper-cases nothing, just tags: hyp = "EN(<zh>)". Appends every source it is asked to
    translate to the file ``calls``; raises after ``fail_after`` paragraphs when given."""

    backend = "counting"

    def __init__(self, config: SystemConfig):
        super().__init__(config)
        options = config.options()
        self.calls = Path(options["calls"])
        self.fail_after = options.get("fail_after")
        self.partial = bool(options.get("partial", False))
        self.batch_size = int(options.get("batch_size", 4))
        self.version = options.get("version", 1)
        self.done = 0

    def settings(self):
        return {"version": self.version}

    def translate(self, segments: Sequence[Segment]) -> list[Translation]:
        out: list[Translation] = []
        for seg in segments:
            if self.fail_after is not None and self.done >= self.fail_after:
                if self.partial:
                    raise PartialTranslationError("endpoint went away", dict(enumerate(out)))
                raise BackendError("model crashed")
            with self.calls.open("a", encoding="utf-8") as f:
                f.write(seg.zh.replace("\n", "\\n") + "\n")
            out.append(Translation(f"EN({seg.zh})"))
            self.done += 1
        return out


@pytest.fixture
def counting(monkeypatch, tmp_path):
    monkeypatch.setitem(BACKENDS, "counting", "test_systems_cache:CountingTranslator")
    calls = tmp_path / "calls.txt"

    def make(**options) -> tuple[RunConfig, SystemConfig]:
        system = SystemConfig(name="counter", backend="counting", calls=str(calls), **options)
        return RunConfig(reference="unused.jsonl", systems=[system]), system

    make.calls = calls
    return make


def calls_made(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def references(n: int = 10) -> list[ReferenceRecord]:
    return [r for r in seed_references() if r.zh][:n]


def test_a_second_run_calls_the_model_for_zero_paragraphs(counting):
    config, system = counting()
    refs = references()
    first = translate_system(config, system, refs)
    assert len(calls_made(counting.calls)) == len(refs)
    second = translate_system(config, system, refs)
    assert len(calls_made(counting.calls)) == len(refs), "nothing re-translated"
    assert [r.hyp for r in second] == [r.hyp for r in first]
    assert all(r.cached for r in second) and not any(r.cached for r in first)


def test_changing_one_paragraph_retranslates_just_that_one(counting):
    config, system = counting()
    refs = references()
    translate_system(config, system, refs)
    changed = list(refs)
    changed[3] = ReferenceRecord(**{**refs[3].to_dict(), "zh": refs[3].zh + "（完）", "en_lines": (), "zh_lines": ()})
    records = translate_system(config, system, changed)
    assert calls_made(counting.calls)[len(refs):] == [changed[3].zh]
    assert [r.cached for r in records] == [i != 3 for i in range(len(refs))]


def test_refresh_ignores_the_cache(counting):
    config, system = counting()
    refs = references(5)
    translate_system(config, system, refs)
    records = translate_system(config, system, refs, refresh=True)
    assert len(calls_made(counting.calls)) == 2 * len(refs)
    assert not any(r.cached for r in records)


def test_a_changed_fingerprint_misses_the_cache(counting):
    config, system = counting()
    refs = references(5)
    translate_system(config, system, refs)
    config2, system2 = counting(version=2)
    records = translate_system(config2, system2, refs)
    assert len(calls_made(counting.calls)) == 2 * len(refs)
    assert records[0].system != translate_system(config, system, refs)[0].system


@pytest.mark.parametrize("partial", [False, True], ids=["crash-between-batches", "failure-inside-a-batch"])
def test_an_interrupted_run_resumes_where_it_stopped(counting, partial):
    refs = references(10)
    config, system = counting(fail_after=6, partial=partial, batch_size=4)
    with pytest.raises(BackendError):
        translate_system(config, system, refs)
    # Batches of 4: the first batch is committed; with a partial failure, the 2 finished in the
    # second batch are kept too.
    kept = 6 if partial else 4
    assert len(calls_made(counting.calls)) == 6
    config, system = counting(batch_size=4)
    records = translate_system(config, system, refs)
    assert len(calls_made(counting.calls)) == 6 + len(refs) - kept
    assert sum(r.cached for r in records) == kept
    assert all(r.hyp == f"EN({ref.zh})" for r, ref in zip(records, refs, strict=True))


KILLED_RUN = """
import sys, time
sys.path.insert(0, {tests!r})
from evalkit.config import RunConfig, SystemConfig
from evalkit.systems.base import BACKENDS
from evalkit.systems.runner import translate_system
from tiny_models import seed_references
import test_systems_cache as t

class Slow(t.CountingTranslator):
    def translate(self, segments):
        out = super().translate(segments)
        if self.done > 4:
            print("first batches committed", flush=True)
            time.sleep(60)   # killed here
        return out

t.SlowTranslator = Slow
BACKENDS["counting"] = "test_systems_cache:SlowTranslator"
system = SystemConfig(name="counter", backend="counting", calls={calls!r}, batch_size=4)
refs = [r for r in seed_references() if r.zh][:10]
translate_system(RunConfig(reference="x", systems=[system]), system, refs)
"""


def test_a_killed_process_resumes_from_the_cache(counting, tmp_path):
    script = KILLED_RUN.format(tests=str(Path(__file__).parent), calls=str(counting.calls))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "first batches committed"
    finally:
        proc.kill()
        proc.wait()
    assert len(calls_made(counting.calls)) == 8  # two batches of 4; the second never returned
    config, system = counting(batch_size=4)
    records = translate_system(config, system, references(10))
    assert len(calls_made(counting.calls)) == 8 + 6
    assert sum(r.cached for r in records) == 4


def test_identical_sources_are_translated_once(counting):
    config, system = counting()
    ref = references(1)[0]
    twins = [ReferenceRecord(**{**ref.to_dict(), "id": f"x#{i}", "en_lines": (), "zh_lines": ()}) for i in range(3)]
    records = translate_system(config, system, twins)
    assert len(calls_made(counting.calls)) == 1
    assert len({r.hyp for r in records}) == 1


def test_empty_chinese_side_needs_no_model_call(counting):
    config, system = counting()
    ref = references(1)[0]
    empty = ReferenceRecord(**{**ref.to_dict(), "id": "x#1", "zh": "", "bead": "1-0", "en_lines": (), "zh_lines": ()})
    records = translate_system(config, system, [empty, ref])
    assert calls_made(counting.calls) == [ref.zh]
    assert (records[0].hyp, records[0].chunks) == ("", 0)


def test_translate_to_files_writes_one_hyps_file_per_system(counting, tmp_path):
    config, _ = counting()
    refs = references(5)
    results = translate_to_files(config, refs, tmp_path / "run", keep=True)
    written = read_hypotheses(tmp_path / "run" / "hyps" / "counter.jsonl")
    assert [r.id for r in written] == [r.id for r in refs] == [r.id for r in results["counter"].records]
    assert written[0].system.startswith("counter@")


def test_the_cache_file_comes_from_config_then_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("EVALKIT_CACHE", str(tmp_path / "env.sqlite"))
    assert cache_path(None) == tmp_path / "env.sqlite"
    assert cache_path(str(tmp_path / "cfg.sqlite")) == tmp_path / "cfg.sqlite"
    monkeypatch.delenv("EVALKIT_CACHE")
    assert cache_path(None) == Path(".evalkit-cache/translations.sqlite")


def test_concurrent_writers_do_not_corrupt_the_cache(tmp_path):
    path = tmp_path / "shared.sqlite"
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            with TranslationCache(path) as cache:
                for i in range(25):
                    cache.put_many(f"sys@{k}", [(f"源{i}", Translation(f"hyp {k} {i}"))])
        except BaseException as exc:  # reported below, not swallowed
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with TranslationCache(path) as cache:
        assert cache.count() == 100
        assert cache.get_many("sys@2", ["源7"])["源7"].hyp == "hyp 2 7"
        assert cache._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert cache._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


class _LockedOnce:
    """A connection whose first journal-mode switch fails as SQLite fails when another process
    has just set up the same new file (at once, without waiting for the busy timeout)."""

    def __init__(self, real: sqlite3.Connection, message: str):
        self.real, self.message, self.failed = real, message, 0

    def execute(self, sql: str, *args):
        if sql.startswith("PRAGMA journal_mode") and not self.failed:
            self.failed += 1
            raise sqlite3.OperationalError(self.message)
        return self.real.execute(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self.real, name)

    def __enter__(self):
        return self.real.__enter__()

    def __exit__(self, *exc):
        return self.real.__exit__(*exc)


def test_a_first_open_that_finds_the_new_file_locked_is_retried(tmp_path, monkeypatch):
    connections: list[_LockedOnce] = []
    real_connect = sqlite3.connect

    def connect(*args, **kwargs):
        connections.append(_LockedOnce(real_connect(*args, **kwargs), "database is locked"))
        return connections[-1]

    monkeypatch.setattr("evalkit.systems.cache.sqlite3.connect", connect)
    with TranslationCache(tmp_path / "new.sqlite") as cache:
        cache.put_many("sys@1", [("源", Translation("hyp"))])
        assert cache.get_many("sys@1", ["源"])["源"].hyp == "hyp"
    assert connections[0].failed == 1


def test_other_errors_at_open_are_not_retried(tmp_path, monkeypatch):
    real_connect = sqlite3.connect
    monkeypatch.setattr("evalkit.systems.cache.sqlite3.connect",
                        lambda *a, **k: _LockedOnce(real_connect(*a, **k), "disk I/O error"))
    with pytest.raises(ConfigError, match=r"new.sqlite: cannot open \(disk I/O error\)"):
        TranslationCache(tmp_path / "new.sqlite")


def test_the_cache_is_content_addressed_by_the_sha256_of_the_source():
    assert source_key("信") == hashlib.sha256("信".encode("utf-8")).hexdigest()
    assert source_key("信") != source_key("信 ")
