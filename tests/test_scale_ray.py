"""The translate stage on a local Ray instance (``engine: {name: ray}``).

Specification:
- with a tiny Hugging Face Marian model, two Ray workers write a hyps file byte-identical to
  the in-process path's;
- the driver consults the cache before dispatching: cached paragraphs are served from it (never
  recomputed by a worker), and a fully cached rerun dispatches nothing;
- results stream back into the cache, so the in-process path then finds everything cached;
- a backend's error on a worker reaches the user with the same message as in-process;
- Ray missing is a clear error that says how to install it;
- read in windows from a reference file, Ray writes what the in-process runner writes with the
  same windows (the config's ``engine.window``), one Ray Data pipeline per window.

Ray starts once for the module (start-up costs several seconds on 2 cores).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from evalkit.config import EngineConfig, RunConfig, SystemConfig  # noqa: E402
from evalkit.errors import BackendError  # noqa: E402
from evalkit.jsonl import write_jsonl  # noqa: E402
from evalkit.layout import RunLayout  # noqa: E402
from evalkit.systems import create_system, ray_engine  # noqa: E402
from evalkit.systems.base import Translation  # noqa: E402
from evalkit.systems.cache import TranslationCache  # noqa: E402
from evalkit.systems.runner import translate_system, translate_to_files  # noqa: E402
from tests.tiny_models import build_marian, seed_references  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray():
    if not ray.is_initialized():
        ray.init(**ray_engine.local_ray_kwargs(num_cpus=2))
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def marian(tmp_path_factory) -> Path:
    return build_marian(tmp_path_factory.mktemp("marian") / "model")


def run_config(marian: Path, cache: Path, engine: str, workers: int = 2) -> RunConfig:
    # batch_size 4: the seed makes a dozen batches, so both workers get work and batches differ in length.
    system = SystemConfig(name="tiny-marian", backend="hf-seq2seq", model=str(marian), batch_size=4,
                          generation={"num_beams": 2, "max_new_tokens": 16})
    return RunConfig(reference="unused", cache=str(cache), systems=[system],
                     engine=EngineConfig(name=engine, workers=workers))


def test_two_ray_workers_write_byte_identical_hypotheses_and_fill_the_cache(local_ray, marian, tmp_path, monkeypatch):
    references = seed_references()
    local = run_config(marian, tmp_path / "local.sqlite", "local")
    distributed = run_config(marian, tmp_path / "ray.sqlite", "ray")

    translate_to_files(local, references, tmp_path / "local")
    translate_to_files(distributed, references, tmp_path / "ray")
    local_bytes = RunLayout.at(tmp_path / "local").hyps("tiny-marian").read_bytes()
    ray_bytes = RunLayout.at(tmp_path / "ray").hyps("tiny-marian").read_bytes()
    assert local_bytes.count(b"\n") == len(references)
    assert ray_bytes == local_bytes

    # Everything the workers produced is in the driver's cache: a rerun dispatches nothing …
    def no_dispatch(*args, **kwargs):
        raise AssertionError("a fully cached run must not start the Ray pipeline")

    monkeypatch.setattr(ray_engine, "_run_pipeline", no_dispatch)
    again = ray_engine.translate_with_ray(distributed, distributed.systems[0], references, progress=False)
    assert all(r.cached for r in again if r.hyp)
    # … and the in-process path, pointed at the same cache, finds every paragraph there.
    inproc = translate_system(distributed.model_copy(update={"engine": EngineConfig()}), distributed.systems[0], references)
    assert all(r.cached for r in inproc if r.hyp)
    assert [r.hyp for r in inproc] == [r.hyp for r in again]


def test_windows_on_ray_match_in_process_windows_one_pipeline_each(local_ray, marian, tmp_path, monkeypatch):
    references = seed_references()
    path = tmp_path / "reference.jsonl"
    write_jsonl(path, references)
    # engine.window: 22 — the seed's 43 paragraphs in two windows (22 + 21), on both paths.
    local = run_config(marian, tmp_path / "local.sqlite", "local")
    local = local.model_copy(update={"engine": local.engine.model_copy(update={"window": 22})})
    distributed = run_config(marian, tmp_path / "ray.sqlite", "ray")
    distributed = distributed.model_copy(update={"engine": distributed.engine.model_copy(update={"window": 22})})
    pipelines: list[int] = []
    run_pipeline = ray_engine._run_pipeline

    def recording(ray, engine, system, spec, fingerprint, batches):
        pipelines.append(sum(len(b) for b in batches))
        return run_pipeline(ray, engine, system, spec, fingerprint, batches)

    monkeypatch.setattr(ray_engine, "_run_pipeline", recording)
    translate_to_files(local, path, tmp_path / "local")
    translate_to_files(distributed, path, tmp_path / "ray")
    local_bytes = RunLayout.at(tmp_path / "local").hyps("tiny-marian").read_bytes()
    assert RunLayout.at(tmp_path / "ray").hyps("tiny-marian").read_bytes() == local_bytes
    assert local_bytes.count(b"\n") == len(references)
    assert len(pipelines) == 2, "one Ray Data pipeline per window"
    assert max(pipelines) <= 22, "no pipeline gets more than one window's paragraphs"


def test_the_cache_is_consulted_before_any_work_is_dispatched(local_ray, marian, tmp_path):
    references = seed_references()
    config = run_config(marian, tmp_path / "c.sqlite", "ray", workers=1)
    system = config.systems[0]
    planted = next(r for r in references if r.zh)
    # On this one machine the workers build the same system as the driver would.
    fingerprint = create_system(system).fingerprint  # hf-seq2seq's fingerprint needs no model load
    with TranslationCache(config.cache) as cache:
        cache.put_many(fingerprint, [(planted.zh, Translation("PLANTED IN THE CACHE", chunks=7))])

    records = ray_engine.translate_with_ray(config, system, references, progress=False)
    by_id = {r.id: r for r in records}
    assert by_id[planted.id].hyp == "PLANTED IN THE CACHE" and by_id[planted.id].chunks == 7
    assert by_id[planted.id].cached
    others = [r for r, ref in zip(records, references, strict=True) if ref.zh and ref.zh != planted.zh]
    assert others and not any(r.cached for r in others), "the rest was translated by the workers"
    assert [r.id for r in records] == [r.id for r in references], "records come back in reference order"


def test_a_backend_error_on_a_worker_reaches_the_user_with_its_own_message(local_ray, tmp_path):
    pytest.importorskip("ctranslate2")
    from tests.tiny_models import build_t5

    # ct2 accepts the config (describe succeeds) but refuses a T5 model when it loads, on the worker.
    system = SystemConfig(name="t5-on-ct2", backend="ct2", model=str(build_t5(tmp_path / "t5")), batch_size=4)
    config = RunConfig(reference="unused", cache=str(tmp_path / "c.sqlite"), systems=[system],
                       engine=EngineConfig(name="ray", workers=1))
    references = seed_references()[:3]
    with pytest.raises(BackendError) as in_process:
        translate_system(config.model_copy(update={"engine": EngineConfig()}), system, references)
    with pytest.raises(BackendError) as on_ray:
        ray_engine.translate_with_ray(config, system, references, progress=False)
    assert str(on_ray.value) == str(in_process.value)
    assert "hf-seq2seq" in str(on_ray.value)


def test_ray_not_installed_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(BackendError, match=r"pip install 'evalkit\[scale\]'"):
        ray_engine.ensure_ray(EngineConfig(name="ray"))
