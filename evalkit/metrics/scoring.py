"""Per-paragraph and corpus scores, bootstrap CIs and paired significance — all from sacrebleu.

How the numbers are made (and why they equal direct sacrebleu calls):

* Per paragraph, each metric's ``_extract_corpus_statistics([hyp], [[ref]])`` gives that
  segment's sufficient statistics; the paragraph score is ``_aggregate_and_compute`` of that one
  segment, which is exactly what ``sentence_score`` does. BLEU at sentence level uses
  ``BLEU(effective_order=True)`` (plain BLEU gives 0 to short partial matches).
* The corpus score is ``_aggregate_and_compute`` over all segments' statistics — the very call
  ``corpus_score`` makes after extracting them — so sharding the extraction across processes and
  summing reproduces a single ``corpus_score`` call bit for bit (averaging shard scores would not).
  Corpus BLEU uses plain ``BLEU()`` (standard corpus BLEU); its statistics are the same.
* 95% CIs come from sacrebleu's own ``_bootstrap_resample`` over the stored statistics (what
  ``corpus_score(n_bootstrap=N)`` runs); we report the percentile bounds it derives its ``±``
  from, plus its mean.
* Paired significance (paired bootstrap and approximate randomisation) gives the numbers and
  signatures of ``sacrebleu.significance.PairedTest`` on the stored statistics (TER is not
  recomputed), drawing from the same generator in blocks instead of all n_samples × n draws at
  once: O(n) memory where sacrebleu's takes ~100 GB for 1000 resamples of a million segments
  (``_paired_bs``, ``_paired_ar``; tests/test_metrics.py checks the equality with PairedTest).

Seeds: sacrebleu reads ``SACREBLEU_SEED`` from the environment; ``_sacrebleu_seed`` sets it to the
config's seed for the duration of a call and restores it afterwards.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

METRICS: tuple[str, ...] = ("chrf", "chrf++", "bleu", "ter")
HIGHER_IS_BETTER: dict[str, bool] = {"chrf": True, "chrf++": True, "bleu": True, "ter": False}

# --- mean-of-segments metrics (issue 12: the neural metrics of evalkit.metrics.neural) -----------
# Their per-segment "statistics" are the segment score alone ([score]); the corpus score is the
# mean of the segment scores, with CIs and paired tests by the same resampling as sacrebleu's
# (``_mean_corpus_score``, ``_mean_paired_tests``). They are not sacrebleu metrics: ``make_metric``
# does not know them, and a signature comes from the caller (``evalkit.metrics.neural``).
MEAN_METRICS: tuple[str, ...] = ("comet", "cometkiwi", "labse")
HIGHER_IS_BETTER.update(dict.fromkeys(MEAN_METRICS, True))
# --- end of mean-of-segments metrics ------------------------------------------------------------

# Pairs per task sent to a worker. With TER: 4, small enough to balance its uneven cost (~300 ms
# for a long, badly matching pair). Without it (chrF/BLEU: ~1.5 ms a pair, evenly), up to 64, so
# the per-task cost (pool round trip, pickling, cache clearing: ~0.3 ms) stays near 1%, but
# never fewer than _TASKS_PER_WORKER tasks per worker and call, so the last tasks of a call (a
# block of the ci regression gate) do not leave a worker idle for long. (The score stage runs
# score_pairs in one process per evalkit.shard task.)
_CHUNK_TER = 4
_CHUNK_MAX = 64
_TASKS_PER_WORKER = 16


def make_metric(name: str, *, sentence: bool = False) -> Any:
    """A fresh sacrebleu metric object for ``name``; ``sentence`` selects BLEU's effective order."""
    from sacrebleu.metrics import BLEU, CHRF, TER

    if name == "chrf":
        return CHRF()
    if name == "chrf++":
        return CHRF(word_order=2)
    if name == "bleu":
        return BLEU(effective_order=sentence)
    if name == "ter":
        return TER()
    raise ValueError(f"unknown metric {name!r}; known: {', '.join(METRICS)}")


@contextmanager
def _sacrebleu_seed(seed: int | None) -> Iterator[None]:
    """Run a block with ``SACREBLEU_SEED`` set (sacrebleu's only seeding knob), then restore it."""
    old = os.environ.get("SACREBLEU_SEED")
    os.environ["SACREBLEU_SEED"] = "None" if seed is None else str(seed)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("SACREBLEU_SEED", None)
        else:
            os.environ["SACREBLEU_SEED"] = old


@dataclass(frozen=True, slots=True)
class SegmentScores:
    """One hypothesis against one reference: a score and the sufficient statistics per metric."""

    scores: dict[str, float]
    stats: dict[str, list[float]]

    def to_dict(self) -> dict[str, Any]:
        return {"scores": dict(self.scores), "stats": {k: list(v) for k, v in self.stats.items()}}

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> SegmentScores:
        return cls(scores=dict(obj["scores"]), stats={k: list(v) for k, v in obj["stats"].items()})


# Per process: metric names -> (sentence-level metric objects, their tokenizers' cache_clear).
_PROCESS_METRICS: dict[tuple[str, ...], tuple[dict[str, Any], list[Any]]] = {}


def _metrics_for(names: tuple[str, ...]) -> tuple[dict[str, Any], list[Any]]:
    """Metric objects for ``names``, made once per process (a fork inherits the parent's).

    They keep nothing between calls here: references are passed explicitly, so
    ``_extract_corpus_statistics`` only sets ``num_refs`` (always 1) and caches no reference.
    """
    cached = _PROCESS_METRICS.get(names)
    if cached is None:
        metrics = {name: make_metric(name, sentence=True) for name in names}
        cached = _PROCESS_METRICS[names] = (metrics, _tokenizer_cache_clears())
    return cached


def _score_chunk(task: tuple[tuple[str, ...], list[tuple[str, str]]]) -> list[tuple[tuple[float, ...], tuple[list[Any], ...]]]:
    """Scores and statistics of each pair, in metric order, as plain tuples (cheap to pickle back
    from a worker); ``_segments`` makes ``SegmentScores`` of them."""
    metric_names, pairs = task
    metrics, cache_clears = _metrics_for(metric_names)
    out = []
    for hyp, ref in pairs:
        scores = []
        stats = []
        for metric in metrics.values():
            seg = metric._extract_corpus_statistics([hyp], [[ref]])
            scores.append(float(metric._aggregate_and_compute(seg).score))
            stats.append(list(seg[0]))
        out.append((tuple(scores), tuple(stats)))
    for cache_clear in cache_clears:
        cache_clear()
    return out


def _segments(names: tuple[str, ...], chunks: Any) -> list[SegmentScores]:
    return [SegmentScores(dict(zip(names, scores)), dict(zip(names, stats)))
            for chunk in chunks for scores, stats in chunk]


def _tokenizer_cache_clears() -> list[Any]:
    """``cache_clear`` of sacrebleu's tokenizer memo caches (``lru_cache(maxsize=2**16)`` on
    ``__call__``), for the tokenizer modules imported so far.

    The caches are keyed by tokenizer object and line, so they hardly ever hit here, but they keep
    up to 65,536 lines in every scoring process: memory that grows with the corpus up to hundreds
    of MB. ``_score_chunk`` empties them after each task; clearing changes no number (a memo cache).
    """
    import sys

    clears = []
    for name, module in list(sys.modules.items()):
        if not name.startswith("sacrebleu.tokenizers.") or module is None:
            continue
        for obj in vars(module).values():
            call = obj.__dict__.get("__call__") if isinstance(obj, type) else None
            if call is not None and hasattr(call, "cache_clear"):
                clears.append(call.cache_clear)
    return clears


def resolve_workers(workers: int | None) -> int:
    return max(1, workers if workers else (os.cpu_count() or 1))


@contextmanager
def scoring_pool(workers: int | None) -> Iterator[Any]:
    """A fork pool that lives across many calls — ``score_pairs(..., pool=)`` block by block in the
    ci regression gate, ``evalkit.shard``'s tasks in the score and report stages — or None when
    one worker is asked for."""
    n_workers = resolve_workers(workers)
    if n_workers <= 1:
        yield None
        return
    import multiprocessing as mp

    # fork: workers inherit what is imported and loaded (sacrebleu, the judge's dictionaries) and
    # need nothing pickled but their tasks. Fork before loading what the workers do not need.
    with mp.get_context("fork").Pool(n_workers) as pool:
        yield pool


def score_pairs(pairs: Sequence[tuple[str, str]], metric_names: Sequence[str] = METRICS,
                workers: int | None = 1, pool: Any = None) -> list[SegmentScores]:
    """Score ``(hyp, ref)`` pairs, in order; ``workers`` > 1 forks a pool (None: all cores), or
    ``pool`` (from ``scoring_pool``) is used.

    Each pair is scored independently, so the result does not depend on how pairs are spread
    over processes.
    """
    names = tuple(metric_names)
    if not pairs or not names:
        return [SegmentScores({}, {}) for _ in pairs]
    n_workers = resolve_workers(workers) if pool is None else getattr(pool, "_processes", None) or 2
    chunk = _chunk_size(names, len(pairs), n_workers)
    tasks = [(names, list(pairs[i:i + chunk])) for i in range(0, len(pairs), chunk)]
    if pool is not None:
        return _segments(names, pool.map(_score_chunk, tasks, chunksize=1))
    with scoring_pool(min(n_workers, len(tasks))) as own_pool:
        if own_pool is None:
            return _segments(names, map(_score_chunk, tasks))
        return _segments(names, own_pool.map(_score_chunk, tasks, chunksize=1))


def _chunk_size(names: tuple[str, ...], n_pairs: int, n_workers: int) -> int:
    """Pairs per task: ``_CHUNK_TER`` with TER, else as many as keeps ``_TASKS_PER_WORKER`` tasks
    per worker, between ``_CHUNK_TER`` and ``_CHUNK_MAX``."""
    if "ter" in names:
        return _CHUNK_TER
    return max(_CHUNK_TER, min(_CHUNK_MAX, math.ceil(n_pairs / (n_workers * _TASKS_PER_WORKER))))


@dataclass(frozen=True, slots=True)
class CorpusScore:
    metric: str
    score: float
    ci: tuple[float, float] | None  # 95% percentile bootstrap interval
    mean: float | None  # bootstrap mean (sacrebleu's μ)
    signature: str
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "ci": list(self.ci) if self.ci else None, "mean": self.mean,
                "signature": self.signature, "n": self.n}


def stats_array(metric: str, stats: Any) -> Any:
    """Per-segment statistics as one compact 2-D numpy array (segments × statistics).

    chrF and BLEU statistics are per-segment integer counts (int32; sums are taken in int64); TER's are edit counts and
    reference lengths that sacrebleu keeps as floats (float64; integer-valued, so sums are exact).
    A million chrF segments take 72 MB here against ~1.5 GB as lists of Python ints.
    """
    import numpy as np

    dtype = np.float64 if metric == "ter" or metric in MEAN_METRICS else np.int32
    if isinstance(stats, np.ndarray):
        return stats.astype(dtype, copy=False)
    arr = np.array([list(s) for s in stats], dtype=dtype)
    return arr.reshape(len(stats), -1)


def _env_seed() -> int | None:
    """The seed sacrebleu reads from ``SACREBLEU_SEED`` (default 12345; "None": unseeded)."""
    seed = os.environ.get("SACREBLEU_SEED", "12345")
    return None if seed.lower() == "none" else int(seed)


def _bootstrap_resample(stats: Any, metric: Any, n_samples: int) -> tuple[str, list[Any]]:
    """sacrebleu's ``significance._bootstrap_resample``, one resample at a time.

    sacrebleu draws every index at once (``rng.choice(n, size=(n_samples, n))``) and gathers
    ``stats[idxs]`` as one float32 array of n_samples × n × statistics: 14 GB for 200 resamples
    of a million chrF segments. Drawing the same generator row by row yields the same indices
    (numpy's PCG64 keeps its 32-bit buffer in the generator state; tests/test_metrics.py checks
    the equality against sacrebleu's function), and each row's float32 sum is the same sequence
    of additions as sacrebleu's (``_f32_resample_sum``), so the scores are identical in O(n) memory.
    """
    import numpy as np

    seed = _env_seed()
    rng = np.random.default_rng(seed)
    stats_np = np.ascontiguousarray(stats, dtype="float32")
    n = len(stats_np)
    scores = [metric._compute_score_from_stats(_f32_resample_sum(stats_np, rng.choice(n, size=n, replace=True)))
              for _ in range(n_samples)]
    return str(seed).lower(), scores


def corpus_score(name: str, stats: Any, n_bootstrap: int = 1000,
                 seed: int | None = 12345, signature: str | None = None) -> CorpusScore | None:
    """Corpus score from per-segment statistics (a sequence of lists, or a 2-D array from
    ``stats_array``); None when there are no segments. ``signature``: a mean-of-segments
    metric's (``MEAN_METRICS``); sacrebleu metrics sign their own."""
    if len(stats) == 0:
        return None
    if name in MEAN_METRICS:
        return _mean_corpus_score(name, stats, n_bootstrap, seed, signature)
    metric = make_metric(name)
    # One reference per segment by construction; sacrebleu learns this while caching references,
    # which the per-segment extraction did in other objects (or other processes).
    metric.num_refs = 1
    arr = stats_array(name, stats)
    # _aggregate_and_compute is _compute_score_from_stats(sum_of_lists(stats)); the column sums
    # of integer(-valued) statistics are exact, so summing the array gives the same totals.
    score = metric._compute_score_from_stats(arr.sum(axis=0).tolist())
    ci = mean = None
    if n_bootstrap > 1:
        with _sacrebleu_seed(seed):
            metric.n_bootstrap = n_bootstrap
            metric.seed, resampled = _bootstrap_resample(arr, metric, n_bootstrap)
        score.estimate_ci(resampled)
        # The same order statistics sacrebleu's estimate_ci halves into its "±".
        raw = sorted(float(s.score) for s in resampled)
        lower = len(raw) // 40
        ci = (raw[lower], raw[len(raw) - lower - 1])
        mean = float(score._mean)
    return CorpusScore(name, float(score.score), ci, mean, str(metric.get_signature()), len(arr))


TEST_NAMES = {"bs": "paired-bs", "ar": "paired-ar"}
_DEFAULT_SAMPLES = {"bs": 1000, "ar": 10000}  # PairedTest's defaults when n_samples <= 0

# Rows of a paired-bootstrap resample gathered at once: the running float32 sum is carried from
# chunk to chunk, so the sum is sacrebleu's row-by-row one without an n × statistics temporary.
_RESAMPLE_CHUNK = 4096
# Approximate randomisation: about this many selector booleans drawn per call (whole rows, and a
# multiple of 32 draws per call — see _paired_ar)...
_AR_DRAW_BOOLS = 1 << 22
# ...and each matrix product kept at m·n·k <= 4·65536, the size up to which OpenBLAS runs a gemm
# on one thread (larger ones fan out to every core; on a loaded machine that is 10-100x slower).
_GEMM_MAX = 1 << 18
_GEMM_ROWS = 32


def _f32_resample_sum(stats_f32: Any, idx: Any) -> Any:
    """``stats_f32[idx].sum(0)``, bit for bit, without the ``len(idx)`` × statistics temporary.

    numpy sums a C-contiguous 2-D float32 array along axis 0 row after row (the statistics are
    the inner loop), so carrying the running sum into the first row of the next chunk continues
    the very same sequence of float32 additions. tests/test_metrics.py checks the equality with
    sums large enough for float32 to round. (A single column is the exception: numpy sums it
    pairwise, so it is gathered whole, as sacrebleu does.)
    """
    import numpy as np

    if stats_f32.shape[1] == 1:
        return stats_f32[idx].sum(0)
    acc = None
    for start in range(0, len(idx), _RESAMPLE_CHUNK):
        part = np.take(stats_f32, idx[start:start + _RESAMPLE_CHUNK], axis=0)
        if acc is not None:
            part[0] += acc
        acc = part.sum(0)
    return acc


def _integer_stats(metric: str, stats: Any) -> Any:
    """``stats_array`` as integers: counts stay int32; TER's floats (edits and reference length,
    integer-valued with one reference) become int64 after a check. The paired tests rely on
    exact sums."""
    import numpy as np

    arr = stats_array(metric, stats)
    if arr.dtype.kind == "f":
        if not np.array_equal(arr, np.round(arr)):
            raise ValueError(f"{metric}: paired tests need integer-valued statistics (one reference per segment)")
        arr = arr.astype(np.int64)
    return arr


def _selected_sums(pos: Any, k: int, chunks: list[tuple[int, int, Any]]) -> Any:
    """``pos @ diff`` for a boolean ``pos`` (rows × n) and integer ``diff`` (n × k), exactly, as int64.

    BLAS products over column chunks: a chunk in float32 when the sum of its rows' largest
    absolute values stays within 2**24 (then every partial sum of 0/1-weighted integers is exact
    in float32, whatever order the BLAS kernel adds in), else in float64 (exact up to 2**53,
    checked by the caller). ``chunks`` holds (start, stop, diff[start:stop] as float32/float64).
    """
    import numpy as np

    rows = pos.shape[0]
    out = np.empty((rows, k), dtype=np.int64)
    width = max(stop - start for start, stop, _ in chunks)
    buffers = {np.dtype(np.float32): np.empty((_GEMM_ROWS, width), np.float32),
               np.dtype(np.float64): np.empty((_GEMM_ROWS, width), np.float64)}
    for r0 in range(0, rows, _GEMM_ROWS):
        r1 = min(r0 + _GEMM_ROWS, rows)
        acc = np.zeros((r1 - r0, k), dtype=np.float64)
        for start, stop, block in chunks:
            buf = buffers[block.dtype][:r1 - r0, :stop - start]
            np.copyto(buf, pos[r0:r1, start:stop])
            acc += buf @ block
        out[r0:r1] = acc
    return out


def _paired_bs(metric: Any, base: Any, other: Any, n_samples: int, seed: int | None) -> tuple[Any, Any]:
    """Bootstrap scores of both systems, as sacrebleu's ``_paired_bs_test`` computes them.

    sacrebleu draws ``rng.choice(n, size=(n_samples, n))`` at once and gathers n_samples × n ×
    statistics float32 values (~100 GB for 1000 resamples of a million chrF segments). PCG64
    draws the same indices one row at a time, and each row's float32 sums are the same additions
    (``_f32_resample_sum``), so the scores are identical in O(n) memory.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    n, k = base.shape
    both = np.empty((n, 2 * k), dtype=np.float32)  # one gather serves both systems
    both[:, :k] = base
    both[:, k:] = other
    scores_bl, scores_sys = [], []
    for _ in range(n_samples):
        sums = _f32_resample_sum(both, rng.choice(n, size=n, replace=True))
        scores_bl.append(metric._compute_score_from_stats(sums[:k]).score)
        scores_sys.append(metric._compute_score_from_stats(sums[k:]).score)
    return np.array(scores_bl), np.array(scores_sys)


def _paired_ar(metric: Any, base: Any, other: Any, n_trials: int, seed: int | None, dtype: Any) -> tuple[Any, Any]:
    """Trial scores of both shuffled pseudo-systems, as sacrebleu's ``_paired_ar_test`` computes them.

    sacrebleu draws ``pos_sel = rng.integers(2, size=(n_trials, n), dtype=bool)`` at once and
    forms ``pos_sel @ base + ~pos_sel @ other`` (and the converse). numpy draws each boolean from
    one bit of a 32-bit word whose buffer starts afresh at every call, so drawing the rows in
    blocks gives the same booleans exactly when every block but the last holds a multiple of 32
    draws: blocks of a multiple of 32 / gcd(n, 32) rows. The statistics are integers, so the
    sums are exact in any order: ``pos @ base + neg @ other = sum(other) + pos @ (base − other)``
    (and ``sum(base) − pos @ (base − other)``), computed exactly in int64 and handed to
    ``_aggregate_and_compute`` with the dtype sacrebleu's product has (int64 for counts, float64
    for TER's float statistics).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    n, k = base.shape
    sum_base, sum_other = base.sum(0, dtype=np.int64), other.sum(0, dtype=np.int64)
    width = max(1, _GEMM_MAX // (_GEMM_ROWS * k))
    chunks, total = [], 0.0
    for start in range(0, n, width):
        stop = min(start + width, n)
        diff = base[start:stop].astype(np.int64) - other[start:stop]
        bound = float(np.abs(diff).max(axis=1).sum())
        total += bound
        chunks.append((start, stop, diff.astype(np.float32 if bound <= 2.0 ** 24 else np.float64)))
    if total >= 2.0 ** 53:
        raise ValueError("paired-ar: statistics too large for exact sums")
    unit = 32 // math.gcd(n, 32)
    rows = unit * max(1, _AR_DRAW_BOOLS // (unit * n))
    scores_a, scores_b = [], []
    for start in range(0, n_trials, rows):
        pos = rng.integers(2, size=(min(rows, n_trials - start), n), dtype=bool)
        delta = _selected_sums(pos, k, chunks)
        shuf_a = (sum_other + delta).astype(dtype)  # pos @ base + neg @ other
        shuf_b = (sum_base - delta).astype(dtype)  # neg @ base + pos @ other
        scores_a.extend(metric._aggregate_and_compute(x).score for x in shuf_a[:, None])
        scores_b.extend(metric._aggregate_and_compute(x).score for x in shuf_b[:, None])
    return np.array(scores_a), np.array(scores_b)


def _paired_test(test: str, metric: str, a: Any, b: Any, n_samples: int) -> dict[str, Any]:
    """One of sacrebleu's ``PairedTest`` runs (baseline ``a``, system ``b``) on stored statistics.

    Reads ``SACREBLEU_SEED`` and derives the seed, the defaults and the signature as
    ``PairedTest`` does; the p-value comes from sacrebleu's own function.
    """
    import numpy as np
    from sacrebleu.significance import _compute_p_value

    sig_seed = _env_seed()
    seed = sig_seed if sig_seed else None  # PairedTest.__call__: a seed of 0 draws from OS entropy
    n_samples = n_samples if n_samples > 0 else _DEFAULT_SAMPLES[test]

    real = make_metric(metric)
    real.num_refs = 1
    signature = real.get_signature()
    signature.update("seed", str(sig_seed).lower())
    signature.update(test, n_samples)

    # PairedTest's corpus scores: _aggregate_and_compute over lists of Python numbers; the column
    # sums of integer(-valued) statistics are exact, so summing the arrays gives the same totals.
    as_lists = float if metric == "ter" else int
    score_a = real._compute_score_from_stats([as_lists(x) for x in a.sum(0, dtype=np.int64)]).score
    score_b = real._compute_score_from_stats([as_lists(x) for x in b.sum(0, dtype=np.int64)]).score
    diff = abs(score_a - score_b)
    if test == "bs":
        scores_bl, scores_sys = _paired_bs(real, a, b, n_samples, seed)
        sample_diffs = np.abs(scores_sys - scores_bl)
        p_value = _compute_p_value(sample_diffs - sample_diffs.mean(), diff)
    else:
        scores_a, scores_b = _paired_ar(real, a, b, n_samples, seed, np.float64 if metric == "ter" else np.int64)
        p_value = _compute_p_value(np.abs(scores_a - scores_b), diff)
    return {"score_a": score_a, "score_b": score_b, "p_value": p_value,
            "signature": str(signature)}


def paired_tests(a_name: str, a_stats: Any, b_name: str, b_stats: Any, metric: str, *, tests: Sequence[str] = ("bs", "ar"),
                 n_bootstrap: int = 1000, n_trials: int = 10000, seed: int | None = 12345,
                 signature: str | None = None) -> list[dict[str, Any]]:
    """sacrebleu's paired tests of system B against system A on the same segments.

    Returns one record per test: both scores, ``delta`` = B − A, and the p-value of the
    difference (two-sided). The numbers and signatures are those of
    ``sacrebleu.significance.PairedTest`` (baseline A, ``n_ar_confidence=-1``) with
    ``SACREBLEU_SEED=seed``, computed in O(n) memory (``_paired_bs``, ``_paired_ar``).
    """
    if len(a_stats) != len(b_stats):
        raise ValueError(f"paired test needs the same segments: {len(a_stats)} vs {len(b_stats)}")
    if len(a_stats) == 0:
        return []
    if metric in MEAN_METRICS:
        return _mean_paired_tests(a_name, a_stats, b_name, b_stats, metric, tests=tests, n_bootstrap=n_bootstrap,
                                  n_trials=n_trials, seed=seed, signature=signature)
    a = _integer_stats(metric, a_stats)
    b = _integer_stats(metric, b_stats)

    out = []
    for test in tests:
        with _sacrebleu_seed(seed):
            result = _paired_test(test, metric, a, b, n_bootstrap if test == "bs" else n_trials)
        out.append({
            "a": a_name, "b": b_name, "metric": metric, "test": TEST_NAMES[test],
            "score_a": float(result["score_a"]), "score_b": float(result["score_b"]),
            "delta": float(result["score_b"]) - float(result["score_a"]), "p_value": float(result["p_value"]),
            "n": len(a_stats), "signature": result["signature"],
        })
    return out


# --- mean-of-segments metrics: corpus score, CIs and paired tests (issue 12) ----------------------


def _mean_values(stats: Any) -> Any:
    """The segment scores of a mean-of-segments metric: the first column of its statistics."""
    import numpy as np

    arr = np.asarray(stats_array(MEAN_METRICS[0], stats), dtype=np.float64)
    return np.ascontiguousarray(arr.reshape(len(arr), -1)[:, 0])


def _mean_signature(metric: str, signature: str | None) -> str:
    return signature or f"{metric}|agg:mean-of-segments"


def _percentile_ci(resampled: Any) -> tuple[tuple[float, float], float]:
    """The bounds and mean sacrebleu's ``estimate_ci`` derives from resampled scores."""
    raw = sorted(float(x) for x in resampled)
    lower = len(raw) // 40
    return (raw[lower], raw[len(raw) - lower - 1]), float(sum(raw) / len(raw))


def _mean_corpus_score(name: str, stats: Any, n_bootstrap: int, seed: int | None,
                       signature: str | None) -> CorpusScore:
    """The mean of the segment scores, with a 95% percentile bootstrap interval: the resamples are
    drawn as ``_bootstrap_resample`` draws them (the same generator and seed, one row at a time)."""
    import numpy as np

    values = _mean_values(stats)
    n = len(values)
    ci = mean = None
    if n_bootstrap > 1:
        rng = np.random.default_rng(seed)
        resampled = [float(values[rng.choice(n, size=n, replace=True)].mean()) for _ in range(n_bootstrap)]
        ci, mean = _percentile_ci(resampled)
    return CorpusScore(name, float(values.mean()), ci, mean, _mean_signature(name, signature), n)


def _mean_paired_bs(a: Any, b: Any, n_samples: int, seed: int | None) -> tuple[Any, Any]:
    """Both systems' means over the same resamples, drawn as ``_paired_bs`` draws them."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = len(a)
    means_a = np.empty(n_samples)
    means_b = np.empty(n_samples)
    for i in range(n_samples):
        idx = rng.choice(n, size=n, replace=True)
        means_a[i] = a[idx].mean()
        means_b[i] = b[idx].mean()
    return means_a, means_b


def _mean_paired_ar(a: Any, b: Any, n_trials: int, seed: int | None) -> tuple[Any, Any]:
    """Means of both shuffled pseudo-systems, with the selectors drawn as ``_paired_ar`` draws
    them (blocks of whole rows, a multiple of 32 draws per block but the last): sacrebleu's
    ``pos_sel @ a + ~pos_sel @ b`` is ``sum(b) + pos_sel @ (a − b)``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = len(a)
    diff = a - b
    sum_a, sum_b = float(a.sum()), float(b.sum())
    unit = 32 // math.gcd(n, 32)
    rows = unit * max(1, _AR_DRAW_BOOLS // (unit * n))
    means_a, means_b = [], []
    for start in range(0, n_trials, rows):
        pos = rng.integers(2, size=(min(rows, n_trials - start), n), dtype=bool)
        delta = pos.astype(np.float64) @ diff
        means_a.append((sum_b + delta) / n)
        means_b.append((sum_a - delta) / n)
    return np.concatenate(means_a), np.concatenate(means_b)


def _mean_paired_tests(a_name: str, a_stats: Any, b_name: str, b_stats: Any, metric: str, *, tests: Sequence[str],
                       n_bootstrap: int, n_trials: int, seed: int | None, signature: str | None) -> list[dict[str, Any]]:
    """``paired_tests`` for a mean-of-segments metric: sacrebleu's paired bootstrap and approximate
    randomisation (their statistics and p-values, ``_compute_p_value``) on per-segment scores."""
    from sacrebleu.significance import _compute_p_value

    a, b = _mean_values(a_stats), _mean_values(b_stats)
    score_a, score_b = float(a.mean()), float(b.mean())
    diff = abs(score_a - score_b)
    rng_seed = seed if seed else None  # as PairedTest: a seed of 0 draws from OS entropy
    out = []
    for test in tests:
        n_samples = n_bootstrap if test == "bs" else n_trials
        if n_samples <= 0:  # PairedTest's defaults
            n_samples = _DEFAULT_SAMPLES[test]
        if test == "bs":
            means_a, means_b = _mean_paired_bs(a, b, n_samples, rng_seed)
            sample_diffs = abs(means_b - means_a)
            p_value = _compute_p_value(sample_diffs - sample_diffs.mean(), diff)
        else:
            means_a, means_b = _mean_paired_ar(a, b, n_samples, rng_seed)
            p_value = _compute_p_value(abs(means_a - means_b), diff)
        out.append({
            "a": a_name, "b": b_name, "metric": metric, "test": TEST_NAMES[test],
            "score_a": score_a, "score_b": score_b, "delta": score_b - score_a, "p_value": float(p_value),
            "n": len(a), "signature": f"{_mean_signature(metric, signature)}|seed:{str(seed).lower()}|{test}:{n_samples}",
        })
    return out


# --- end of mean-of-segments metrics ------------------------------------------------------------


@dataclass
class ScoreSet:
    """Everything the score stage produces for a run."""

    metrics: list[str]
    scored_ids: list[str]  # paragraphs with both an English and a Chinese side, in reference order
    unscored: dict[str, str]  # id -> why it has no scores (a 1-0 or 0-1 bead)
    segments: dict[str, dict[str, SegmentScores]]  # system -> id -> scores
    corpus: dict[str, dict[str, CorpusScore | None]]  # system -> metric -> score
    significance: list[dict[str, Any]]
    skipped: dict[str, str] = field(default_factory=dict)  # metric -> reason it was not computed
    missing_hyps: dict[str, int] = field(default_factory=dict)  # system -> paragraphs without a hypothesis
    timings: dict[str, float] = field(default_factory=dict)


def scorable(zh: str, en: str) -> str | None:
    """Why a paragraph cannot be scored against its reference, or None when it can."""
    if not en.strip():
        return "no English reference (0-1 bead)"
    if not zh.strip():
        return "no Chinese source (1-0 bead)"
    return None


def aggregate(scored_ids: Sequence[str], segments: Mapping[str, Mapping[str, SegmentScores]],
              metric_names: Sequence[str], *, n_bootstrap: int = 1000, seed: int | None = 12345,
              significance_tests: Sequence[str] = ("bs", "ar"),
              ) -> tuple[dict[str, dict[str, CorpusScore | None]], list[dict[str, Any]], dict[str, str], dict[str, float]]:
    """Corpus scores with CIs per system and paired tests between every pair, from stored statistics.

    Returns ``(corpus, significance, skipped, timings)``.
    """
    stats = {system: {m: stats_array(m, [segments[system][i].stats[m] for i in scored_ids]) for m in metric_names}
             for system in segments}
    return aggregate_arrays(stats, metric_names, n_bootstrap=n_bootstrap, seed=seed,
                            significance_tests=significance_tests)


def aggregate_arrays(stats: Mapping[str, Mapping[str, Any]], metric_names: Sequence[str], *,
                     n_bootstrap: int = 1000, seed: int | None = 12345, significance_tests: Sequence[str] = ("bs", "ar"),
                     signatures: Mapping[str, str] | None = None,
                     ) -> tuple[dict[str, dict[str, CorpusScore | None]], list[dict[str, Any]], dict[str, str], dict[str, float]]:
    """``aggregate`` over per-segment statistics arrays: system -> metric -> ``stats_array`` (rows
    in the same segment order for every system). ``signatures``: of mean-of-segments metrics."""
    systems = list(stats)
    signatures = signatures or {}
    skipped: dict[str, str] = {}
    timings: dict[str, float] = {}
    start = time.perf_counter()
    corpus: dict[str, dict[str, CorpusScore | None]] = {}
    for system in systems:
        corpus[system] = {m: corpus_score(m, stats[system][m], n_bootstrap, seed, signatures.get(m))
                          for m in metric_names}
    timings["corpus_scores_s"] = time.perf_counter() - start

    start = time.perf_counter()
    significance: list[dict[str, Any]] = []
    if len(systems) > 1 and n_bootstrap < 2:
        skipped["significance"] = "skipped: scoring.bootstrap < 2 leaves no resamples for paired tests"
    for ia, a in enumerate(systems if n_bootstrap >= 2 else []):
        for b in systems[ia + 1:]:
            for m in metric_names:
                significance.extend(paired_tests(
                    a, stats[a][m], b, stats[b][m], m,
                    tests=significance_tests, n_bootstrap=n_bootstrap,
                    # sacrebleu's default ratio of AR trials to bootstrap resamples (10000 : 1000).
                    n_trials=10 * n_bootstrap, seed=seed, signature=signatures.get(m)))
    timings["significance_s"] = time.perf_counter() - start
    return corpus, significance, skipped, timings


def score_systems(references: Sequence[Any], hyps_by_system: Mapping[str, Mapping[str, str]], *,
                  metrics: Sequence[str] = METRICS, n_bootstrap: int = 1000, seed: int | None = 12345,
                  workers: int | None = None, ter_max_paragraphs: int | None = None,
                  significance_tests: Sequence[str] = ("bs", "ar")) -> ScoreSet:
    """Score every system on every scorable reference paragraph.

    ``references``: objects with ``id``, ``zh`` and ``en`` (``ReferenceRecord``).
    ``hyps_by_system``: system name -> paragraph id -> hypothesis. A missing hypothesis is
    scored as an empty one (and counted in ``missing_hyps``): a system that drops paragraphs
    must not look better for it.
    """
    timings: dict[str, float] = {}
    scored_ids: list[str] = []
    unscored: dict[str, str] = {}
    refs: dict[str, str] = {}
    for record in references:
        reason = scorable(record.zh, record.en)
        if reason:
            unscored[record.id] = reason
        else:
            scored_ids.append(record.id)
            refs[record.id] = record.en

    metric_names = [m for m in METRICS if m in metrics]
    skipped: dict[str, str] = {}
    if "ter" in metric_names and ter_max_paragraphs is not None and len(scored_ids) > ter_max_paragraphs:
        metric_names.remove("ter")
        skipped["ter"] = (f"skipped: {len(scored_ids)} paragraphs exceed scoring.ter_max_paragraphs="
                          f"{ter_max_paragraphs} (TER costs ~300 ms per long paragraph)")

    systems = list(hyps_by_system)
    missing = {s: sum(1 for i in scored_ids if i not in hyps_by_system[s]) for s in systems}
    pairs = [(hyps_by_system[s].get(i, ""), refs[i]) for s in systems for i in scored_ids]
    start = time.perf_counter()
    flat = score_pairs(pairs, metric_names, workers)
    timings["paragraph_scores_s"] = time.perf_counter() - start

    segments: dict[str, dict[str, SegmentScores]] = {}
    for k, system in enumerate(systems):
        chunk = flat[k * len(scored_ids):(k + 1) * len(scored_ids)]
        segments[system] = dict(zip(scored_ids, chunk, strict=True))

    corpus, significance, more_skipped, more_timings = aggregate(
        scored_ids, segments, metric_names, n_bootstrap=n_bootstrap, seed=seed, significance_tests=significance_tests)
    skipped.update(more_skipped)
    timings.update(more_timings)
    return ScoreSet(metric_names, scored_ids, unscored, segments, corpus, significance, skipped, missing, timings)
