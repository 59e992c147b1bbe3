"""Reference QE as judge evidence: the archive's English scored against its Chinese (issue 12).

With ``cometkiwi`` or ``labse`` configured, the score stage writes ``RUN/reference_qe.jsonl``
(``evalkit.metrics.neural``): for every scored paragraph, the reference-free score of (Chinese,
archive English) and, with LaBSE, each sentence's best match on the other side. No MT system is
involved, so this is evidence about the reference itself. The judge uses it like its length model
(``judge.core.CorpusModel``):

* the paragraph's score (CometKiwi where the run has it, else LaBSE: ``JudgeParams.qe_metrics``)
  as a robust z against the corpus's scores (median, MAD scale, learnt in pass 1 from the
  length-eligible paragraphs); ``low_qe`` flags at z ≤ −``JudgeParams.z_qe``;
* the sentence localisation: every sentence's best-match similarity, learnt the same way over all
  sentences of paragraph sides with at least two sentences. An English sentence whose best Chinese
  match is far below the corpus has no counterpart in the Chinese (an addition, a sentence of the
  neighbouring paragraph), a Chinese sentence with no English match was left out. The weakest such
  sentence is named in the flag's evidence (z ≤ −``z_qe_sentence_evidence``), and one far enough
  below (z ≤ −``z_qe_sentence``) raises ``low_qe`` on its own.

A run without reference QE gives the judge nothing here: not a feature, not a signal, the very same
judgements as before. This module is pure (no model, no file) except ``RunQE``, which reads a run
folder's reference_qe.jsonl in reference order for the report stage.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalkit.errors import InputError

if TYPE_CHECKING:
    from evalkit.metrics.neural import ReferenceQE, SentenceMatch

QE_METRICS: tuple[str, ...] = ("cometkiwi", "labse")  # as evalkit.metrics.neural.QE_METRICS (not imported: light)
QE_LABELS = {"cometkiwi": "CometKiwi", "labse": "LaBSE"}
SIDES = ("en", "zh")

# A paragraph's pass-1 QE numbers (part of ``judge.core.Features``): its scores by metric, and the
# best-match similarity of each English and each Chinese sentence (a side with fewer than two
# sentences gives none: its one sentence is the paragraph, which the score already judges).
QEFeatures = tuple[tuple[tuple[str, float], ...], tuple[float, ...], tuple[float, ...]]
NO_QE: QEFeatures = ((), (), ())


def _localised(matches: Sequence[SentenceMatch]) -> list[SentenceMatch]:
    """The sentences of one side whose localisation counts (see ``QEFeatures``)."""
    if len(matches) < 2:
        return []
    return [m for m in matches if m.similarity is not None and math.isfinite(m.similarity)]


def qe_features(qe: ReferenceQE | None) -> QEFeatures:
    """What pass 1 learns from one paragraph's ``ReferenceQE`` (None: nothing)."""
    if qe is None:
        return NO_QE
    scores = tuple((m, float(qe.scores[m])) for m in QE_METRICS
                   if m in qe.scores and math.isfinite(float(qe.scores[m])))
    loc = qe.sentences
    if loc is None:
        return scores, (), ()
    return (scores, tuple(float(m.similarity) for m in _localised(loc.en)),  # type: ignore[arg-type]
            tuple(float(m.similarity) for m in _localised(loc.zh)))  # type: ignore[arg-type]


def weakest_sentence(qe: ReferenceQE, side: str) -> SentenceMatch | None:
    """The sentence of ``side`` (``en`` or ``zh``) with the lowest best-match similarity, among
    those whose localisation counts (None: none does)."""
    if qe.sentences is None:
        return None
    found = _localised(qe.sentences.en if side == "en" else qe.sentences.zh)
    return min(found, key=lambda m: (m.similarity, m.index)) if found else None


def score_evidence(metric: str, score: float, median: float, z: float) -> str:
    """``CometKiwi 0.41 against a median of 0.78 (robust z -3.1)``."""
    return f"{QE_LABELS.get(metric, metric)} {score:.2f} against a median of {median:.2f} (robust z {z:+.1f})"


def sentence_evidence(side: str, match: SentenceMatch, median: float, z: float) -> str:
    """The localisation of one sentence with no counterpart on the other side, as evidence."""
    text = match.text if len(match.text) <= 60 else match.text[:60] + "…"
    if side == "en":
        what = f"English sentence {match.index + 1} {text!r} has no Chinese counterpart"
    else:
        what = f"Chinese sentence {match.index + 1} {text!r} has no English counterpart"
    return (f"{what} (its best LaBSE match {match.similarity:.2f} against a median of {median:.2f}, "
            f"robust z {z:+.1f})")


# --- a run folder's reference QE, for the report stage ---------------------------------------------


@dataclass(frozen=True)
class RunQE:
    """A run's reference_qe.jsonl, for the judge: only when the score stage that wrote the run's
    scores.meta.json wrote it too (its ``neural.reference_qe`` section), so that a file left by an
    earlier run with other metrics is never read."""

    path: Path
    metrics: tuple[str, ...]

    @classmethod
    def open(cls, root: str | Path, neural_meta: Mapping[str, Any] | None) -> RunQE | None:
        """The run's reference QE, or None when its scores have none. ``neural_meta``: the
        ``neural`` section of scores.meta.json (None: no neural metric was scored)."""
        section = (neural_meta or {}).get("reference_qe")
        if not section:
            return None
        path = Path(root) / str(section.get("file") or "reference_qe.jsonl")
        if not path.is_file():
            raise InputError(path, "scores.meta.json says the score stage wrote the reference QE here, but the file "
                                   "is missing; run `evalkit score` again")
        return cls(path, tuple(section.get("metrics") or ()))

    def lookup(self) -> QELookup:
        """A fresh walk through the file, in reference order (one per pass of the judge)."""
        return QELookup(self.path)


class QELookup:
    """reference_qe.jsonl read in lockstep with the reference: ``get(id)`` once for every *scored*
    paragraph, in reference order (the order the score stage wrote them in)."""

    def __init__(self, path: Path):
        from evalkit.metrics.neural import iter_reference_qe

        self.path = path
        self._records: Iterator[ReferenceQE] = iter_reference_qe(path)

    def get(self, paragraph_id: str) -> ReferenceQE:
        record = next(self._records, None)
        if record is None or record.id != paragraph_id:
            found = "the end of the file" if record is None else json.dumps(record.id, ensure_ascii=False)
            raise InputError(self.path, f"expected the reference QE of {paragraph_id}, found {found}: the file does "
                                        "not follow reference.jsonl (out of date); run `evalkit score` again")
        return record


__all__ = ["NO_QE", "QE_LABELS", "QE_METRICS", "QEFeatures", "QELookup", "RunQE", "qe_features", "score_evidence",
           "sentence_evidence", "weakest_sentence"]
