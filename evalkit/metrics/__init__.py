"""sacrebleu scores per paragraph and per corpus, bootstrap CIs and paired significance.

Nothing here re-implements a metric: every number comes from sacrebleu's own metric
classes; this package only shards the per-segment work across processes and sums the
sufficient statistics the way ``corpus_score`` does.
"""

from evalkit.metrics.scoring import (
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
