"""Scores equal direct sacrebleu calls on the same strings; sharding and summing statistics change nothing."""

from __future__ import annotations

import json
import os

import pytest
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.significance import PairedTest

from conftest import SEED_HYPS
from evalkit.metrics import corpus_score, paired_tests, score_pairs, score_systems
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
def test_row_by_row_bootstrap_equals_sacrebleus_all_at_once_resampling(metric, monkeypatch):
    # evalkit draws the resamples one at a time to keep memory O(n); the indices and scores
    # must be sacrebleu's own (guards against a numpy change to its generator's buffering).
    import numpy as np
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
