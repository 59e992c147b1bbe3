"""sacrebleu scores per paragraph and per corpus, bootstrap CIs and paired significance.

Nothing here re-implements a metric: every number comes from sacrebleu's own metric
classes; this package only shards the per-segment work across processes and sums the
sufficient statistics the way ``corpus_score`` does.

The optional neural metrics (comet, cometkiwi, labse) and the reference QE live in
``evalkit.metrics.neural``; its public names are importable from here too, lazily (nothing heavy
is imported until one is used).
"""

from evalkit.metrics.scoring import (
    MEAN_METRICS,
    METRICS,
    aggregate,
    aggregate_arrays,
    CorpusScore,
    ScoreSet,
    SegmentScores,
    corpus_score,
    make_metric,
    paired_tests,
    score_pairs,
    score_systems,
    stats_array,
)

__all__ = [
    "MEAN_METRICS",
    "METRICS",
    "CorpusScore",
    "ScoreSet",
    "SegmentScores",
    "corpus_score",
    "aggregate",
    "aggregate_arrays",
    "make_metric",
    "paired_tests",
    "score_pairs",
    "score_systems",
    "stats_array",
]

# evalkit.metrics.neural, on first use (issue 12).
_NEURAL = ("NEURAL_METRICS", "QE_METRICS", "NeuralMetricError", "ReferenceQE", "SentenceLocalisation", "SentenceMatch",
           "iter_reference_qe", "load_reference_qe", "localise_sentences", "score_reference_qe", "split_sentences")
__all__ += list(_NEURAL)


def __getattr__(name: str):  # noqa: ANN202 — PEP 562 lazy attribute
    if name in _NEURAL:
        from evalkit.metrics import neural

        return getattr(neural, name)
    raise AttributeError(f"module 'evalkit.metrics' has no attribute {name!r}")
