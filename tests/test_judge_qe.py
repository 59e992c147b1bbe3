"""Reference QE as judge evidence (issue 12): the ``low_qe`` flag, the sentence localisation, the
chunked passes, the report stage's neural columns and summary.json, and — without QE — the very
judgements of before.

The QE records here are hand-made ``ReferenceQE`` objects (the judge only reads numbers), and the
report-stage tests write the score stage's neural outputs by hand (scores.jsonl columns, the
``neural`` section of scores.meta.json, reference_qe.jsonl) over a gloss run, so nothing needs the
neural extra; one test runs the whole pipeline with the tiny random-weight models when it is
installed.
"""

from __future__ import annotations

import importlib.util
import json
import pickle
import re
from pathlib import Path

import pytest

from evalkit.judge import JudgeParams, judge
from evalkit.judge.core import CorpusModel, features_chunk, judge_chunk
from evalkit.judge.qe import NO_QE, qe_features
from evalkit.judge.suspicion import FEATURES, PRIOR, feature_vector, load_model
from evalkit.metrics.neural import ReferenceQE, SentenceLocalisation, SentenceMatch, split_sentences
from evalkit.records import HypothesisRecord, ReferenceRecord

from conftest import REPO

GOLDEN = REPO / "tests" / "data" / "judge_no_qe_golden.json"
CORPUS = REPO / "tests" / "data" / "corpus"

# Two-sentence paragraphs (the localisation needs two sentences on a side): faithful English.
PAIRS = [
    ("我收到了你的信。", "I have received your letter."),
    ("我完全同意其中谈到的看法。", "I fully agree with the view expressed in it."),
    ("美国和英国派遣自己的军队侵入黎巴嫩和约旦。", "The United States and Britain sent their troops into Lebanon and Jordan."),
    ("联合国是在第二次世界大战的苦难中诞生的。", "The United Nations was born of the suffering of the Second World War."),
    ("人类把维护和平的希望寄托在联合国的工作上。", "Mankind places its hopes of keeping the peace on the work of the United Nations."),
    ("这个伟大的国家存在着，不断地巩固和发展着。", "This great country exists and is constantly consolidating and developing."),
    ("安全理事会实际上陷于瘫痪，不能通过任何决议。", "The Security Council is virtually paralysed and cannot pass any decision."),
    ("苏联政府认为必须继续努力维护和巩固和平。", "The Soviet government holds that peace must be kept and built up."),
    ("让我们尽一切必要的努力使会谈不致落空。", "Let us make every necessary effort so that the talks do not come to nothing."),
    ("最后，我希望美国政府支持这个建议。", "Lastly, I hope the US government backs this proposal."),
]
ADDED = "The weather was fine that day and many people walked in the park."


def _refs(n: int = 30, en_of: dict[int, str] | None = None) -> list[ReferenceRecord]:
    en_of = en_of or {}
    refs = []
    for i in range(n):
        a, b = PAIRS[i % 10], PAIRS[(i + 1) % 10]
        refs.append(ReferenceRecord(id=f"doc#{i:04d}", doc_id="doc", index=i, zh=a[0] + b[0],
                                    en=en_of.get(i, a[1] + " " + b[1]), bead="1-1", align_cost=0.1))
    return refs


def _jitter(k: int) -> float:
    return 0.01 * ((k * 7) % 5 - 2)  # -0.02 … +0.02: a corpus of near-equal scores


def _qe(ref: ReferenceRecord, k: int, *, score: float | None = None, metrics=("cometkiwi", "labse"),
        en_sims: dict[int, float] | None = None, zh_sims: dict[int, float] | None = None,
        sentences: bool = True) -> ReferenceQE:
    """A QE record: scores near 0.78 (CometKiwi) / 0.85 (LaBSE), every sentence matched at ~0.80
    unless ``en_sims`` / ``zh_sims`` say otherwise (sentence index -> similarity)."""
    base = {"cometkiwi": 0.78, "labse": 0.85}
    scores = {m: (score if score is not None else base[m] + _jitter(k)) for m in metrics}
    loc = None
    if sentences:
        zh_s, en_s = split_sentences(ref.zh, "zh"), split_sentences(ref.en, "en")
        en_sims, zh_sims = en_sims or {}, zh_sims or {}
        loc = SentenceLocalisation(
            en=tuple(SentenceMatch(i, s, min(i, len(zh_s) - 1), en_sims.get(i, 0.80 + _jitter(k + i)))
                     for i, s in enumerate(en_s)),
            zh=tuple(SentenceMatch(i, s, min(i, len(en_s) - 1), zh_sims.get(i, 0.80 + _jitter(k + i + 1)))
                     for i, s in enumerate(zh_s)))
    return ReferenceQE(ref.id, scores, {}, loc)


def _qe_all(refs, special=None, **kwargs) -> dict[str, ReferenceQE]:
    special = special or {}
    return {r.id: special.get(k) or _qe(r, k, **kwargs) for k, r in enumerate(refs)}


def _flag(judgement, name="low_qe"):
    found = [f for f in judgement.flags if f.name == name]
    return found[0] if found else None


# --- without QE: the judgements of before -----------------------------------------------------------


def _corpus_run():
    """tests/data/corpus judged with gloss and the file system, as bench/bench_judge.py judges it."""
    from evalkit.config import SystemConfig
    from evalkit.corpus import ingest_paths
    from evalkit.metrics import score_pairs
    from evalkit.systems.base import Segment, create_system

    refs = ingest_paths([CORPUS / "articles"]).records
    hyps = {}
    for cfg in (SystemConfig(name="gloss", backend="gloss"),
                SystemConfig(name="file", backend="file", path=str(CORPUS / "hyps"), key="zh", allow_missing=True)):
        with create_system(cfg) as system:
            out = system.translate([Segment(r.id, r.zh) for r in refs])
        hyps[cfg.name] = {r.id: HypothesisRecord(r.id, system.fingerprint, o.hyp) for r, o in zip(refs, out)}
    scored = [r for r in refs if r.en.strip() and r.zh.strip()]
    segs = score_pairs([(hyps[s][r.id].hyp, r.en) for s in hyps for r in scored], ["chrf"], workers=1)
    chrf = {s: {r.id: segs[k * len(scored) + i].scores["chrf"] for i, r in enumerate(scored)}
            for k, s in enumerate(hyps)}
    return refs, hyps, chrf


def test_without_qe_the_judgements_are_those_of_the_judge_before_reference_qe():
    """tests/data/judge_no_qe_golden.json: every judgement of tests/data/corpus (gloss + file) by
    the judge without reference QE (first taken before QE existed, at commit 2c37682; regenerated
    when the judge itself changes — last when dictionary coverage stopped counting function words
    such as 已经), with its suspicion features. The
    flags, their evidence and strengths, the fault, the signals and the features are the same to
    the byte; ``low_qe`` is 0. The suspicion moves by < 0.001: the packaged model was refitted
    with the extra feature (L-BFGS-B takes another path with one more coordinate), no more."""
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    refs, hyps, chrf = _corpus_run()
    now = judge(refs, hyps, chrf)
    assert len(now) == len(golden) and sum(1 for g in golden if g["flags"]) > 20
    model = load_model()
    for j, g in zip(now, golden, strict=True):
        d = j.to_dict()
        assert {k: v for k, v in d.items() if k != "suspicion"} == {k: v for k, v in g.items()
                                                                   if k not in ("suspicion", "features")}, j.id
        assert list(j.features[:-1]) == g["features"] and j.features[FEATURES.index("low_qe")] == 0.0
        assert d["suspicion"] == pytest.approx(g["suspicion"], abs=1e-3)
        assert j.suspicion == model.probability(j.features)
    # And every way of giving no QE is the same as giving none.
    assert judge(refs, hyps, chrf, qe=None) == now
    assert judge(refs, hyps, chrf, qe={}) == now


def test_qe_for_other_paragraphs_only_changes_nothing():
    refs = _refs()
    plain = judge(refs, {})
    other = {f"other#{k}": _qe(r, k) for k, r in enumerate(refs)}
    assert judge(refs, {}, qe=other) == plain
    assert not any(k.startswith("qe") for j in plain for k in j.signals)


# --- the flag ----------------------------------------------------------------------------------------


def test_a_low_cometkiwi_score_is_low_qe_with_the_score_the_median_and_the_robust_z():
    refs = _refs()
    qe = _qe_all(refs, {7: _qe(refs[7], 7, score=0.41)})
    judged = judge(refs, {}, qe=qe)
    flag = _flag(judged[7])
    assert flag is not None and flag.system is None
    assert re.fullmatch(r"CometKiwi 0\.41 against a median of 0\.78 \(robust z -\d+\.\d\)", flag.evidence), flag.evidence
    assert judged[7].signals["qe_z"] < -2.5 and flag.strength == 1.0
    assert [j.id for j in judged if _flag(j)] == [refs[7].id]
    # Evidence for the suspicion model, at the prior weight the calibration fold leaves it.
    x = judged[7].features
    assert x[FEATURES.index("low_qe")] == flag.strength
    assert judged[7].suspicion > judge(refs, {})[7].suspicion


def test_without_cometkiwi_the_judge_reads_labse():
    refs = _refs()
    qe = _qe_all(refs, {3: _qe(refs[3], 3, score=0.2, metrics=("labse",))}, metrics=("labse",))
    flag = _flag(judge(refs, {}, qe=qe)[3])
    assert flag is not None and flag.evidence.startswith("LaBSE 0.20 against a median of 0.85")


def test_the_metric_is_chosen_by_the_params():
    refs = _refs()
    qe = _qe_all(refs, {3: ReferenceQE(refs[3].id, {"cometkiwi": 0.78, "labse": 0.1}, {}, None)})
    assert _flag(judge(refs, {}, qe=qe)[3]) is None  # CometKiwi first: normal
    flag = _flag(judge(refs, {}, params=JudgeParams(qe_metrics=("labse",)), qe=qe)[3])
    assert flag is not None and flag.evidence.startswith("LaBSE 0.10")


def test_an_english_sentence_with_no_chinese_counterpart_is_named_and_flags_alone():
    en = {5: _refs()[5].en + " " + ADDED}
    refs = _refs(en_of=en)
    qe = _qe_all(refs, {5: _qe(refs[5], 5, score=0.77, en_sims={2: 0.15})})
    judged = judge(refs, {}, qe=qe)
    flag = _flag(judged[5])
    assert flag is not None
    assert flag.evidence.startswith("CometKiwi 0.77 against a median of 0.78 (robust z ")
    assert (f"; English sentence 3 {ADDED[:60] + '…'!r} has no Chinese counterpart (its best LaBSE match 0.15 "
            "against a median of 0.80, robust z -") in flag.evidence
    assert judged[5].signals["qe_sentence_z[en]"] < -3.0
    assert [j.id for j in judged if _flag(j)] == [refs[5].id]


def test_a_chinese_sentence_with_no_english_counterpart_is_named():
    refs = _refs()
    qe = _qe_all(refs, {9: _qe(refs[9], 9, score=0.40, zh_sims={1: 0.2})})
    flag = _flag(judge(refs, {}, qe=qe)[9])
    assert flag is not None and flag.evidence.startswith("CometKiwi 0.40 against a median of 0.78")
    assert f"; Chinese sentence 2 {PAIRS[0][0]!r} has no English counterpart (its best LaBSE match 0.20" in flag.evidence


def test_a_weak_but_not_far_off_sentence_is_named_only_beside_a_low_score():
    refs = _refs()
    # Sentence z about -2.5: named when the paragraph's score flags, not enough to flag alone.
    weak = {1: 0.75}
    alone = _qe_all(refs, {4: _qe(refs[4], 4, en_sims=weak)})
    assert _flag(judge(refs, {}, qe=alone)[4]) is None
    both = _qe_all(refs, {4: _qe(refs[4], 4, score=0.40, en_sims=weak)})
    flag = _flag(judge(refs, {}, qe=both)[4])
    assert flag is not None and "English sentence 2" in flag.evidence


def test_short_paragraphs_and_one_sentence_sides_give_no_qe_evidence():
    refs = _refs()
    one = ReferenceRecord(id="doc#0100", doc_id="doc", index=100, zh="和平", en="Peace", bead="1-1", align_cost=0.1)
    qe = {**_qe_all(refs), one.id: ReferenceQE(one.id, {"cometkiwi": 0.01}, {}, None)}
    judged = judge([*refs, one], {}, qe=qe)
    assert _flag(judged[-1]) is None and "qe_z" not in judged[-1].signals  # a headline: not judged
    single = _qe(_refs(1, en_of={0: "I have received your letter."})[0], 0)
    scores, en, zh = qe_features(single)
    assert en == () and len(zh) == 2  # one English sentence: the paragraph's score judges it
    assert qe_features(None) == NO_QE


def test_too_few_paragraphs_to_learn_from_give_no_flag():
    refs = _refs(4)
    qe = _qe_all(refs, {1: _qe(refs[1], 1, score=0.0)})
    judged = judge(refs, {}, qe=qe)
    assert not any(_flag(j) for j in judged) and judged[1].signals["qe_z"] is None


def _through_a_worker(fn, task):
    return pickle.loads(pickle.dumps(fn(pickle.loads(pickle.dumps(task)))))


@pytest.mark.parametrize("size", [1, 4, 11])
def test_chunked_passes_with_qe_equal_the_one_process_judge(size):
    en = {5: _refs()[5].en + " " + ADDED}
    refs = _refs(en_of=en)
    qe = _qe_all(refs, {5: _qe(refs[5], 5, en_sims={2: 0.1}), 7: _qe(refs[7], 7, score=0.3)})
    del qe[refs[2].id]  # a paragraph without QE (none in the file) is judged without it
    hyps = {"mt": {r.id: HypothesisRecord(r.id, "mt@0", r.en) for r in refs}}
    chrf = {"mt": {r.id: 50.0 + (k % 5) for k, r in enumerate(refs)}}
    params = JudgeParams(min_population=3)
    expected = judge(refs, hyps, chrf, params, qe=qe)
    assert sum(1 for j in expected if _flag(j)) == 2
    items = [(r, {"mt": hyps["mt"][r.id]}, {"mt": chrf["mt"][r.id]}, qe.get(r.id)) for r in refs]
    model = CorpusModel(["mt"], params)
    for start in range(0, len(items), size):
        for features in _through_a_worker(features_chunk, (["mt"], params, items[start:start + size])):
            model.fold(features)
    model.finish()
    judged = []
    for start in range(0, len(items), size):
        chunk = items[start:start + size]
        judged += _through_a_worker(judge_chunk, (model.shard(start, start + len(chunk)), start, chunk))
    assert judged == expected
    # Items without the QE element (the report stage's form without QE) are judged as before.
    plain = judge(refs, hyps, chrf, params)
    assert judge_chunk((CorpusModel(["mt"], params).finish(), 0, [])) == []
    model = CorpusModel(["mt"], params)
    for f in features_chunk((["mt"], params, [i[:3] for i in items])):
        model.fold(f)
    model.finish()
    assert judge_chunk((model.shard(0, len(items)), 0, [i[:3] for i in items])) == plain


def test_low_qe_is_a_suspicion_feature_left_at_its_modest_prior():
    assert FEATURES[-1] == "low_qe" and 0 < PRIOR["low_qe"] <= 0.4
    model = load_model()
    assert model.weights[FEATURES.index("low_qe")] == pytest.approx(PRIOR["low_qe"], abs=1e-6)
    from evalkit.judge.core import Flag

    ref = _refs(1)[0]
    x = feature_vector(ref, [Flag("low_qe", "…", 0.6)])
    evidence = [v for k, v in zip(FEATURES, x, strict=True) if k != "length"]
    assert x[FEATURES.index("low_qe")] == 0.6 and sum(evidence) == 0.6


# --- the report stage ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gloss_run(tmp_path_factory):
    """A gloss run of the seed (two systems: gloss and its upper-case copy), judged without QE."""
    from evalkit.config import RunConfig
    from evalkit.pipeline import run_pipeline

    root = tmp_path_factory.mktemp("qe-run")
    seed = [json.loads(line) for line in (REPO / "reference" / "seed.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    with open(root / "first.jsonl", "w", encoding="utf-8") as handle:
        for r in seed:
            handle.write(json.dumps({"id": r["id"], "hyp": r["en"].split(". ")[0]}, ensure_ascii=False) + "\n")
    config = RunConfig.model_validate({
        "reference": str(REPO / "reference" / "seed.jsonl"), "out": str(root / "run"), "cache": str(root / "c.sqlite"),
        "systems": [{"name": "gloss", "backend": "gloss"},
                    {"name": "first", "backend": "file", "path": str(root / "first.jsonl"), "allow_missing": True}],
        "scoring": {"metrics": ["chrf"], "bootstrap": 50, "workers": 1}})
    summary, _ = run_pipeline(config)
    return config, root / "run", summary


def _fake_neural(run: Path, low: str | None = None, *, order=None) -> dict:
    """Write what a score stage with cometkiwi and labse would have: the columns in scores.jsonl,
    the ``neural`` section of scores.meta.json (corpus scores and paired tests from the columns,
    as ``NeuralStage.finish`` computes them) and reference_qe.jsonl (``low``: the id whose
    CometKiwi is 0.41)."""
    import numpy as np

    from evalkit.metrics.scoring import aggregate_arrays

    metrics = ["cometkiwi", "labse"]
    rows = [json.loads(line) for line in (run / "scores.jsonl").read_text(encoding="utf-8").splitlines()]
    values: dict[str, dict[str, list[float]]] = {}
    for k, row in enumerate(rows):
        for m in metrics:
            v = (0.70 if m == "cometkiwi" else 0.80) + 0.1 * (row["system"] == "gloss") + _jitter(k) / 2
            row["scores"][m] = v
            row["stats"][m] = [v]
            values.setdefault(row["system"], {}).setdefault(m, []).append(v)
        row["split"] = {}
    (run / "scores.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    signatures = {m: f"{m}|model:/tiny/{m}|rev:folder-000000000000|agg:mean-of-segments" for m in metrics}
    stats = {s: {m: np.array(v[m]).reshape(-1, 1) for m in metrics} for s, v in values.items()}
    corpus, significance, skipped, _ = aggregate_arrays(stats, metrics, n_bootstrap=50, seed=12345,
                                                        signatures=signatures)
    references = [json.loads(line) for line in (run / "reference.jsonl").read_text(encoding="utf-8").splitlines()]
    meta = json.loads((run / "scores.meta.json").read_text(encoding="utf-8"))
    scored = [r for r in references if r["id"] not in meta["unscored"]]
    qe = []
    for k, r in enumerate(scored):
        score = 0.41 if r["id"] == low else 0.78 + _jitter(k)
        qe.append({"id": r["id"], "scores": {"cometkiwi": score, "labse": 0.85 + _jitter(k)}, "split": {}})
    if order is not None:
        qe = order(qe)
    (run / "reference_qe.jsonl").write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in qe),
                                            encoding="utf-8")
    qe_corpus, _, _, _ = aggregate_arrays(
        {"reference": {m: np.array([q["scores"][m] for q in qe]).reshape(-1, 1) for m in metrics}}, metrics,
        n_bootstrap=50, seed=12345, signatures=signatures)
    meta["neural"] = {
        "metrics": metrics, "models": {m: {"model": f"/tiny/{m}"} for m in metrics}, "signatures": signatures,
        "corpus": {s: {m: (c.to_dict() if c else None) for m, c in by.items()} for s, by in corpus.items()},
        "significance": significance, "split_segments": {s: dict.fromkeys(metrics, 0) for s in values},
        "skipped": skipped, "cache": {}, "timings": {},
        "reference_qe": {"file": "reference_qe.jsonl", "metrics": metrics, "sentences": False,
                         "corpus": {m: (c.to_dict() if c else None) for m, c in qe_corpus["reference"].items()},
                         "split_segments": dict.fromkeys(metrics, 0)}}
    (run / "scores.meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return meta["neural"]


def _body_id(run: Path) -> str:
    """A long 1-1 body paragraph (length-eligible) of the run."""
    rows = [json.loads(line) for line in (run / "paragraphs.jsonl").read_text(encoding="utf-8").splitlines()]
    return next(r["id"] for r in rows if r["bead"] == "1-1" and len(r["zh"]) > 80 and not r["flags"])


def test_the_report_carries_the_neural_columns_the_reference_qe_and_the_low_qe_flag(gloss_run, tmp_path):
    import shutil

    from evalkit.layout import RunLayout
    from evalkit.pipeline import report_stage

    config, original, plain = gloss_run
    run = tmp_path / "run"
    shutil.copytree(original, run)
    target = _body_id(original)
    neural = _fake_neural(run, low=target)
    summary, shown = report_stage(config.model_copy(update={"out": str(run)}), RunLayout.at(run))

    # summary.json: the neural corpus scores beside the sacrebleu ones, their paired tests, the QE.
    assert summary["metrics"] == ["chrf", "cometkiwi", "labse"]
    assert summary["higher_is_better"]["cometkiwi"] is True
    for system in ("gloss", "first"):
        corpus = summary["systems"][system]["corpus"]
        assert corpus["chrf"] == plain["systems"][system]["corpus"]["chrf"]
        assert corpus["cometkiwi"] == neural["corpus"][system]["cometkiwi"]
        assert corpus["labse"]["ci"][0] <= corpus["labse"]["score"] <= corpus["labse"]["ci"][1]
        assert corpus["labse"]["signature"] == neural["signatures"]["labse"]
    assert summary["signatures"]["cometkiwi"] == neural["signatures"]["cometkiwi"]
    tests = {(t["metric"], t["test"]) for t in summary["significance"]}
    assert {("chrf", "paired-bs"), ("cometkiwi", "paired-bs"), ("labse", "paired-ar")} <= tests
    qe = summary["reference_qe"]
    assert qe["corpus"] == neural["reference_qe"]["corpus"] and qe["paragraphs"] == plain["reference"]["scored"]
    assert qe["judge"]["metric"] == "cometkiwi" and qe["judge"]["scores"]["cometkiwi"]["median"] > 0.7
    assert qe["low_qe"] == summary["flags"]["by_name"]["low_qe"] >= 1
    assert summary["neural"]["metrics"] == ["cometkiwi", "labse"]

    # paragraphs.jsonl: the columns per system, the flag with its evidence.
    rows = {r["id"]: r for r in map(json.loads, (run / "paragraphs.jsonl").read_text(encoding="utf-8").splitlines())}
    scores = [json.loads(line) for line in (run / "scores.jsonl").read_text(encoding="utf-8").splitlines()]
    for s in scores[:5]:
        assert rows[s["id"]]["systems"][s["system"]]["cometkiwi"] == s["scores"]["cometkiwi"]
    flag = next(f for f in rows[target]["flags"] if f["name"] == "low_qe")
    assert re.fullmatch(r"CometKiwi 0\.41 against a median of 0\.\d\d \(robust z -\d+\.\d\)", flag["evidence"])
    assert rows[target]["signals"]["qe_z"] < -2.5
    header = (run / "paragraphs.csv").read_text(encoding="utf-8").splitlines()[0]
    assert "gloss:cometkiwi" in header and "first:labse" in header

    # report.md: the neural columns at their scale, the paired tests, the reference QE section.
    md = (run / "report.md").read_text(encoding="utf-8")
    assert "| system | chrF [95% CI] | CometKiwi [95% CI] | LaBSE [95% CI] | flagged |" in md
    gloss = summary["systems"]["gloss"]["corpus"]["cometkiwi"]
    assert f"{gloss['score']:.3f} [{gloss['ci'][0]:.3f}, {gloss['ci'][1]:.3f}]" in md
    assert "| CometKiwi | paired-bs |" in md
    assert "## Reference QE (the archive's English against its Chinese)" in md
    assert re.search(r"\| CometKiwi \| 0\.\d{3} \[0\.\d{3}, 0\.\d{3}\] \| \d+ \| 0 \|", md)
    assert "flagged `low_qe`" in md and "low\\_qe" in md.split("Flags: ")[1]
    # report.html (rendered from the same data): the labels, and the flag explained.
    html = (run / "report.html").read_text(encoding="utf-8")
    assert "CometKiwi [95% CI]" in html and "<dt>low_qe</dt>" in html and "COMET, CometKiwi, LaBSE" in html


def test_a_reference_qe_file_the_meta_does_not_vouch_for_is_not_read(gloss_run, tmp_path):
    import shutil

    from evalkit.layout import RunLayout
    from evalkit.pipeline import report_stage

    config, original, plain = gloss_run
    run = tmp_path / "run"
    shutil.copytree(original, run)
    target = _body_id(original)
    _fake_neural(run, low=target)
    meta = json.loads((run / "scores.meta.json").read_text(encoding="utf-8"))
    meta["neural"]["reference_qe"] = None  # a later score stage with comet only, say
    (run / "scores.meta.json").write_text(json.dumps(meta), encoding="utf-8")
    summary, _ = report_stage(config.model_copy(update={"out": str(run)}), RunLayout.at(run))
    assert summary["reference_qe"] is None and "low_qe" not in summary["flags"]["by_name"]
    before = [json.loads(line) for line in (original / "paragraphs.jsonl").read_text(encoding="utf-8").splitlines()]
    after = [json.loads(line) for line in (run / "paragraphs.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["flags"], r["suspicion"], r["signals"]) for r in after] == [
        (r["flags"], r["suspicion"], r["signals"]) for r in before]


def test_a_reference_qe_file_out_of_order_is_refused_naming_it(gloss_run, tmp_path):
    import shutil

    from evalkit.errors import InputError
    from evalkit.layout import RunLayout
    from evalkit.pipeline import report_stage

    config, original, _ = gloss_run
    run = tmp_path / "run"
    shutil.copytree(original, run)
    _fake_neural(run, order=lambda qe: qe[1:] + qe[:1])
    with pytest.raises(InputError, match=r"reference_qe\.jsonl.*run `evalkit score` again"):
        report_stage(config.model_copy(update={"out": str(run)}), RunLayout.at(run))


HAVE_NEURAL = importlib.util.find_spec("comet") is not None and importlib.util.find_spec("sentence_transformers") is not None


@pytest.mark.skipif(not HAVE_NEURAL, reason="the neural extra is not installed (unbabel-comet, sentence-transformers)")
def test_a_run_with_the_tiny_neural_models_judges_with_their_reference_qe(tmp_path):
    import tiny_models
    from evalkit.config import RunConfig
    from evalkit.metrics.neural import load_reference_qe
    from evalkit.pipeline import run_pipeline

    encoder = tiny_models.build_xlmr_encoder(tmp_path / "encoder")
    models = {"comet": tiny_models.build_comet(tmp_path / "comet", encoder, "comet"),
              "cometkiwi": tiny_models.build_comet(tmp_path / "cometkiwi", encoder, "cometkiwi"),
              "labse": tiny_models.build_sentence_transformer(tmp_path / "labse", encoder)}
    config = RunConfig.model_validate({
        "reference": str(REPO / "reference" / "seed.jsonl"), "out": str(tmp_path / "run"),
        "cache": str(tmp_path / "c.sqlite"), "systems": [{"name": "gloss", "backend": "gloss"}],
        "scoring": {"metrics": ["chrf", "comet", "cometkiwi", "labse"], "bootstrap": 50, "workers": 1,
                    "neural": {m: {"model": str(p), "batch_size": 8} for m, p in models.items()}}})
    summary, _ = run_pipeline(config)
    assert summary["metrics"] == ["chrf", "comet", "cometkiwi", "labse"]
    assert summary["systems"]["gloss"]["corpus"]["comet"]["signature"].startswith("comet|model:")
    assert set(summary["reference_qe"]["corpus"]) == {"cometkiwi", "labse"}
    assert summary["reference_qe"]["judge"]["metric"] == "cometkiwi"
    # The judge read the file the score stage wrote: the same records, in the same order, as evidence.
    qe = load_reference_qe(tmp_path / "run")
    rows = [json.loads(line) for line in (tmp_path / "run" / "paragraphs.jsonl").read_text().splitlines()]
    judged = [r for r in rows if "qe_z" in r["signals"]]
    assert judged and all(r["id"] in qe for r in judged)
    assert all(isinstance(r["systems"]["gloss"]["comet"], float) for r in rows if r["scored"])
