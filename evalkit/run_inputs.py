"""The inputs the score and report stages stream (and ``evalkit compare`` reads): one survey
pass over a run's reference set, and each system's hypotheses looked up in lockstep with it.

Below the stages and the commands (it imports only records, the reference set reader and the
config), so ``evalkit.pipeline`` and ``evalkit.compare`` both use it without importing each other.
The memory model is ``evalkit.pipeline``'s docstring.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evalkit.config import RunConfig
from evalkit.errors import InputError
from evalkit.jsonl import iter_jsonl
from evalkit.layout import RunLayout
from evalkit.records import HypothesisRecord, id_hash, read_hypotheses
from evalkit.reference_set import check_unique_ids, iter_references


@dataclass
class ReferenceSurvey:
    """One pass over a reference set: its size, its unscorable paragraphs, and its ids' hashes
    in order (8 bytes per paragraph each; the ids themselves are not kept)."""

    path: Path
    paragraphs: int
    unscored: dict[str, str]  # id -> why it has no scores (1-0 and 0-1 beads: a minority)
    scored_hashes: Any  # numpy uint64 array, one per scored paragraph, in reference order
    id_hashes: Any  # numpy uint64 array, one per paragraph, in reference order


def kth_scored_id(path: Path, unscored: Mapping[str, str], k: int) -> str:
    """The ``k``-th scored paragraph's id (re-reads the file: for error messages)."""
    for r in iter_references(path):
        if r.id not in unscored:
            if k == 0:
                return r.id
            k -= 1
    raise IndexError(k)


def survey_references(path: Path) -> ReferenceSurvey:
    """Check a reference set (valid records, unique ids, not empty) in one streaming pass."""
    from array import array

    from evalkit.metrics.scoring import scorable

    hashes = array("Q")
    scored = array("Q")
    unscored: dict[str, str] = {}
    for r in iter_references(path):
        h = id_hash(r.id)
        hashes.append(h)
        reason = scorable(r.zh, r.en)
        if reason:
            unscored[r.id] = reason
        else:
            scored.append(h)
    if not hashes:
        raise InputError(path, "the reference set is empty; expected one JSON object per line")
    check_unique_ids(hashes, path)
    return ReferenceSurvey(path, len(hashes), unscored, np.frombuffer(scored, dtype=np.uint64).copy(),
                           np.frombuffer(hashes, dtype=np.uint64).copy())


class HypLookup:
    """One system's hypotheses, looked up paragraph by paragraph in reference order.

    Call ``begin()``, then ``get(id)`` once for *every* reference paragraph in order. When the
    file follows the reference order (what the translate stage writes) the records are read
    in lockstep and none is kept; otherwise they are loaded into a table, as before.
    """

    def __init__(self, path: Path, id_hashes: Any):
        """``id_hashes``: every reference paragraph's ``id_hash``, in reference order."""
        from evalkit.report.summary import HypsInfo

        self.path = path
        ref_hashes = iter(id_hashes)
        ordered = True
        first: str | None = None
        cached = truncated = 0
        for lineno, obj in iter_jsonl(path):
            h = HypothesisRecord.from_dict(obj, path, lineno)
            if first is None:
                first = h.system
            cached += h.cached
            truncated += h.truncated
            if ordered and id_hash(h.id) not in ref_hashes:  # consumes the reference up to it
                ordered = False  # an id out of order, repeated, or not in the reference
        self._by_id: dict[str, HypothesisRecord] | None = None
        if not ordered:
            self._by_id = {h.id: h for h in read_hypotheses(path)}
            records = list(self._by_id.values())
            first = records[0].system if records else None
            cached = sum(1 for h in records if h.cached)
            truncated = sum(1 for h in records if h.truncated)
        self.info = HypsInfo(first, cached, truncated)
        self._records: Iterator[HypothesisRecord] = iter(())
        self._next: HypothesisRecord | None = None

    def begin(self) -> None:
        if self._by_id is None:
            self._records = (HypothesisRecord.from_dict(obj, self.path, lineno) for lineno, obj in iter_jsonl(self.path))
            self._next = next(self._records, None)

    def get(self, paragraph_id: str) -> HypothesisRecord | None:
        if self._by_id is not None:
            return self._by_id.get(paragraph_id)
        if self._next is not None and self._next.id == paragraph_id:
            found = self._next
            self._next = next(self._records, None)
            return found
        return None


@dataclass
class RunInputs:
    """What the score stage, the report stage and the ci gate read from a run folder, opened once:
    the reference survey (a pass over reference.jsonl) and each system's hypothesis lookup (a pass
    over its hyps file, checked against the survey's id hashes)."""

    survey: ReferenceSurvey
    hyps: dict[str, HypLookup]


def open_run(config: RunConfig, layout: RunLayout) -> RunInputs:
    survey = survey_references(layout.reference)
    return RunInputs(survey, open_hyps(config, layout, survey.id_hashes))


def open_hyps(config: RunConfig, layout: RunLayout, id_hashes: Any = None) -> dict[str, HypLookup]:
    """Every configured system's hypotheses in the run folder, for lookups in reference order;
    ``id_hashes`` (``ReferenceSurvey.id_hashes``) saves a pass over the reference."""
    if id_hashes is None:
        id_hashes = np.fromiter((id_hash(r.id) for r in iter_references(layout.reference)), dtype=np.uint64)
    lookups = {}
    for system in config.systems:
        path = layout.hyps(system.name)
        if not path.exists():
            raise InputError(path, f"no hypotheses for system {system.name!r}; run `evalkit translate` or `evalkit run` first")
        lookups[system.name] = HypLookup(path, id_hashes)
    return lookups


# --- stages -------------------------------------------------------------------------------------
