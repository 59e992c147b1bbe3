"""Scores equal direct sacrebleu calls on the same strings; sharding and summing statistics change nothing."""

from __future__ import annotations

import json
import os
import tracemalloc

import numpy as np
import pytest
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.significance import PairedTest

from conftest import SEED_HYPS
from evalkit.metrics import corpus_score, paired_tests, score_pairs, score_systems
from evalkit.metrics import scoring
from evalkit.records import ReferenceRecord

SEED_ROWS = [json.loads(line) for line in SEED_HYPS.read_text(encoding="utf-8").splitlines() if line.strip()]
# Real strings from the seed's external system, paired with a second rendering of the same paragraph
# (the next paragraph's hypothesis stands in as a poor "reference" to get a spread of scores).
PAIRS = [(SEED_ROWS[i]["hyp"], SEED_ROWS[i + (i % 3 == 0)]["hyp"]) for i in range(1, 12)]
SHORT = [("The cat sat.", "The cat sat on the mat."), ("", "Nothing was translated."),
         ("An extra line with no reference.", ""), ("", ""), ("8月1日", "August 1")]

SENTENCE_METRICS = {"chrf": CHRF(), "chrf++": CHRF(word_order=2), "bleu": BLEU(effective_order=True), "ter": TER()}


def _corpus_metric(name):
    return {"chrf": CHRF(), "chrf++": CHRF(word_order=2), "bleu": BLEU(), "ter": TER()}[name]


@pytest.mark.parametrize("hyp,ref", SHORT + PAIRS[:4])
@pytest.mark.parametrize("metric", ["chrf", "chrf++", "bleu", "ter"])
def test_paragraph_score_equals_sentence_score(metric, hyp, ref):
    (seg,) = score_pairs([(hyp, ref)], [metric], workers=1)
    assert seg.scores[metric] == SENTENCE_METRICS[metric].sentence_score(hyp, [ref]).score


@pytest.mark.parametrize("metric", ["chrf", "chrf++", "bleu", "ter"])
def test_corpus_score_from_summed_statistics_equals_sacrebleu_corpus_score(metric):
    pairs = PAIRS[:6] + SHORT[:2]
    segs = score_pairs(pairs, [metric], workers=1)
    ours = corpus_score(metric, [s.stats[metric] for s in segs], n_bootstrap=1)
    direct = _corpus_metric(metric).corpus_score([h for h, _ in pairs], [[r for _, r in pairs]])
    assert ours.score == direct.score
    assert ours.n == len(pairs)


@pytest.mark.parametrize("metric", ["chrf", "bleu"])
def test_bootstrap_ci_is_sacrebleus(metric, monkeypatch):
    pairs = PAIRS
    segs = score_pairs(pairs, [metric], workers=1)
    ours = corpus_score(metric, [s.stats[metric] for s in segs], n_bootstrap=200, seed=7)
    monkeypatch.setenv("SACREBLEU_SEED", "7")
    direct = _corpus_metric(metric).corpus_score([h for h, _ in pairs], [[r for _, r in pairs]], n_bootstrap=200)
    assert ours.mean == pytest.approx(direct._mean, abs=1e-9)
    assert (ours.ci[1] - ours.ci[0]) / 2 == pytest.approx(direct._ci, abs=1e-9)
    assert ours.ci[0] <= ours.score <= ours.ci[1] or ours.ci[0] <= ours.mean <= ours.ci[1]
    assert "bs:200" in ours.signature and "seed:7" in ours.signature


def test_seed_is_restored_after_scoring(monkeypatch):
    monkeypatch.setenv("SACREBLEU_SEED", "99")
    segs = score_pairs(PAIRS[:3], ["chrf"], workers=1)
    corpus_score("chrf", [s.stats["chrf"] for s in segs], n_bootstrap=10, seed=1)
    assert os.environ["SACREBLEU_SEED"] == "99"


def test_parallel_scoring_equals_single_process_to_the_last_digit():
    pairs = PAIRS + SHORT
    one = score_pairs(pairs, ["chrf", "chrf++", "bleu"], workers=1)
    two = score_pairs(pairs, ["chrf", "chrf++", "bleu"], workers=2)
    assert one == two


@pytest.mark.parametrize("metrics", [("chrf", "bleu"), ("bleu", "ter")])
def test_reused_pool_scores_blocks_as_one_process_does(metrics):
    # Larger tasks without TER (here 25 pairs in one process, 5 per task of the pool), TER's 4,
    # metric objects kept per process across calls, and the same types (ints, floats) in the
    # same metric order.
    pairs = [(" ".join(_perturbed(h, 3 + i % 4, i).split()[:25]), " ".join(h.split()[:25]))
             for i, h in enumerate(row["hyp"] for row in SEED_ROWS * 10)][:400]
    one = score_pairs(pairs, metrics, workers=1)
    with scoring.scoring_pool(2) as pool:
        blocks = [score_pairs(pairs[i:i + 150], metrics, pool=pool) for i in range(0, len(pairs), 150)]
    two = [seg for block in blocks for seg in block]
    assert one == two
    assert [json.dumps(s.to_dict()) for s in one] == [json.dumps(s.to_dict()) for s in two]
    direct = {m: SENTENCE_METRICS[m] for m in metrics}
    for (hyp, ref), seg in list(zip(pairs, two))[::37]:
        assert list(seg.scores) == list(metrics)
        assert seg.scores == {m: direct[m].sentence_score(hyp, [ref]).score for m in metrics}


@pytest.mark.parametrize("test_type,name", [("bs", "paired-bs"), ("ar", "paired-ar")])
def test_paired_test_on_stored_statistics_equals_paired_test_on_strings(test_type, name, monkeypatch):
    refs = [r for _, r in PAIRS]
    sys_a = [h for h, _ in PAIRS]
    sys_b = [SEED_ROWS[i + 13]["hyp"] for i in range(len(PAIRS))]
    a = [s.stats["chrf"] for s in score_pairs(list(zip(sys_a, refs)), ["chrf"], workers=1)]
    b = [s.stats["chrf"] for s in score_pairs(list(zip(sys_b, refs)), ["chrf"], workers=1)]
    (ours,) = paired_tests("a", a, "b", b, "chrf", tests=(test_type,), n_bootstrap=100, n_trials=200, seed=3)
    monkeypatch.setenv("SACREBLEU_SEED", "3")
    _, results = PairedTest([("a", sys_a), ("b", sys_b)], {"chrf": CHRF()}, [refs], test_type=test_type,
                            n_samples=100 if test_type == "bs" else 200)()
    assert ours["test"] == name
    assert ours["p_value"] == results["chrF2"][1].p_value
    assert ours["delta"] == results["chrF2"][1].score - results["chrF2"][0].score


def _ref(i, zh, en):
    return ReferenceRecord(id=f"d#{i}", doc_id="d", index=i, zh=zh, en=en, bead="1-1", align_cost=0.0)


def test_empty_sides_are_not_scored_and_empty_hypotheses_count_against_the_system():
    refs = [_ref(0, "中文", "English text here."), _ref(1, "", "English only (1-0)."), _ref(2, "只有中文", ""),
            _ref(3, "另一段", "Another paragraph.")]
    result = score_systems(refs, {"s": {"d#0": "English text here."}}, metrics=["chrf", "ter"],
                           n_bootstrap=1, workers=1)
    assert result.scored_ids == ["d#0", "d#3"]
    assert set(result.unscored) == {"d#1", "d#2"}
    assert result.segments["s"]["d#3"].scores["chrf"] == 0.0
    assert result.missing_hyps == {"s": 1}
    assert result.corpus["s"]["chrf"].score == CHRF().corpus_score(["English text here.", ""],
                                                                    [["English text here.", "Another paragraph."]]).score


def test_ter_is_skipped_above_the_paragraph_limit_and_says_so():
    refs = [_ref(i, "中文", f"Sentence number {i}.") for i in range(3)]
    result = score_systems(refs, {"s": {r.id: r.en for r in refs}}, metrics=["chrf", "ter"], n_bootstrap=1,
                           workers=1, ter_max_paragraphs=2)
    assert result.metrics == ["chrf"]
    assert "ter_max_paragraphs=2" in result.skipped["ter"]


def test_every_pair_of_systems_gets_both_paired_tests():
    refs = [_ref(i, "中文", SEED_ROWS[i]["hyp"]) for i in range(1, 9)]
    hyps = {name: {r.id: SEED_ROWS[i + k]["hyp"] for i, r in enumerate(refs, 1)} for k, name in enumerate(["x", "y", "z"])}
    result = score_systems(refs, hyps, metrics=["chrf"], n_bootstrap=20, workers=1)
    pairs = {(s["a"], s["b"], s["test"]) for s in result.significance}
    assert pairs == {(a, b, t) for a, b in [("x", "y"), ("x", "z"), ("y", "z")] for t in ("paired-bs", "paired-ar")}
    same = [s for s in result.significance if s["a"] == "x"]
    assert all(0 < s["p_value"] <= 1 for s in same)


@pytest.mark.parametrize("metric", ["chrf", "bleu", "ter"])
def test_row_by_row_bootstrap_equals_sacrebleus_where_float32_sums_round(metric, monkeypatch):
    # Sums of ~5e8 over 5,000 segments (more than one _RESAMPLE_CHUNK): float32 rounds, so the
    # order of the additions must be sacrebleu's.
    from sacrebleu.significance import _bootstrap_resample as sacrebleu_resample

    from evalkit.metrics.scoring import _bootstrap_resample, make_metric, stats_array

    stats = _large_stats(metric, 5000, 4)
    monkeypatch.setenv("SACREBLEU_SEED", "12345")
    m = make_metric(metric)
    m.num_refs = 1
    _, theirs = sacrebleu_resample(stats.tolist(), m, 10)
    _, ours = _bootstrap_resample(stats_array(metric, stats), m, 10)
    assert np.array_equal([s.score for s in theirs], [s.score for s in ours])


@pytest.mark.parametrize("metric", ["chrf", "bleu", "ter"])
def test_row_by_row_bootstrap_equals_sacrebleus_all_at_once_resampling(metric, monkeypatch):
    # evalkit draws the resamples one at a time to keep memory O(n); the indices and scores
    # must be sacrebleu's own (guards against a numpy change to its generator's buffering).
    from sacrebleu.significance import _bootstrap_resample as sacrebleu_resample

    from evalkit.metrics.scoring import _bootstrap_resample, make_metric, stats_array

    pairs = PAIRS + SHORT[:2]
    segs = score_pairs(pairs, [metric])
    stats = [s.stats[metric] for s in segs]
    for seed in ("12345", "7"):
        monkeypatch.setenv("SACREBLEU_SEED", seed)
        m = make_metric(metric)
        m.num_refs = 1
        _, theirs = sacrebleu_resample(stats, m, 57)
        _, ours = _bootstrap_resample(stats_array(metric, stats), m, 57)
        assert np.array_equal([s.score for s in theirs], [s.score for s in ours])


# --- paired tests: ours (O(n) memory) against sacrebleu's PairedTest on the same statistics ------


class _StoredStatistics:
    """Stands in for a sacrebleu metric inside ``PairedTest`` (how evalkit ran it before): serves
    the statistics of each hypothesis list, keyed by the list's identity; the rest goes to the metric."""

    def __init__(self, metric, stats_by_list):
        self._metric = metric
        self._stats_by_list = stats_by_list

    def _extract_corpus_statistics(self, hypotheses, references):
        return self._stats_by_list[id(hypotheses)]

    def __getattr__(self, name):
        return getattr(self._metric, name)


def _with_sample_statistics(run, monkeypatch):
    """``run()``'s record plus the per-resample / per-trial statistic both implementations hand to
    sacrebleu's ``_compute_p_value`` (bs: centred score differences; ar: absolute differences):
    a p-value rarely moves when a resampled score is off in its last digits, this array does."""
    from sacrebleu import significance

    seen = []
    real = significance._compute_p_value

    def spy(stats, real_difference):
        seen.append(np.array(stats, copy=True))
        return real(stats, real_difference)

    with monkeypatch.context() as patch:
        patch.setattr(significance, "_compute_p_value", spy)
        record = run()
    (stats,) = seen
    return record, stats


def _sacrebleu_paired(metric, a, b, test, n_samples, seed, monkeypatch):
    """sacrebleu's own PairedTest (baseline a) on stored statistics, as plain lists like its extraction gives."""
    real = scoring.make_metric(metric)
    real.num_refs = 1
    hyps_a, hyps_b = [""] * len(a), [""] * len(b)
    proxy = _StoredStatistics(real, {id(hyps_a): scoring.stats_array(metric, a).tolist(),
                                     id(hyps_b): scoring.stats_array(metric, b).tolist()})

    def run():
        with monkeypatch.context() as patch:
            patch.setenv("SACREBLEU_SEED", str(seed))
            signatures, results = PairedTest([("a", hyps_a), ("b", hyps_b)], {metric: proxy}, references=None,
                                             test_type=test, n_samples=n_samples, n_ar_confidence=-1, n_jobs=1)()
        (key,) = [k for k in results if k != "System"]
        base, other = results[key]
        return {"score_a": base.score, "score_b": other.score, "delta": other.score - base.score,
                "p_value": other.p_value, "signature": str(signatures[key])}

    return _with_sample_statistics(run, monkeypatch)


def _ours(metric, a, b, test, n_samples, seed, monkeypatch):
    def run():
        (record,) = paired_tests("a", a, "b", b, metric, tests=(test,), n_bootstrap=n_samples, n_trials=n_samples,
                                 seed=seed)
        return {k: record[k] for k in ("score_a", "score_b", "delta", "p_value", "signature")}

    return _with_sample_statistics(run, monkeypatch)


def _assert_same(ours, theirs):
    (record, stats), (their_record, their_stats) = ours, theirs
    assert record == their_record
    assert stats.dtype == their_stats.dtype and np.array_equal(stats, their_stats)


def _perturbed(text, every, shift):
    """A hypothesis: every ``every``-th word dropped and neighbours swapped from ``shift`` on."""
    words = [w for i, w in enumerate(text.split()) if (i + shift) % every]
    for j in range(shift % 3, len(words) - 1, 9):
        words[j], words[j + 1] = words[j + 1], words[j]
    return " ".join(words)


@pytest.fixture(scope="module")
def real_stats():
    """Real sacrebleu statistics of two systems on 64 seed paragraphs (their first 30 words: TER's
    shift search is slow on long reordered ones): metric -> (A, B)."""
    refs = [" ".join(SEED_ROWS[i % len(SEED_ROWS)]["hyp"].split()[:30]) for i in range(64)]
    hyps_a = [_perturbed(r, 5, i) for i, r in enumerate(refs)]
    hyps_b = [_perturbed(r, 4 + i % 5, i + 1) for i, r in enumerate(refs)]
    out = {}
    for metric in ("chrf", "bleu", "ter"):
        a = [s.stats[metric] for s in score_pairs(list(zip(hyps_a, refs)), [metric], workers=1)]
        b = [s.stats[metric] for s in score_pairs(list(zip(hyps_b, refs)), [metric], workers=1)]
        out[metric] = (a, b)
    return out


@pytest.fixture(params=["default blocks", "tiny blocks"])
def blocks(request, monkeypatch):
    """Run once with the real block sizes and once with tiny ones, so that the resample sums cross
    chunks, the AR booleans are drawn in many calls and the products span many chunks."""
    if request.param == "tiny blocks":
        monkeypatch.setattr(scoring, "_RESAMPLE_CHUNK", 5)
        monkeypatch.setattr(scoring, "_AR_DRAW_BOOLS", 1)  # one unit of 32 / gcd(n, 32) rows per call
        monkeypatch.setattr(scoring, "_GEMM_ROWS", 3)
        monkeypatch.setattr(scoring, "_GEMM_MAX", 3 * 7 * 24)  # 7 segments per product at most
    return request.param


@pytest.mark.parametrize("seed", [12345, 7])
@pytest.mark.parametrize("n", [45, 64])  # not a multiple of 32, and one
@pytest.mark.parametrize("metric", ["chrf", "bleu", "ter"])
@pytest.mark.parametrize("test", ["bs", "ar"])
def test_paired_tests_equal_sacrebleus_paired_test(test, metric, n, seed, blocks, real_stats, monkeypatch):
    a, b = (stats[:n] for stats in real_stats[metric])
    n_samples = 200 if test == "bs" else 500
    _assert_same(_ours(metric, a, b, test, n_samples, seed, monkeypatch),
                 _sacrebleu_paired(metric, a, b, test, n_samples, seed, monkeypatch))


def _large_stats(metric, n, seed):
    """Synthetic statistics of sacrebleu's shape with corpus sums past 2**24, where float32 rounds."""
    rng = np.random.default_rng(seed)
    if metric == "ter":  # edits, reference length
        return np.stack([rng.integers(0, 200_000, n), rng.integers(1, 200_000, n)], 1).astype(float)
    if metric == "bleu":  # hyp length, ref length, matches 1-4, totals 1-4
        hyp, ref = rng.integers(4, 200_000, n), rng.integers(4, 200_000, n)
        totals = np.stack([hyp - j for j in range(4)], 1)
        return np.concatenate([hyp[:, None], ref[:, None], (totals * rng.random((n, 4))).astype(int), totals], 1)
    cols = []  # chrF: per n-gram order hypothesis, reference and matching counts
    for _ in range(6):
        hyp, ref = rng.integers(1, 200_000, n), rng.integers(1, 200_000, n)
        cols += [hyp, ref, (np.minimum(hyp, ref) * rng.random(n)).astype(int)]
    return np.stack(cols, 1)


@pytest.mark.parametrize("metric", ["chrf", "bleu", "ter"])
@pytest.mark.parametrize("test", ["bs", "ar"])
def test_paired_tests_equal_sacrebleus_where_float32_sums_round(test, metric, blocks, monkeypatch):
    # 5,000 segments of ~100,000 per statistic: sums of ~5e8, where sacrebleu's float32 resample
    # sums round (the order of the additions matters), more than one _RESAMPLE_CHUNK, and AR
    # product chunks too large for exact float32 sums.
    a = _large_stats(metric, 5000, 1)
    # B: A's segments shrunk by 20-50%, so that A − B has one sign and its partial sums grow.
    b = np.floor(a * np.random.default_rng(2).uniform(0.5, 0.8, (len(a), 1))).astype(a.dtype)
    n_samples = 20 if test == "bs" else 64
    _assert_same(_ours(metric, a, b, test, n_samples, 3, monkeypatch),
                 _sacrebleu_paired(metric, a, b, test, n_samples, 3, monkeypatch))


@pytest.mark.parametrize("metric", ["chrf", "bleu", "ter"])
@pytest.mark.parametrize("test", ["bs", "ar"])
def test_paired_tests_of_identical_systems_equal_sacrebleus(test, metric, real_stats, monkeypatch):
    a, _ = real_stats[metric]
    ours = _ours(metric, a, a, test, 100, 12345, monkeypatch)
    _assert_same(ours, _sacrebleu_paired(metric, a, a, test, 100, 12345, monkeypatch))
    assert ours[0]["delta"] == 0 and ours[0]["p_value"] == 1 / 101


@pytest.mark.parametrize("seed", [12345, 0, None])
@pytest.mark.parametrize("test", ["bs", "ar"])
def test_paired_test_signature_and_seed_are_sacrebleus(test, seed, real_stats, monkeypatch):
    # PairedTest shows SACREBLEU_SEED in the signature but seeds its test's generator with
    # `seed or None`: 0 and None both draw from OS entropy, so there only the seed handed to the
    # generator, the signature and the scores can be compared.
    a, b = real_stats["chrf"]
    seeds = []
    real_default_rng = np.random.default_rng

    def default_rng(seed=None):
        seeds.append(seed)
        return real_default_rng(seed)

    monkeypatch.setattr(np.random, "default_rng", default_rng)
    ours, _ = _ours("chrf", a, b, test, 50, seed, monkeypatch)
    ours_seed = seeds[-1]
    theirs, _ = _sacrebleu_paired("chrf", a, b, test, 50, seed, monkeypatch)
    assert ours_seed == seeds[-1] == (seed or None)  # the test's own generator is made last
    assert ours["signature"] == theirs["signature"]
    assert (ours["score_a"], ours["score_b"]) == (theirs["score_a"], theirs["score_b"])
    if seed:
        assert ours["p_value"] == theirs["p_value"]


def _traced_peak(fn):
    """Peak bytes allocated (numpy arrays included: numpy reports its buffers to tracemalloc) while fn runs."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("test", ["bs", "ar"])
def test_paired_tests_never_hold_n_samples_by_n_values(test):
    n, n_samples = 20_000, 1000
    a, b = _large_stats("chrf", n, 1).astype(np.int32), _large_stats("chrf", n, 2).astype(np.int32)
    bound = 16 * 2**20
    # sacrebleu holds n_samples × n indices (bs: int64, 160 MB here; ar: booleans, 20 MB, then
    # cast to int64 for the product). The instrument sees an allocation of that shape:
    draw = {"bs": lambda rng: rng.choice(n, size=(n_samples, n)),
            "ar": lambda rng: rng.integers(2, size=(n_samples, n), dtype=bool)}[test]
    assert _traced_peak(lambda: draw(np.random.default_rng(0))) > bound
    peak = _traced_peak(lambda: paired_tests("a", a, "b", b, "chrf", tests=(test,), n_bootstrap=n_samples,
                                             n_trials=n_samples))
    assert peak < bound, f"{test}: peak {peak / 2**20:.1f} MiB"


@pytest.mark.parametrize("columns", [1, 2, 4, 10, 18, 20, 36, 48])
@pytest.mark.parametrize("n", [1, 4096, 4097, 9000])
def test_chunked_resample_sum_is_the_whole_gathers_float32_sum(n, columns):
    # The running sum carried from chunk to chunk must add in numpy's own order (one column:
    # numpy sums pairwise, and the whole gather is kept).
    rng = np.random.default_rng(n + columns)
    stats = rng.integers(0, 2_000_000, size=(n, columns)).astype(np.float32)
    for _ in range(3):
        idx = rng.choice(n, size=n)
        assert np.array_equal(scoring._f32_resample_sum(stats, idx), stats[idx].sum(0))
