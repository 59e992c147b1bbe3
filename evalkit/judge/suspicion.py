"""Suspicion as a fitted probability: how likely the reference paragraph is defective.

The judge's evidence on a paragraph is a fixed vector of strengths in [0, 1] (``FEATURES``,
``feature_vector``: one per kind of evidence, 0 when absent, and the paragraph's length, since a
long paragraph has more room for a defect that no check sees), combined as independent causes — a
noisy-OR:

    P(defective) = 1 − (1 − leak) · Π_k (1 − w_k · x_k)

Each weight ``w_k`` is the probability that evidence k at full strength reveals a real defect; the
leak is the rate of defects no evidence points at, whatever the length (the ``length`` term carries
the part that grows with the text, and on the calibration fold took all of it). The weights are
*fitted*, not set: maximum a posteriori on the calibration fold of the labelled real-defect set (``reference/labelled/``, by
``bench/fit_suspicion.py``; never on its test fold), each weight under a weak Beta prior centred on
the earlier hand-set value (``PRIOR``, worth a few paragraphs), so that evidence the fold rarely
shows (a changed count, Chinese left in the English) is not left at zero by a small sample. A noisy-OR
rather than a logistic regression because evidence only ever adds suspicion: a small sample cannot
turn a flag into a reason for trust.

``low_qe`` (judge.qe: the reference-free QE of the archive's English against its Chinese, far below
the corpus) is evidence only where a run has reference QE (``cometkiwi`` or ``labse`` configured).
The calibration fold is judged without any neural model (the fit must run offline, in seconds), so
that feature never fires there and its fitted weight stays at its prior, ``PRIOR["low_qe"]`` — a
modest one, as CometKiwi and LaBSE also score a faithful but free translation low. That is
expected, not a failed fit; refit once the labelled set is judged with a real QE model.

The fitted model ships with the package as ``suspicion_model.json`` (version, data, weights).
Applying it needs no dependency — a product — so the default run stays offline and fast. Because
it is fitted to labels ("an archivist should fix this paragraph"), ``suspicion ≥ 0.5`` reads as
"more likely defective than not", and the report's threshold and the CI gate's ``max_suspicious``
count paragraphs by that probability.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalkit.errors import InputError

if TYPE_CHECKING:
    from evalkit.judge.core import Flag
    from evalkit.records import ReferenceRecord

# The kinds of evidence, each a strength in [0, 1], and the prior weight of each (the hand-set
# weights this model replaced, judge.core's docstring).
PRIOR: dict[str, float] = {
    "untranslated": 0.95,     # Chinese characters left in the English (strength grows with their share)
    "no_english": 0.9,        # a body paragraph with no English at all (0-1 bead, not a repeated headline)
    "number_conflict": 0.8,   # a quantity with another value in the English
    "number_missing": 0.3,    # a quantity the English does not state (0.25 a small count, 0.6 a date or large)
    "dateline_missing": 0.55,  # a news-agency dateline or source line the English does not name
    "cut_short": 0.7,         # the English stops mid-sentence, or is a broken-off fragment
    "document_short": 0.5,    # the whole document's English far shorter than its Chinese predicts
    "name_near": 0.65,        # a pinyin name misspelling a run of the Chinese (沈兹九 → "Shen Ziqing")
    "name_unmatched": 0.5,    # a pinyin name no run of the Chinese reads like
    "omission": 0.75,         # English shorter than predicted (flag strength from the robust z)
    "addition": 0.6,          # English longer / a sentence no output carries (flag strength)
    "sentence_addition": 0.5,  # an English sentence with no dictionary support in the Chinese
    "sentence_omission": 0.5,  # a Chinese sentence the English renders none of
    "bead_unmatched": 0.6,    # a 1-0 bead: English with no Chinese counterpart
    "bead_merged": 0.3,       # 2-1, 1-2, 3-1, 1-3 beads
    "align_cost": 0.6,        # a 1-1 bead the aligner found costly (flag strength)
    "all_low": 0.35,          # every system's chrF an outlier at once (flag strength)
    "consensus": 0.6,         # the systems agree with each other far better than with the reference
    "length": 0.1,            # the Chinese paragraph's length (characters / LENGTH_SCALE, at most 1): a
                              # defect no check sees (a changed name, a mistranslated term) has more room
                              # in a long paragraph; on the calibration fold the unflagged paragraphs of
                              # 400+ characters were defective ten times as often as those under 50
    "low_qe": 0.3,            # reference QE (CometKiwi / LaBSE of Chinese and archive English) far below the
                              # corpus, or a sentence with no counterpart (judge.qe); never in the fit: stays here
}
FEATURES: tuple[str, ...] = tuple(PRIOR)
LENGTH_SCALE = 500  # Chinese characters at which the ``length`` feature saturates


def feature_vector(ref: ReferenceRecord, flags: Sequence[Flag]) -> tuple[float, ...]:
    """The reference-side evidence of a paragraph's flags as ``FEATURES`` strengths."""
    x = dict.fromkeys(FEATURES, 0.0)

    def put(name: str, value: float) -> None:
        x[name] = max(x[name], min(1.0, max(0.0, value)))

    for f in flags:
        if f.system is not None or f.name == "truncated_hypothesis":
            continue
        if f.name == "untranslated":
            put("no_english" if not ref.en.strip() else "untranslated", f.strength)
        elif f.name == "number_mismatch":
            put("number_conflict", f.strength)
        elif f.name == "name_mismatch":
            put("name_near" if f.strength >= 1.0 else "name_unmatched", 1.0)
        elif f.name == "alignment":
            if ref.bead == "1-0":
                put("bead_unmatched", f.strength)
            elif ref.bead != "1-1":
                put("bead_merged", 1.0)
            else:
                put("align_cost", f.strength)
        elif f.name == "low_score":
            put("all_low", f.strength)
        elif f.name in x:
            put(f.name, f.strength)
    x["length"] = min(1.0, len(ref.zh) / LENGTH_SCALE)
    return tuple(x[k] for k in FEATURES)


@dataclass(frozen=True)
class SuspicionModel:
    """A fitted noisy-OR over ``FEATURES``: P = 1 − (1 − leak) · Π (1 − w_k x_k)."""

    version: str
    features: tuple[str, ...]
    weights: tuple[float, ...]
    leak: float
    fitted_on: Mapping[str, Any]

    def probability(self, x: Sequence[float]) -> float:
        keep = 1.0 - self.leak
        for w, v in zip(self.weights, x, strict=True):
            keep *= 1.0 - w * v
        return 1.0 - keep

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "features": list(self.features), "weights": list(self.weights),
                "leak": self.leak, "fitted_on": dict(self.fitted_on)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str) -> SuspicionModel:
        try:
            features = tuple(data["features"])
            weights = tuple(float(c) for c in data["weights"])
            model = cls(str(data["version"]), features, weights, float(data["leak"]), dict(data.get("fitted_on", {})))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(where, f"not a suspicion model (version, features, weights, leak): {exc}") from None
        if features != FEATURES or len(weights) != len(FEATURES):
            raise InputError(where, f"the model's features {list(features)} are not this evalkit's {list(FEATURES)}; "
                                    "refit it with bench/fit_suspicion.py")
        if not all(0.0 <= w <= 1.0 for w in (*weights, model.leak)):
            raise InputError(where, "weights and leak must be probabilities in [0, 1]")
        return model


MODEL_FILE = "suspicion_model.json"


@functools.lru_cache(maxsize=8)
def load_model(path: str | None = None) -> SuspicionModel:
    """The packaged model, or the one at ``path`` (a JSON file written by bench/fit_suspicion.py)."""
    if path is None:
        text = resources.files("evalkit.judge").joinpath(MODEL_FILE).read_text(encoding="utf-8")
        where = f"evalkit/judge/{MODEL_FILE}"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(path, f"cannot read the suspicion model: {exc.strerror}") from None
        where = path
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(where, f"not JSON: {exc.msg}", exc.lineno) from None
    return SuspicionModel.from_dict(data, where)
