"""The labelled real-defect set (reference/labelled/): archive files with per-paragraph labels.

``load_labelled(root)`` ingests the set's archive copies with evalkit's own parser and aligner and
attaches each record's label (``clean``, ``minor`` or ``defect``, with typed defects) and fold
(``calibration`` or ``test``, fixed by document). ``judge_fold`` runs the judge on one fold the
way a user's run would — the offline ``gloss`` baseline, optionally with the set's independent
translations as a ``file`` system, chrF from sacrebleu — so that the suspicion model is fitted
(bench/fit_suspicion.py) and measured (bench/bench_judge.py) on the same evidence.
The set's README gives the labelling rules.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from evalkit.errors import InputError
from evalkit.records import ReferenceRecord

LABELS = ("clean", "minor", "defect")
DEFECT_TYPES = ("omission", "truncation", "dateline", "number", "name", "meaning", "addition", "untranslated",
                "misalignment")
FOLDS = ("calibration", "test")


@dataclass(frozen=True, slots=True)
class Label:
    """What a person found in one paragraph of the archive's English."""

    label: str
    types: tuple[str, ...] = ()
    evidence: str = ""
    aligner_error: bool = False

    @property
    def defective(self) -> bool:
        return self.label == "defect"


@dataclass
class LabelledSet:
    records: list[ReferenceRecord]
    labels: dict[str, Label]  # paragraph id → label
    fold_of: dict[str, str]  # document id → fold
    summary_of: dict[str, str]  # document id → the file's defects in one line ("none")
    hyps_dir: Path
    files: dict[str, Path] = field(default_factory=dict)  # document id → archive copy
    unfinished: list[Path] = field(default_factory=list)  # drawn files not yet (fully) labelled

    def fold(self, name: str) -> list[ReferenceRecord]:
        if name not in FOLDS:
            raise ValueError(f"fold must be one of {FOLDS}, got {name!r}")
        return [r for r in self.records if self.fold_of[r.doc_id] == name]


def _read_label(path: Path, ids: Sequence[str], zh: Sequence[str]) -> tuple[dict[str, Label], str]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(path, f"cannot read the labels: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not JSON: {exc.msg}", exc.lineno) from None
    paragraphs = doc.get("paragraphs")
    if not isinstance(paragraphs, list):
        raise InputError(path, "expected a 'paragraphs' list")
    labelled = [p.get("id") for p in paragraphs]
    if labelled != list(ids):
        missing = [i for i in ids if i not in labelled][:3]
        extra = [i for i in labelled if i not in ids][:3]
        raise InputError(path, f"the labelled ids are not the ids ingest gives this file now "
                               f"(unlabelled: {missing}, unknown: {extra}); relabel with bench/labelled_tool.py")
    out = {}
    for k, (p, start) in enumerate(zip(paragraphs, zh, strict=True)):
        where = f"paragraph {k} ({p['id']})"
        if p.get("zh_start") != start[:8]:
            raise InputError(path, f"{where}: zh_start {p.get('zh_start')!r} but the paragraph starts {start[:8]!r}")
        label = p.get("label")
        if label not in LABELS:
            raise InputError(path, f"{where}: label must be one of {LABELS}, got {label!r}")
        defects = p.get("defects") or []
        types = tuple(d.get("type") for d in defects)
        if any(t not in DEFECT_TYPES for t in types):
            raise InputError(path, f"{where}: defect types must be among {DEFECT_TYPES}, got {list(types)}")
        evidence = "; ".join(str(d.get("evidence", "")) for d in defects)
        out[p["id"]] = Label(label, types, evidence, bool(p.get("aligner_error", False)))
    return out, str(doc.get("summary", ""))


def load_labelled(root: str | Path) -> LabelledSet:
    """Ingest the set at ``root`` and attach its labels and folds (errors name the file)."""
    from evalkit.corpus import align_article, parse_article

    root = Path(root)
    rows = []
    for sample in sorted((root / "sample").glob("*.tsv")):
        with sample.open(encoding="utf-8", newline="") as fh:
            for n, row in enumerate(csv.DictReader(fh, delimiter="\t"), 2):
                if row.get("fold") not in FOLDS or not row.get("file"):
                    raise InputError(sample, f"expected a 'file' and a fold in {FOLDS}", n)
                rows.append(row)
    if not rows:
        raise InputError(root / "sample", "no sampled files (sample/*.tsv)")
    records: list[ReferenceRecord] = []
    labels: dict[str, Label] = {}
    fold_of: dict[str, str] = {}
    summary_of: dict[str, str] = {}
    files: dict[str, Path] = {}
    excluded = set()
    deviations = root / "DEVIATIONS.tsv"
    if deviations.exists():
        with deviations.open(encoding="utf-8", newline="") as fh:
            excluded = {row["file"] for row in csv.DictReader(fh, delimiter="\t") if row.get("status") == "excluded"}
    unfinished = []
    for row in rows:
        if row["file"] in excluded:
            continue  # drawn, but left out for the reason DEVIATIONS.tsv gives
        article = root / "articles" / row["file"]
        label_file = root / "labels" / (Path(row["file"]).stem + ".json")
        if not article.exists() or not label_file.exists() or '"label": "?"' in label_file.read_text(encoding="utf-8"):
            # Drawn but not yet copied and labelled (a skeleton still holds "?"): counted, not used.
            unfinished.append(article)
            continue
        recs = align_article(parse_article(article))
        doc_labels, summary = _read_label(label_file, [r.id for r in recs], [r.zh for r in recs])
        records += recs
        labels.update(doc_labels)
        doc_id = recs[0].doc_id
        fold_of[doc_id] = row["fold"]
        summary_of[doc_id] = summary
        files[doc_id] = article
    return LabelledSet(records, labels, fold_of, summary_of, root / "hyps", files, unfinished)


def judge_fold(records: Sequence[ReferenceRecord], hyps_dir: Path | None, *, with_file: bool,
               params=None) -> dict:
    """Judge ``records`` as one corpus with ``gloss`` (and the set's ``file`` translations):
    ``{paragraph id: Judgement}``."""
    from evalkit.config import SystemConfig
    from evalkit.judge.core import JudgeParams, judge
    from evalkit.metrics import score_pairs
    from evalkit.records import HypothesisRecord
    from evalkit.systems.base import Segment, create_system

    configs = [SystemConfig(name="gloss", backend="gloss")]
    if with_file:
        if hyps_dir is None:
            raise ValueError("with_file needs the set's hyps folder")
        configs.append(SystemConfig(name="file", backend="file", path=str(hyps_dir), key="zh", allow_missing=True))
    hyps: dict[str, dict[str, HypothesisRecord]] = {}
    for cfg in configs:
        with create_system(cfg) as system:
            out = system.translate([Segment(r.id, r.zh) for r in records])
        hyps[cfg.name] = {r.id: HypothesisRecord(r.id, system.fingerprint, t.hyp, t.chunks, t.truncated)
                          for r, t in zip(records, out, strict=True) if t.hyp}
    scored = [r for r in records if r.en.strip() and r.zh.strip()]
    chrf: dict[str, dict[str, float]] = {}
    for name, by_id in hyps.items():
        rows = [r for r in scored if r.id in by_id]
        segs = score_pairs([(by_id[r.id].hyp, r.en) for r in rows], ["chrf"], workers=1)
        chrf[name] = {r.id: s.scores["chrf"] for r, s in zip(rows, segs, strict=True)}
    return {j.id: j for j in judge(records, hyps, chrf, params or JudgeParams())}
