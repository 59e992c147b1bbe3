"""The ``ct2`` backend: a tiny Marian converted once with CTranslate2, translating the seed.

Specification:
- the model is converted once, on disk, keyed by model + quantization; a second system reuses it;
- int8 on CPU by default, and the precision is part of the fingerprint;
- at float32, greedy, each family (Marian, NLLB, M2M100, mBART-50) translates exactly as
  hf-seq2seq does: same target-language handling, same length cap;
- every seed paragraph gets a translation, chunked exactly as ``hf-seq2seq`` chunks it; a
  paragraph three times the input limit comes back in several chunks, not truncated;
- ``parallel_batches`` decodes several batches at once without changing what is in each batch,
  so the hypotheses are the same whatever it is; loading does not change torch's thread count;
- the CUDA-13 failure ("libcublas.so.12 is not found") becomes a clear BackendError that points
  to hf-seq2seq, whether it strikes when the model loads or when it first translates.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("ctranslate2")

from evalkit.config import RunConfig, SystemConfig  # noqa: E402
from evalkit.errors import BackendError, ConfigError  # noqa: E402
from evalkit.systems import Segment, create_system  # noqa: E402
from evalkit.systems.runner import translate_system  # noqa: E402
from tests.tiny_models import (  # noqa: E402
    TINY_LIMIT,
    build_m2m100,
    build_marian,
    build_mbart50,
    build_nllb,
    build_t5,
    seed_references,
)

pytestmark = pytest.mark.slow

CUBLAS_MESSAGE = "Library libcublas.so.12 is not found or cannot be loaded"


@pytest.fixture(scope="module")
def marian(tmp_path_factory) -> Path:
    return build_marian(tmp_path_factory.mktemp("marian") / "model")


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ct2")


def ct2_system(marian: Path, converted: Path, **extra) -> SystemConfig:
    options = {"batch_size": 4, "generation": {"num_beams": 2, "max_new_tokens": 12}, **extra}
    return SystemConfig(name="tiny-ct2", backend="ct2", model=str(marian), converted_dir=str(converted), **options)


def long_paragraph(translator, limit: int) -> str:
    """Seed sentences joined until the paragraph holds at least three times ``limit`` tokens."""
    text = ""
    for record in seed_references():
        for line in record.zh.split("\n"):
            text += line
            if translator.count_tokens(text) >= 3 * limit:
                return text
    raise AssertionError("the seed is too short to build a paragraph 3x the limit")


def test_converts_once_and_translates_the_seed_with_hf_seq2seq_chunking(marian, converted):
    references = seed_references()
    segments = [Segment(r.id, r.zh) for r in references if r.zh]
    with create_system(ct2_system(marian, converted)) as translator:
        assert translator.device == "cpu" and translator.compute_type == "int8"
        translator._load()  # count_tokens needs the tokenizer
        long = long_paragraph(translator, TINY_LIMIT)
        results = translator.translate([*segments, Segment("long", long)])
    folders = [p for p in converted.iterdir() if not p.name.startswith(".")]
    assert len(folders) == 1 and (folders[0] / "model.bin").exists(), folders
    assert folders[0].name.startswith("model-int8-")

    assert len(results) == len(segments) + 1
    assert all(r.hyp.strip() for r in results), "every paragraph gets a non-empty translation"
    assert results[-1].chunks >= 3 and not results[-1].truncated

    # The same chunking as hf-seq2seq: same number of pieces and the same truncation flag per paragraph.
    hf = SystemConfig(name="tiny-hf", backend="hf-seq2seq", model=str(marian), batch_size=4,
                      generation={"num_beams": 1, "max_new_tokens": 4})
    with create_system(hf) as reference_translator:
        expected = reference_translator.translate([*segments, Segment("long", long)])
    assert [(r.chunks, r.truncated) for r in results] == [(e.chunks, e.truncated) for e in expected]

    # A second system on the same model and quantization reuses the converted folder.
    before = folders[0].stat().st_mtime_ns
    with create_system(ct2_system(marian, converted, batch_size=8)) as again:
        assert [r.hyp for r in again.translate(segments[:2])] and again.fingerprint == translator.fingerprint
    assert [p for p in converted.iterdir() if not p.name.startswith(".")] == folders
    assert folders[0].stat().st_mtime_ns == before


@pytest.mark.parametrize("build", [build_marian, build_nllb, build_m2m100, build_mbart50],
                         ids=["marian", "nllb", "m2m100", "mbart50"])
def test_each_family_at_float32_translates_exactly_as_hf_seq2seq(build, tmp_path):
    model = build(tmp_path / "model")
    segments = [Segment(r.id, r.zh) for r in seed_references() if r.zh][:8]
    generation = {"num_beams": 1, "max_new_tokens": 10}
    hf = create_system(SystemConfig(name="hf", backend="hf-seq2seq", model=str(model), generation=generation))
    ct2 = create_system(SystemConfig(name="ct2", backend="ct2", model=str(model), compute_type="float32",
                                     converted_dir=str(tmp_path / "ct2"), generation=generation))
    expected = hf.translate(segments)
    got = ct2.translate(segments)
    assert [t.hyp for t in got] == [t.hyp for t in expected]
    assert all(t.hyp for t in got)
    if ct2.target_prefix:  # NLLB, M2M100, mBART-50: the language token is a prefix, not output
        assert not any(t.hyp.startswith(ct2.target_prefix[0]) for t in got)


def test_precision_is_part_of_the_fingerprint_and_runs_through_the_cache(marian, converted, tmp_path):
    int8 = create_system(ct2_system(marian, converted))
    fp32 = create_system(ct2_system(marian, converted, compute_type="float32"))
    assert int8.fingerprint != fp32.fingerprint
    assert int8.settings()["compute_type"] == "int8" and int8.settings()["device"] == "cpu"

    references = seed_references()[:6]
    config = RunConfig(reference="unused", cache=str(tmp_path / "c.sqlite"), systems=[ct2_system(marian, converted)])
    first = translate_system(config, config.systems[0], references)
    second = translate_system(config, config.systems[0], references)
    assert [r.hyp for r in first] == [r.hyp for r in second]
    assert not any(r.cached for r in first if r.hyp) and all(r.cached for r in second if r.hyp)


class _RecordingTranslator:
    """Wraps a loaded ctranslate2.Translator and records each batch handed to it."""

    def __init__(self, inner):
        self.inner = inner
        self.batches: list[list[list[str]]] = []
        self.asynchronous: list[bool] = []

    def translate_batch(self, source, **kwargs):
        self.batches.append([list(tokens) for tokens in source])
        self.asynchronous.append(bool(kwargs.get("asynchronous")))
        return self.inner.translate_batch(source, **kwargs)


@pytest.mark.parametrize("parallel_batches", [2, 3])
def test_parallel_batches_decode_the_same_batches_and_give_the_same_hypotheses(marian, converted, parallel_batches):
    segments = [Segment(r.id, r.zh) for r in seed_references() if r.zh]
    runs = {}
    for n in (1, parallel_batches):
        translator = create_system(ct2_system(marian, converted, parallel_batches=n, threads=n))
        translator._load()
        assert translator.translator.num_translators == n  # CTranslate2 workers (inter_threads)
        recorder = translator.translator = _RecordingTranslator(translator.translator)
        runs[n] = ([t.hyp for t in translator.translate(segments)], recorder)
    (serial, one), (parallel, many) = runs[1], runs[parallel_batches]
    assert parallel == serial
    assert many.batches == one.batches and len(many.batches) > parallel_batches
    assert max(len(batch) for batch in many.batches) == 4  # batch_size, not batch_size × parallel_batches
    assert all(many.asynchronous)


LOAD_AND_COUNT_TORCH_THREADS = """
import sys, torch
from evalkit.config import SystemConfig
from evalkit.systems import create_system
before = torch.get_num_threads()  # from OMP_NUM_THREADS: torch was never told a number
system = SystemConfig(name="ct2", backend="ct2", model=sys.argv[1], converted_dir=sys.argv[2],
                      threads=2, parallel_batches=2)
create_system(system)._load()
print(before, torch.get_num_threads())
"""


def test_loading_with_one_thread_per_batch_leaves_torch_its_threads(marian, converted):
    # CTranslate2 sets the process's OpenMP thread count to intra_threads (1 here), which torch
    # follows unless told otherwise: an hf-seq2seq system in the same run would decode on one
    # thread. A fresh interpreter, as torch.set_num_threads (which tests call) hides the effect.
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "2"}  # torch caps it at the machine's cores
    out = subprocess.run([sys.executable, "-c", LOAD_AND_COUNT_TORCH_THREADS, str(marian), str(converted)],
                         capture_output=True, text=True, env=env, timeout=300, check=True)
    before, after = map(int, out.stdout.split())
    if before < 2:
        pytest.skip("one core: torch's thread count cannot drop")
    assert after == before


def test_the_runner_hands_parallel_batches_at_once_and_gets_the_same_hypotheses(marian, converted, monkeypatch,
                                                                                 tmp_path):
    # What `evalkit run` does: the runner cuts batch_size paragraphs per batch and hands the ct2
    # backend parallel_batches of them per call; each model batch is the one a call per batch gives.
    from evalkit.systems.ct2 import CT2Translator

    recorders: dict[int, _RecordingTranslator] = {}
    groups: dict[int, list[int]] = {1: [], 2: []}
    load, translate_batches = CT2Translator._load, CT2Translator.translate_batches

    def recording_load(self):
        if not self._loaded:
            load(self)
            self.translator = recorders[self.parallel_batches] = _RecordingTranslator(self.translator)

    def recording_batches(self, batches):
        groups[self.parallel_batches].append(len(batches))
        return translate_batches(self, batches)

    monkeypatch.setattr(CT2Translator, "_load", recording_load)
    monkeypatch.setattr(CT2Translator, "translate_batches", recording_batches)
    references = seed_references()
    hyps = {}
    for n in (1, 2):
        system = ct2_system(marian, converted, parallel_batches=n, threads=n)
        config = RunConfig(reference="unused", cache=str(tmp_path / f"cache{n}.sqlite"), systems=[system])
        hyps[n] = [r.hyp for r in translate_system(config, system, references)]
    assert hyps[2] == hyps[1] and any(hyps[1])
    assert recorders[2].batches == recorders[1].batches
    assert set(groups[1]) == {1} and max(groups[2]) == 2 and len(groups[2]) < len(groups[1])


class _OutOfMemoryAbove(_RecordingTranslator):
    """Batches of more than ``limit`` sources fail when their results are read, as CTranslate2's GPU
    out-of-memory error does."""

    def __init__(self, inner, limit: int):
        super().__init__(inner)
        self.limit = limit

    def translate_batch(self, source, **kwargs):
        results = super().translate_batch(source, **kwargs)
        if len(source) <= self.limit:
            return results

        class Failed:
            def result(self):
                raise RuntimeError("CUDA failed with error out of memory")

        return [Failed() for _ in source]


def test_a_batch_out_of_gpu_memory_is_decoded_again_in_halves(marian, converted):
    segments = [Segment(r.id, r.zh) for r in seed_references() if r.zh][:8]
    expected = [t.hyp for t in create_system(ct2_system(marian, converted, parallel_batches=2)).translate(segments)]
    translator = create_system(ct2_system(marian, converted, parallel_batches=2))
    translator._load()
    translator.translator = recorder = _OutOfMemoryAbove(translator.translator, limit=2)
    assert [t.hyp for t in translator.translate(segments)] == expected
    # First every batch of 4 pieces was queued; then each that failed was decoded again in halves.
    from evalkit.systems.hf_common import ChunkPlan

    pieces = len(ChunkPlan.of([seg.zh for seg in segments], translator.count_tokens, translator.limit).pieces)
    queued, again = recorder.batches[:-(-pieces // 4)], recorder.batches[-(-pieces // 4):]
    failed = [b for b in queued if len(b) > 2]
    assert all(len(b) == 4 for b in queued[:-1]) and failed and all(len(b) <= 2 for b in again)
    assert [p for b in failed for p in b] == [p for b in again for p in b]


@pytest.mark.parametrize("option,value", [("parallel_batches", 0), ("parallel_batches", "two"),
                                          ("parallel_batches", 1.5), ("threads", -1), ("threads", True)])
def test_thread_options_must_be_positive_whole_numbers(marian, converted, option, value):
    with pytest.raises(ConfigError, match=f"{option} must be a positive whole number, got {value!r}"):
        create_system(ct2_system(marian, converted, **{option: value}))


class _NoCublasTranslator:
    """Stands in for ctranslate2.Translator on a CUDA 13 machine: loading works, decoding fails."""

    def __init__(self, *args, **kwargs):
        pass

    def translate_batch(self, *args, **kwargs):
        raise RuntimeError(CUBLAS_MESSAGE)


class _NoCublasWhenDecoding(_NoCublasTranslator):
    """The batch is queued; reading its result fails (CTranslate2's asynchronous path)."""

    def translate_batch(self, source, **kwargs):
        class Failed:
            def result(self):
                raise RuntimeError(CUBLAS_MESSAGE)

        return [Failed() for _ in source]


def _fail_on_load(*args, **kwargs):
    raise RuntimeError(CUBLAS_MESSAGE)


@pytest.mark.parametrize("failing", [_fail_on_load, _NoCublasTranslator, _NoCublasWhenDecoding],
                         ids=["at-load", "at-first-batch", "at-first-result"])
def test_missing_cuda_12_library_is_a_clear_error_that_points_to_hf_seq2seq(marian, converted, monkeypatch, failing):
    import ctranslate2

    monkeypatch.setattr(ctranslate2, "get_cuda_device_count", lambda: 1)
    monkeypatch.setattr(ctranslate2, "Translator", failing)
    translator = create_system(ct2_system(marian, converted, device="cuda"))
    assert translator.compute_type == "float16"  # GPU default
    with pytest.raises(BackendError) as info:
        translator.translate([Segment("a", "中华人民共和国主席。")])
    message = str(info.value)
    assert "libcublas.so.12" in message and "CUDA 12" in message
    assert "hf-seq2seq" in message and "device: cpu" in message


def test_other_runtime_errors_are_not_disguised_as_cuda_problems(marian, converted, monkeypatch):
    import ctranslate2

    def broken(*args, **kwargs):
        raise RuntimeError("Unsupported model binary version")

    monkeypatch.setattr(ctranslate2, "Translator", broken)
    with pytest.raises(BackendError) as info:
        create_system(ct2_system(marian, converted)).translate([Segment("a", "主席。")])
    assert "Unsupported model binary version" in str(info.value) and "libcublas" not in str(info.value)


def test_cuda_requested_without_a_device_and_bad_options_fail_clearly(marian, converted, tmp_path):
    import ctranslate2

    if ctranslate2.get_cuda_device_count() == 0:
        with pytest.raises(BackendError, match="sees no CUDA device"):
            create_system(ct2_system(marian, converted, device="cuda"))
    with pytest.raises(ConfigError, match="unknown option"):
        create_system(ct2_system(marian, converted, dtype="float16"))
    with pytest.raises(ConfigError, match="compute_type"):
        create_system(ct2_system(marian, converted, compute_type="int3"))
    t5 = build_t5(tmp_path / "t5")
    with pytest.raises(BackendError, match="hf-seq2seq"):
        create_system(SystemConfig(name="t5", backend="ct2", model=str(t5))).translate([Segment("a", "主席。")])
