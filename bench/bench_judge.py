"""Measure the divergence judge on the labelled real-defect set, on injected defects, and on the
corpus's verified defects.

    .venv/bin/python bench/bench_judge.py [--quick] [--only labelled|injected] [--qe-model PATH [--qe-encoder PATH]]

Labelled set (reference/labelled/, its README has the rules): the test fold — documents the
suspicion model was not fitted on — judged as one corpus with ``gloss`` alone and with ``gloss`` +
the set's independent translations (``file``). Positives are paragraphs labelled ``defect``,
negatives those labelled ``clean`` (``minor`` ones are reported apart). Per defect type and overall:
AUROC of ``suspicion``, precision and recall at 0.5, the share of clean paragraphs at ≥ 0.5, and the
document-level AUROC (documents with a defect against clean documents, by their highest suspicion).
The calibration fold's figures are shown beside them for reference only (the model was fitted
there). Also: how often the name check abstains (a foreign name or context).

Injected defects:

Method: ingest tests/data/corpus/articles (the real aligner), translate once with the offline
``gloss`` and read the ``file`` system from tests/data/corpus/hyps (hypotheses depend only on the
Chinese, which the defects never touch). For each defect type, damage a seeded random sample of
clean body paragraphs (1-1 beads, ≥ 20 Chinese characters, in documents whose MANIFEST defect
is ``none``), rescore chrF and rerun the judge on the whole corpus; positives are the damaged
paragraphs, negatives every other clean paragraph. Report AUROC of ``suspicion`` and precision /
recall at the default fault threshold (0.5) and at ``gates.suspicion_threshold`` (0.8), with
``gloss`` alone and with ``gloss`` + ``file``. Writes bench/results/judge.md.

Reference QE (issue 12, judge.qe): the same runs again with the reference QE of every scored
paragraph (its Chinese against its damaged or intact English) given to the judge, rows ``… +qe``.
By default the QE comes from tiny *random-weight* CometKiwi and LaBSE models built offline as
tests/tiny_models.py builds them: their scores carry no information, so these rows show that an
uninformative QE model leaves the judge no worse (AUROC, precision, clean paragraphs flagged), not
that QE helps. ``--qe-model PATH`` scores with a real model instead: a CometKiwi folder in
unbabel-comet's layout (checkpoints/model.ckpt + hparams.yaml; ``--qe-encoder PATH``: a local copy
of the encoder its hparams.yaml names, offline) or a sentence-transformers (LaBSE) folder; give it
twice for both. Needs the neural extra (``pip install 'evalkit[neural]'`` and the --no-deps
unbabel-comet); without it the QE rows say so.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import platform
import random
import re
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from evalkit.config import SystemConfig  # noqa: E402
from evalkit.corpus import ingest_paths  # noqa: E402
from evalkit.judge import JudgeParams, judge  # noqa: E402
from evalkit.metrics import score_pairs  # noqa: E402
from evalkit.records import HypothesisRecord, ReferenceRecord  # noqa: E402
from evalkit.systems.base import Segment, create_system  # noqa: E402

CORPUS = REPO / "tests" / "data" / "corpus"
LABELLED = REPO / "reference" / "labelled"
OUT = REPO / "bench" / "results" / "judge.md"
_SENT = re.compile(r"(?<=[.!?])[\"”’)]?\s+")
NAMES = ["Zhou Enlai", "Liu Shaoqi", "Zhu De", "Chen Yi", "He Long", "Peng Dehuai"]
INVENTED = " The meeting closed amid warm applause after the delegates adopted a resolution of thanks."


def _sentences(text: str) -> list[str]:
    return [s for s in _SENT.split(text) if s.strip()]


# Each defect: (ref, next_ref_in_doc) -> damaged English, or None when the paragraph does not qualify.
def truncate(r, nxt):
    return r.en[: len(r.en) // 2].rstrip() if len(r.en) > 60 else None


def drop_sentence(r, nxt):
    s = _sentences(r.en)
    if len(s) < 2:
        return None
    k = max(range(len(s)), key=lambda i: len(s[i]))
    return " ".join(s[:k] + s[k + 1:])


def shift(r, nxt):
    return nxt.en if nxt is not None and nxt.en and nxt.en != r.en else None


def untranslated(r, nxt):
    return r.zh.replace("\n", "")


def change_number(r, nxt):
    m = re.search(r"\b(\d+)\b", r.en)
    if m:
        return r.en[: m.start()] + str(int(m.group(1)) + 10) + r.en[m.end():]
    m = re.search(r"\b(January|February|March|April|May|June|July|August|September|October|November|December) (\d{1,2})\b", r.en)
    if m:
        return r.en[: m.start(2)] + str(int(m.group(2)) % 28 + 1) + r.en[m.end(2):]
    return None


def drop_dateline(r, nxt):
    if "新华社" not in r.zh:
        return None
    out = re.sub(r"\(?\b(?:According to )?(?:the )?(?:Xinhua(?: News Agency)?|New China News Agency|NCNA)\b[^.—:-]{0,40}[.—:-]\)?\s*",
                 "", r.en, count=1, flags=re.I)
    return out if out != r.en else None


def add_sentence(r, nxt):
    return r.en + INVENTED


def swap_name(r, nxt):
    m = re.search(r"\b([A-Z][a-z]+ [A-Z][a-z]+(?:[a-z']*))\b", r.en[1:])
    if not m:
        return None
    name = m.group(1)
    other = next(n for n in NAMES if n != name)
    return r.en.replace(name, other, 1)


DEFECTS = {"truncate": truncate, "drop_sentence": drop_sentence, "shift": shift, "untranslated": untranslated,
           "change_number": change_number, "drop_dateline": drop_dateline, "add_sentence": add_sentence,
           "swap_name": swap_name}


def auroc(pos: list[float], neg: list[float]) -> float:
    """Probability that a random positive outranks a random negative (ties count half)."""
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def pr(pos: list[float], neg: list[float], threshold: float) -> tuple[float, float]:
    tp = sum(p >= threshold for p in pos)
    fp = sum(n >= threshold for n in neg)
    precision = tp / (tp + fp) if tp + fp else float("nan")
    return precision, tp / len(pos) if pos else float("nan")


def labelled_section() -> list[str]:
    """The labelled set's figures (see the module docstring)."""
    from evalkit.judge.labelled import DEFECT_TYPES, judge_fold, load_labelled

    started = time.perf_counter()
    labelled = load_labelled(LABELLED)
    folds = {}
    for fold in ("test", "calibration"):
        records = labelled.fold(fold)
        folds[fold] = (records, {setup: judge_fold(records, labelled.hyps_dir, with_file=setup == "gloss+file")
                                 for setup in ("gloss", "gloss+file")})
    docs = sorted({r.doc_id for r in labelled.records})
    n_files = {f: sum(labelled.fold_of[d] == f for d in docs) for f in ("test", "calibration")}
    count = {f: {k: sum(labelled.labels[r.id].label == k for r in folds[f][0]) for k in ("clean", "minor", "defect")}
             for f in folds}
    lines = ["## Divergence judge on the labelled real-defect set", "",
             f"- Machine: {os.cpu_count()} CPUs, Python {platform.python_version()} ({platform.machine()})",
             f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
             "- Command: `.venv/bin/python bench/bench_judge.py --only labelled`",
             f"- Set: `reference/labelled/`, {len(docs)} archive files drawn at random from 18 years of 1946–1968 "
             f"(the index holds none of 1961–1965), labelled paragraph by paragraph"
             + (f"; {len(labelled.unfinished)} drawn files not yet labelled, left out" if labelled.unfinished else "")
             + ".",
             f"- Test fold: {n_files['test']} files, {count['test']['defect']} defective / {count['test']['clean']} clean "
             f"paragraphs ({count['test']['minor']} minor, reported apart); calibration fold (the suspicion model "
             f"was fitted there): {n_files['calibration']} files, {count['calibration']['defect']} / "
             f"{count['calibration']['clean']} ({count['calibration']['minor']} minor).",
             "- Positives: `defect` paragraphs; negatives: `clean` ones. Document AUROC: files with a defect "
             "against files whose paragraphs are all clean, by the file's highest suspicion.", ""]
    lines += ["| fold | systems | AUROC | P@0.5 | R@0.5 | clean ≥ 0.5 | minor ≥ 0.5 | document AUROC | documents (defective/clean) |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    per_type: list[str] = []
    aligned_rows: list[str] = []
    for fold, (records, runs) in folds.items():
        for setup, js in runs.items():
            pos = [js[r.id].suspicion for r in records if labelled.labels[r.id].defective]
            neg = [js[r.id].suspicion for r in records if labelled.labels[r.id].label == "clean"]
            minor = [js[r.id].suspicion for r in records if labelled.labels[r.id].label == "minor"]
            p50, r50 = pr(pos, neg, 0.5)
            by_doc: dict[str, list] = {}
            for r in records:
                by_doc.setdefault(r.doc_id, []).append(r)
            dpos = [max(js[r.id].suspicion for r in rs) for rs in by_doc.values()
                    if any(labelled.labels[r.id].defective for r in rs)]
            dneg = [max(js[r.id].suspicion for r in rs) for rs in by_doc.values()
                    if all(labelled.labels[r.id].label == "clean" for r in rs)]
            clean_share = sum(n >= 0.5 for n in neg) / len(neg) if neg else float("nan")
            minor_share = f"{sum(m >= 0.5 for m in minor)}/{len(minor)}"
            lines.append(f"| {fold} | {setup} | {auroc(pos, neg):.3f} | {p50:.2f} | {r50:.2f} | "
                         f"{clean_share:.1%} ({sum(n >= 0.5 for n in neg)}/{len(neg)}) | {minor_share} | "
                         f"{auroc(dpos, dneg):.3f} | {len(dpos)}/{len(dneg)} |")
            # The same without the paragraphs evalkit's own aligner paired wrongly (labelled
            # aligner_error: the file's paragraphs correspond, the pairing does not): what the judge
            # does where the alignment is right. Shown beside the full figures, never instead.
            kept = [r for r in records if not labelled.labels[r.id].aligner_error]
            apos = [js[r.id].suspicion for r in kept if labelled.labels[r.id].defective]
            aneg = [js[r.id].suspicion for r in kept if labelled.labels[r.id].label == "clean"]
            ap50, ar50 = pr(apos, aneg, 0.5)
            aligned_rows.append(f"| {fold} | {setup} | {auroc(apos, aneg):.3f} | {ap50:.2f} | {ar50:.2f} | "
                                f"{sum(n >= 0.5 for n in aneg) / len(aneg):.1%} ({sum(n >= 0.5 for n in aneg)}/{len(aneg)}) | "
                                f"{len(records) - len(kept)} |")
            if fold != "test":
                continue
            for kind in DEFECT_TYPES:
                tpos = [js[r.id].suspicion for r in records
                        if labelled.labels[r.id].defective and kind in labelled.labels[r.id].types]
                if not tpos:
                    continue
                flags: dict[str, int] = {}
                for r in records:
                    if labelled.labels[r.id].defective and kind in labelled.labels[r.id].types:
                        for f in {f.name for f in js[r.id].flags}:
                            flags[f] = flags.get(f, 0) + 1
                top = ", ".join(f"{k} {v}" for k, v in sorted(flags.items(), key=lambda kv: (-kv[1], kv[0]))[:3])
                per_type.append(f"| {setup} | {kind} | {len(tpos)} | {auroc(tpos, neg):.3f} | "
                                f"{sum(p >= 0.5 for p in tpos) / len(tpos):.2f} | {top or '—'} |")
    lines += ["", "The same without the paragraphs evalkit's aligner paired wrongly although the file's own paragraphs "
              "correspond (labelled `aligner_error`; their flags are about evalkit's pairing, not the archive's English):",
              "", "| fold | systems | AUROC | P@0.5 | R@0.5 | clean ≥ 0.5 | left out |", "| --- | --- | --- | --- | --- | --- | --- |",
              *aligned_rows]
    lines += ["", "Test fold by defect type (a paragraph with several types counts in each; AUROC against all "
              "clean paragraphs):", "", "| systems | defect type | n | AUROC | R@0.5 | flags on them |",
              "| --- | --- | --- | --- | --- | --- |", *per_type]
    unmatched = abstained = 0
    for records, runs in folds.values():
        for r in records:
            sig = runs["gloss"][r.id].signals
            unmatched += int(sig.get("names_unmatched") or 0)
            abstained += int(sig.get("names_abstained") or 0)
    lines += ["", f"Name check, both folds: {unmatched} pinyin-shaped English names matched no run of the Chinese; "
              f"the check abstained on {abstained} of them ({abstained / unmatched:.0%}: a foreign context, a "
              f"transliterated foreign name, or characters that start with no surname) and judged the rest." if unmatched else "",
              f"Wall time: {time.perf_counter() - started:.1f} s", ""]
    return lines


class ReferenceQESource:
    """The reference QE of (Chinese, English) pairs for the judge, from the tiny random-weight
    models (default) or the user's ``--qe-model`` folders; cached by text, so each damaged
    variant costs only its own new pairs."""

    def __init__(self, work: Path, qe_models: list[str] | None, qe_encoder: str | None):
        import importlib.util

        from evalkit.config import NeuralConfig, NeuralMetricOptions

        self.cache = work / "qe.sqlite"
        self.error = None
        if importlib.util.find_spec("comet") is None or importlib.util.find_spec("sentence_transformers") is None:
            self.error = "not measured: the neural extra is not installed (unbabel-comet, sentence-transformers)"
            return
        options: dict[str, NeuralMetricOptions] = {}
        if qe_models:
            for path in qe_models:
                folder = Path(path).expanduser()
                if (folder / "checkpoints" / "model.ckpt").is_file() or folder.suffix == ".ckpt":
                    options["cometkiwi"] = NeuralMetricOptions(model=str(folder), encoder=qe_encoder, batch_size=16)
                else:
                    options["labse"] = NeuralMetricOptions(model=str(folder), batch_size=64)
            self.what = "the given model(s): " + ", ".join(f"{m} `{o.model}`" for m, o in options.items())
        else:
            sys.path.insert(0, str(REPO / "tests"))
            import tiny_models

            encoder = tiny_models.build_xlmr_encoder(work / "encoder")
            options = {"cometkiwi": NeuralMetricOptions(model=str(tiny_models.build_comet(work / "kiwi", encoder,
                                                                                           "cometkiwi")),
                                                        batch_size=16, device="cpu"),
                       "labse": NeuralMetricOptions(model=str(tiny_models.build_sentence_transformer(work / "labse",
                                                                                                     encoder)),
                                                    batch_size=64, device="cpu")}
            self.what = ("tiny random-weight CometKiwi and LaBSE models (tests/tiny_models.py: an XLM-R encoder of "
                         "2 layers, hidden 32): uninformative by construction")
        self.metrics = [m for m in ("cometkiwi", "labse") if m in options]
        self.config = NeuralConfig(**options)

    def __call__(self, records: list[ReferenceRecord]) -> dict:
        from evalkit.metrics.neural import score_reference_qe
        from evalkit.metrics.scoring import scorable

        scored = [r for r in records if scorable(r.zh, r.en) is None]
        found = score_reference_qe([(r.zh, r.en) for r in scored], self.config, metrics=self.metrics,
                                   cache=self.cache, ids=[r.id for r in scored], progress=False)
        return {q.id: q for q in found}


class NoiseQE:
    """Uninformative reference QE with a realistic spread: each pair's CometKiwi, LaBSE and sentence
    similarities drawn from normal distributions (CometKiwi 0.78 ± 0.05, LaBSE 0.85 ± 0.04, sentence
    matches 0.80 ± 0.06) seeded by the pair's texts. The tiny random-weight models give all pairs
    nearly the same score, which the judge's scale floor keeps from ever flagging; this is the harder
    case of an uninformative model whose scores do vary (rows `+noise`)."""

    what = "seeded noise with a realistic spread (CometKiwi 0.78 ± 0.05, LaBSE 0.85 ± 0.04, sentences 0.80 ± 0.06)"

    def __call__(self, records: list[ReferenceRecord]) -> dict:
        import hashlib

        from evalkit.metrics.neural import ReferenceQE, SentenceLocalisation, SentenceMatch, split_sentences
        from evalkit.metrics.scoring import scorable

        out = {}
        for r in records:
            if scorable(r.zh, r.en) is not None:
                continue
            rng = random.Random(hashlib.sha256(f"{r.zh}\0{r.en}".encode()).hexdigest())
            zh_s, en_s = split_sentences(r.zh, "zh"), split_sentences(r.en, "en")
            loc = SentenceLocalisation(
                en=tuple(SentenceMatch(i, t, 0, rng.gauss(0.80, 0.06)) for i, t in enumerate(en_s)),
                zh=tuple(SentenceMatch(i, t, 0, rng.gauss(0.80, 0.06)) for i, t in enumerate(zh_s)))
            out[r.id] = ReferenceQE(r.id, {"cometkiwi": rng.gauss(0.78, 0.05), "labse": rng.gauss(0.85, 0.04)}, {}, loc)
        return out


def injected_section(quick: bool, per_defect: int, qe_models: list[str] | None = None,
                     qe_encoder: str | None = None) -> list[str]:
    import tempfile

    per_defect = 4 if quick else per_defect
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="evalkit-bench-judge-"))
    qe_source = ReferenceQESource(work, qe_models, qe_encoder)

    manifest = {row["repo_path"].split("/")[-1]: row["defect"]
                for row in csv.DictReader((CORPUS / "MANIFEST.tsv").open(encoding="utf-8"), delimiter="\t")}
    refs: list[ReferenceRecord] = ingest_paths([CORPUS / "articles"]).records
    source_of = {r.id: str(r.meta.get("source", "")) for r in refs}

    def manifest_defect(r: ReferenceRecord) -> str:
        src = source_of[r.id].split("__")[-1]
        return manifest.get(src, "none")

    with create_system(SystemConfig(name="gloss", backend="gloss")) as gloss:
        out = gloss.translate([Segment(r.id, r.zh) for r in refs])
    hyps_gloss = {r.id: HypothesisRecord(r.id, gloss.fingerprint, t.hyp) for r, t in zip(refs, out, strict=True)}
    file_cfg = SystemConfig(name="file", backend="file", path=str(CORPUS / "hyps"), key="zh", allow_missing=True)
    with create_system(file_cfg) as fsys:
        out = fsys.translate([Segment(r.id, r.zh) for r in refs])
    hyps_file = {r.id: HypothesisRecord(r.id, fsys.fingerprint, t.hyp) for r, t in zip(refs, out, strict=True)}
    setups = {"gloss": {"gloss": hyps_gloss}, "gloss+file": {"gloss": hyps_gloss, "file": hyps_file}}

    by_doc: dict[str, list[ReferenceRecord]] = {}
    for r in refs:
        by_doc.setdefault(r.doc_id, []).append(r)
    nxt = {}
    for doc in by_doc.values():
        for a, b in zip(doc, doc[1:] + [None]):
            nxt[a.id] = b if b is not None and b.kind == "body" and b.en else None
    clean = [r for r in refs if r.kind == "body" and r.bead == "1-1" and len(r.zh) >= 20 and r.en.strip()
             and manifest_defect(r) == "none"]
    params = JudgeParams()

    def run_judge(records, setup, qe=None):
        pairs = [(h[r.id].hyp, r.en) for h in setup.values() for r in records if r.en.strip() and r.zh.strip()]
        ids = [r.id for r in records if r.en.strip() and r.zh.strip()]
        segs = score_pairs(pairs, ["chrf"], workers=None)
        chrf = {}
        for k, name in enumerate(setup):
            chrf[name] = {i: s.scores["chrf"] for i, s in zip(ids, segs[k * len(ids):(k + 1) * len(ids)], strict=True)}
        return {j.id: j for j in judge(records, setup, chrf, params, qe=qe)}

    with_qe = qe_source.error is None
    spread = ""
    sources = {"+qe": qe_source, "+noise": NoiseQE()} if with_qe else {"+noise": NoiseQE()}
    qe_seconds = 0.0
    rng = random.Random(12345)
    results = []  # (setup, defect, n, auroc, p50, r50, p80, r80, flags, counts)
    baseline = {name: run_judge(refs, setup) for name, setup in setups.items()}
    qe_baseline = {}
    for suffix, source in sources.items():
        qe_started = time.perf_counter()
        refs_qe = source(refs)
        if suffix == "+qe":
            kiwi = sorted(q.scores["cometkiwi"] for q in refs_qe.values() if "cometkiwi" in q.scores)
            spread = (f" Their CometKiwi scores of the {len(kiwi)} scored pairs span {kiwi[0]:.4f} to {kiwi[-1]:.4f}, "
                      f"within the judge's scale floor ({params.mad_floor_qe}): z-scores stay near 0.") if kiwi else ""
        qe_baseline.update({f"{name} {suffix}": run_judge(refs, setup, refs_qe) for name, setup in setups.items()})
        qe_seconds += time.perf_counter() - qe_started
    for defect, fn in DEFECTS.items():
        candidates = [(r, e) for r in clean if (e := fn(r, nxt.get(r.id))) is not None]
        # At most half of the clean paragraphs, so that negatives remain.
        sample = rng.sample(candidates, min(per_defect, len(candidates), len(clean) // 2))
        damaged_ids = {r.id for r, _ in sample}
        new_en = {r.id: e for r, e in sample}
        records = [replace(r, en=new_en[r.id]) if r.id in new_en else r for r in refs]
        runs = [(name, setup, None) for name, setup in setups.items()]
        for suffix, source in sources.items():
            runs += [(f"{name} {suffix}", setup, source(records)) for name, setup in setups.items()]
        for name, setup, qe in runs:
            run_started = time.perf_counter()
            js = run_judge(records, setup, qe)
            if qe is not None:
                qe_seconds += time.perf_counter() - run_started
            pos = [js[i].suspicion for i in damaged_ids]
            neg = [js[r.id].suspicion for r in clean if r.id not in damaged_ids]
            p50, r50 = pr(pos, neg, 0.5)
            p80, r80 = pr(pos, neg, 0.8)
            names: dict[str, int] = {}
            for i in damaged_ids:
                for f in {f.name for f in js[i].flags}:
                    names[f] = names.get(f, 0) + 1
            # Ties by name: the counts are filled from sets, whose order changes from run to run.
            top = ", ".join(f"{k} {v}" for k, v in sorted(names.items(), key=lambda kv: (-kv[1], kv[0]))[:3])
            counts = (sum(p >= 0.5 for p in pos), sum(n >= 0.5 for n in neg), len(neg),
                      names.get("low_qe", 0),
                      sum(any(f.name == "low_qe" for f in js[r.id].flags) for r in clean if r.id not in damaged_ids))
            results.append((name, defect, len(sample), auroc(pos, neg), p50, r50, p80, r80, top, counts))

    # Verified defects of MANIFEST.tsv: is the affected document's paragraph flagged?
    verified = []
    for src, defect in manifest.items():
        if defect == "none":
            continue
        doc_refs = [r for r in refs if source_of[r.id].split("__")[-1] == src]
        for name, js in baseline.items():
            flagged = [(r.id.split("#")[-1], sorted({f.name for f in js[r.id].flags}), js[r.id].suspicion)
                       for r in doc_refs if js[r.id].flags]
            verified.append((name, src, defect, flagged))

    clean_neg = {name: sum(js[r.id].suspicion >= 0.5 for r in clean) for name, js in {**baseline, **qe_baseline}.items()}
    cpus = os.cpu_count()
    lines = ["## Divergence judge on injected defects", ""]
    lines += [f"- Machine: {cpus} CPUs, Python {platform.python_version()} ({platform.machine()})",
              f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
              f"- Command: `.venv/bin/python bench/bench_judge.py{' --quick' if quick else ''}`",
              f"- Corpus: {len(refs)} reference records from {len(by_doc)} articles (ingested with the real aligner); "
              f"{len(clean)} clean body paragraphs (1-1, ≥ 20 Chinese characters, MANIFEST defect `none`); "
              f"up to {per_defect} damaged per defect type (seed 12345); negatives: the other clean paragraphs.",
              "- Undamaged corpus: clean paragraphs at suspicion ≥ 0.5: "
              + ", ".join(f"{k} {v}/{len(clean)}" for k, v in clean_neg.items()),
              f"- Wall time: {time.perf_counter() - started:.1f} s", ""]
    lines += ["| systems | defect | n | AUROC | P@0.5 | R@0.5 | P@0.8 | R@0.8 | flags on the damaged |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, defect, n, a, p50, r50, p80, r80, top, _counts in results:
        if name.endswith("+noise"):
            continue  # pooled below
        lines.append(f"| {name} | {defect} | {n} | {a:.3f} | {p50:.2f} | {r50:.2f} | {p80:.2f} | {r80:.2f} | {top} |")
    lines += ["", "Reference QE: the same runs with every scored paragraph's reference QE given to the judge. "
              + (f"Rows `+qe`: from {qe_source.what}.{spread} " if with_qe else f"Rows `+qe`: {qe_source.error}. ")
              + f"Rows `+noise`: {NoiseQE.what}. Pooled over the defect types, beside the runs without QE (P and R "
              "at suspicion 0.5: damaged paragraphs at ≥ 0.5 and clean ones at ≥ 0.5, summed over the runs):", "",
              "| systems | mean AUROC | P@0.5 | R@0.5 | `low_qe` on damaged | `low_qe` on clean | clean ≥ 0.5, undamaged |",
              "| --- | --- | --- | --- | --- | --- | --- |"]

    def mean(rows):
        values = [row[3] for row in rows if row[3] == row[3]]
        return sum(values) / len(values) if values else float("nan")

    def pooled(rows):
        tp = sum(row[9][0] for row in rows)
        fp = sum(row[9][1] for row in rows)
        return (tp / (tp + fp) if tp + fp else float("nan")), tp / sum(row[2] for row in rows)

    for name in setups:
        for run in [name, *(f"{name} {suffix}" for suffix in sources)]:
            rows = [row for row in results if row[0] == run]
            p50, r50 = pooled(rows)
            damaged, negatives = sum(row[2] for row in rows), sum(row[9][2] for row in rows)
            low = (f"{sum(row[9][3] for row in rows)}/{damaged} | {sum(row[9][4] for row in rows)}/{negatives}"
                   if run != name else "– | –")
            lines.append(f"| {run} | {mean(rows):.3f} | {p50:.2f} | {r50:.2f} | {low} | {clean_neg[run]}/{len(clean)} |")
    lines += ["", f"QE scoring and the judge runs with QE took {qe_seconds:.1f} s of the wall time. The `low_qe` "
              "weight is its prior, 0.3 (the labelled calibration fold has no QE: judge.suspicion), so on its "
              "own the flag never reaches suspicion 0.5; beside other evidence it can."]
    lines += ["", "Precision is per defect type against all clean paragraphs (one defect type injected at a time).",
              "`swap_name` puts a pinyin person name (Zhou Enlai, …) in place of the first capitalised word pair; "
              "`name_mismatch` checks pinyin person names against the Chinese readings only, so a swap to a "
              "foreign or Wade–Giles name is not what this row measures.",
              "", "Verified defects (MANIFEST.tsv), undamaged corpus: flagged paragraphs of each affected document "
              "(paragraph index, flags, suspicion).", "", "| systems | document | verified defect | flagged |",
              "| --- | --- | --- | --- |"]
    for name, src, defect, flagged in verified:
        cell = "; ".join(f"#{i} {'+'.join(f)} {s:.2f}" for i, f, s in flagged) or "nothing flagged"
        lines.append(f"| {name} | {src} | {defect.replace('|', '/')[:90]} | {cell} |")
    import shutil

    shutil.rmtree(work, ignore_errors=True)  # the tiny models and the QE cache
    return lines


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer damaged paragraphs per defect")
    parser.add_argument("--per-defect", type=int, default=12)
    parser.add_argument("--only", choices=("labelled", "injected"))
    parser.add_argument("--qe-model", action="append", metavar="PATH",
                        help="reference QE from this model instead of the tiny random-weight ones: a CometKiwi folder "
                             "(checkpoints/model.ckpt + hparams.yaml) or a sentence-transformers (LaBSE) folder; twice "
                             "for both")
    parser.add_argument("--qe-encoder", metavar="PATH",
                        help="with a CometKiwi --qe-model: a local copy of the encoder its hparams.yaml names")
    args = parser.parse_args()
    sections = {}
    if args.only != "injected":
        sections["labelled"] = labelled_section()
    if args.only != "labelled":
        sections["injected"] = injected_section(args.quick, args.per_defect, args.qe_model, args.qe_encoder)
    if args.only:
        # Keep the other section as it was measured.
        text = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        marker = "## Divergence judge on injected defects"
        old = {"labelled": text.split(marker)[0].rstrip("\n").split("\n") if marker in text else [],
               "injected": (marker + text.split(marker, 1)[1]).rstrip("\n").split("\n") if marker in text else []}
        sections = {k: sections.get(k) or old[k] for k in ("labelled", "injected")}
    lines = [*sections.get("labelled", []), "", *sections.get("injected", [])]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines).strip("\n") + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
