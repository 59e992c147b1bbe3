"""Fit the judge's suspicion model on the labelled set's calibration fold.

    .venv/bin/python bench/fit_suspicion.py [--out evalkit/judge/suspicion_model.json]

Needs SciPy (``pip install -e '.[bench]'``). Method: ingest the calibration fold of
reference/labelled/ (never the test fold), judge it as one corpus twice — with ``gloss`` alone and
with ``gloss`` + the set's independent translations (``file``) — and take every paragraph's
``judge.suspicion.FEATURES`` from both runs, labelled 1 for ``defect`` and 0 for ``clean``
(``minor`` paragraphs are left out: neither a defect to find nor a clean paragraph to spare). The
noisy-OR's weights and leak are the maximum a posteriori estimate (L-BFGS-B within [0, 1]), each
weight under a Beta prior with its mode at ``judge.suspicion.PRIOR`` and ``--prior-strength``
pseudo-paragraphs (the leak's mode at 1%); the strength is chosen by grouped 5-fold cross-validation
over documents (log-loss), so no document is in both halves of a split. The weights, the data they
came from and a version are written as JSON into the package.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from evalkit.judge import JudgeParams  # noqa: E402
from evalkit.judge.labelled import judge_fold, load_labelled  # noqa: E402
from evalkit.judge.suspicion import FEATURES, MODEL_FILE, PRIOR  # noqa: E402

SET = REPO / "reference" / "labelled"
GRID = (1.0, 2.0, 4.0, 8.0, 16.0)  # prior strengths, in pseudo-paragraphs
LEAK_PRIOR = 0.01


def neutral_model(path: Path) -> str:
    """A model with no evidence, for the runs that only collect features."""
    path.write_text(json.dumps({"version": "neutral", "features": list(FEATURES), "weights": [0.0] * len(FEATURES),
                                "leak": 0.0}), encoding="utf-8")
    return str(path)


def fit_noisy_or(x, y, strength: float):
    """MAP weights and leak of P = 1 − (1 − leak) Π (1 − w x) under Beta priors (see the docstring)."""
    import numpy as np
    from scipy.optimize import minimize

    modes = np.array([LEAK_PRIOR, *[PRIOR[k] for k in FEATURES]])
    a, b = 1.0 + strength * modes, 1.0 + strength * (1.0 - modes)
    eps = 1e-9

    def loss(theta):
        leak, w = theta[0], theta[1:]
        keep = (1.0 - leak) * np.prod(1.0 - x * w, axis=1)
        p = np.clip(1.0 - keep, eps, 1 - eps)
        ll = np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))
        prior = np.sum((a - 1) * np.log(np.clip(theta, eps, 1)) + (b - 1) * np.log(np.clip(1 - theta, eps, 1)))
        return -(ll + prior)

    result = minimize(loss, modes, method="L-BFGS-B", bounds=[(0.0, 0.999)] * len(modes))
    return result.x


def predict(theta, x):
    import numpy as np

    return 1.0 - (1.0 - theta[0]) * np.prod(1.0 - x * theta[1:], axis=1)


def training_rows(labelled, params: JudgeParams) -> tuple[list[tuple[float, ...]], list[int], list[str]]:
    """(features, label, document) for every clean or defective calibration paragraph, both setups."""
    records = labelled.fold("calibration")
    xs, ys, groups = [], [], []
    for with_file in (False, True):
        judged = judge_fold(records, labelled.hyps_dir, with_file=with_file, params=params)
        for r in records:
            label = labelled.labels[r.id]
            if label.label == "minor":
                continue
            xs.append(judged[r.id].features)
            ys.append(1 if label.defective else 0)
            groups.append(r.doc_id)
    return xs, ys, groups


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--out", type=Path, default=REPO / "evalkit" / "judge" / MODEL_FILE)
    args = ap.parse_args(argv)
    try:
        import numpy as np
        import scipy
    except ImportError:
        sys.exit("bench/fit_suspicion.py needs SciPy: pip install -e '.[bench]'")

    labelled = load_labelled(SET)
    with tempfile.TemporaryDirectory() as tmp:
        params = JudgeParams(suspicion_model=neutral_model(Path(tmp) / "neutral.json"))
        xs, ys, groups = training_rows(labelled, params)
    x, y = np.array(xs, dtype=float), np.array(ys, dtype=float)
    docs = sorted(set(groups))
    # Grouped folds: documents dealt round-robin in a seeded order, so a file is never in both halves.
    order = list(docs)
    np.random.default_rng(0).shuffle(order)
    fold_of = {d: k % 5 for k, d in enumerate(order)}
    folds = np.array([fold_of[g] for g in groups])
    scores = {}
    for strength in GRID:
        losses = []
        for k in range(5):
            train, held = folds != k, folds == k
            theta = fit_noisy_or(x[train], y[train], strength)
            p = np.clip(predict(theta, x[held]), 1e-9, 1 - 1e-9)
            losses.append(-np.mean(y[held] * np.log(p) + (1 - y[held]) * np.log(1 - p)))
        scores[strength] = float(np.mean(losses))
    best = min(GRID, key=lambda c: scores[c])
    theta = fit_noisy_or(x, y, best)
    digest = hashlib.sha256(json.dumps([xs, ys]).encode()).hexdigest()[:12]
    out = {
        "version": f"{dt.date.today():%Y.%m.%d}+{digest}",
        "features": list(FEATURES),
        "weights": [round(float(w), 6) for w in theta[1:]],
        "leak": round(float(theta[0]), 6),
        "fitted_on": {
            "set": "reference/labelled", "fold": "calibration", "documents": len(docs),
            "paragraphs": len(ys) // 2, "defects": int(sum(ys)) // 2, "setups": ["gloss", "gloss+file"],
            "rows": len(ys), "prior_strength": best, "cv_log_loss": {str(c): round(v, 4) for c, v in scores.items()},
            "features_digest": digest, "scipy": scipy.__version__,
        },
    }
    args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: prior strength {best}, {len(docs)} documents, {len(ys)} rows, {int(sum(ys))} defective")
    for name, w in zip(FEATURES, out["weights"]):
        print(f"  {name:18s} {w:.3f}  (prior {PRIOR[name]:.2f}, fires on {int((x[:, FEATURES.index(name)] > 0).sum())} rows)")
    print(f"  {'leak':18s} {out['leak']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
