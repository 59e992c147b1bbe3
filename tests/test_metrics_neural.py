"""The neural metrics (issue 12): comet, cometkiwi, labse, reference QE, sentence localisation.

Offline: the models are tiny random-weight ones built here (tests/tiny_models.py) in the real
formats — an XLM-R encoder folder, COMET / CometKiwi checkpoints in unbabel-comet's layout
(checkpoints/model.ckpt + hparams.yaml whose pretrained_model is that folder), a
sentence-transformers folder — so evalkit loads them with unbabel-comet's and
sentence-transformers' own loaders. Their scores mean nothing; what is tested is that the
numbers are the models' own, that nothing is truncated, the columns, CIs, paired tests, the
reference QE, the cache, the configs and the failures.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

import tiny_models
from evalkit.config import RunConfig, load_config, parse_config
from evalkit.errors import ConfigError
from evalkit.metrics import neural, scoring
from evalkit.metrics.neural import NeuralMetricError

REPO = Path(__file__).parent.parent
SEED = REPO / "reference" / "seed.jsonl"

HAVE_COMET = importlib.util.find_spec("comet") is not None
HAVE_ST = importlib.util.find_spec("sentence_transformers") is not None
needs_models = pytest.mark.skipif(not (HAVE_COMET and HAVE_ST),
                                  reason="the neural extra is not installed (unbabel-comet, sentence-transformers)")


# --- config ---------------------------------------------------------------------------------------


def _run_config(**scoring) -> dict:
    return {"reference": str(SEED), "systems": [{"name": "gloss", "backend": "gloss"}], "scoring": scoring}


def test_the_scoring_section_takes_the_neural_metrics_and_their_options():
    config = parse_config(_run_config(metrics=["chrf", "comet", "labse"],
                                      neural={"comet": {"model": "/x/comet", "batch_size": 4, "device": "cpu"},
                                              "labse": {"dtype": "bf16"}, "reference_qe": False}))
    assert config.scoring.neural.comet.model == "/x/comet" and config.scoring.neural.comet.batch_size == 4
    assert config.scoring.neural.cometkiwi.model is None  # defaults: the metric's default model
    assert neural.neural_metrics(config.scoring.metrics) == ["comet", "labse"]


@pytest.mark.parametrize("scoring_section,expected", [
    ({"metrics": ["comet"], "neural": {"comet": {"modle": "x"}}}, "scoring.neural.comet.modle"),
    ({"metrics": ["comet"], "neural": {"bleurt": {}}}, "scoring.neural.bleurt"),
    ({"metrics": ["comet"], "neural": {"comet": {"batch_size": 0}}}, "scoring.neural.comet.batch_size"),
    ({"metrics": ["comet"], "neural": {"comet": {"dtype": "int4"}}}, "scoring.neural.comet.dtype"),
    ({"metrics": ["chrf"], "neural": {"labse": {"model": "x"}}}, "which scoring.metrics does not name"),
    ({"metrics": ["labse"], "neural": {"labse": {"encoder": "x"}}}, "labse takes no 'encoder'"),
    ({"metrics": ["xcomet"]}, "scoring.metrics.0"),
])
def test_bad_neural_options_are_config_errors_naming_the_field(scoring_section, expected):
    with pytest.raises(ConfigError, match=re.escape(expected)):
        parse_config(_run_config(**scoring_section))


def test_configs_neural_yaml_is_valid_down_to_the_download(monkeypatch):
    config = load_config(REPO / "configs" / "neural.yaml")
    assert [s.backend for s in config.systems] == ["gloss"]
    assert Path(config.reference) == Path("reference/seed.jsonl") and (REPO / config.reference).exists()
    assert neural.neural_metrics(config.scoring.metrics) == ["comet", "cometkiwi", "labse"]
    models = {m: neural.metric_options(config.scoring.neural, m).model for m in neural.NEURAL_METRICS}
    assert models == neural.DEFAULT_MODELS
    # Everything up to the download resolves: offline, the first model is reported as not downloadable.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(neural, "check_packages", lambda metrics: None)
    monkeypatch.setattr(neural, "_cached_file", lambda *a, **k: None)
    with pytest.raises(NeuralMetricError, match="Unbabel/wmt22-comet-da is not in the local cache"):
        neural.preflight(config)


# --- failures -------------------------------------------------------------------------------------


def test_a_missing_package_says_how_to_install_and_the_cli_exits_2(monkeypatch, tmp_path, capsys):
    from evalkit import cli

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "sentence_transformers" else real_find_spec(name, *a))
    with pytest.raises(NeuralMetricError, match=r"sentence-transformers package.*pip install 'evalkit\[neural\]'"):
        neural.check_packages(["labse"])
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({**_run_config(metrics=["chrf", "labse"]), "out": str(tmp_path / "out")}))
    started = time.perf_counter()
    assert cli.main(["run", "--config", str(path)]) == 2
    assert time.perf_counter() - started < 10  # before translating anything
    err = capsys.readouterr().err
    assert err.startswith("evalkit: error: ") and "pip install 'evalkit[neural]'" in err
    assert not (tmp_path / "out" / "hyps").exists()


@pytest.mark.parametrize("metric", neural.NEURAL_METRICS)
def test_a_hub_id_while_offline_fails_fast_naming_the_model_and_the_local_folder(metric, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(neural, "check_packages", lambda metrics: None)
    monkeypatch.setattr(neural, "_cached_file", lambda *a, **k: None)  # not in this machine's HF cache either
    started = time.perf_counter()
    with pytest.raises(NeuralMetricError) as info:
        neural.make_scorer(metric)
    assert time.perf_counter() - started < 5
    message = str(info.value)
    assert neural.DEFAULT_MODELS[metric] in message and "Hub is unreachable (HF_HUB_OFFLINE is set)" in message
    assert f"`model: /path/to/folder` under scoring.neural.{metric}" in message


def test_an_unreachable_hub_is_noticed_by_a_quick_probe(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens
    monkeypatch.setattr(neural, "check_packages", lambda metrics: None)
    monkeypatch.setattr(neural, "_cached_file", lambda *a, **k: None)
    started = time.perf_counter()
    with pytest.raises(NeuralMetricError, match="no connection to the Hub"):
        neural.make_scorer("labse")
    assert time.perf_counter() - started < 5


def test_a_local_comet_folder_whose_encoder_is_a_hub_id_offline_says_how_to_set_encoder(tmp_path, monkeypatch):
    folder = tmp_path / "wmt22-comet-da"
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "checkpoints" / "model.ckpt").write_bytes(b"")
    (folder / "hparams.yaml").write_text("class_identifier: regression_metric\npretrained_model: xlm-roberta-large\n")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(neural, "check_packages", lambda metrics: None)
    monkeypatch.setattr(neural, "_cached_file", lambda *a, **k: None)
    config = parse_config(_run_config(metrics=["comet"], neural={"comet": {"model": str(folder)}})).scoring.neural
    with pytest.raises(NeuralMetricError, match=r"encoder xlm-roberta-large .*`encoder: /path/to/folder` under "
                                                r"scoring\.neural\.comet"):
        neural.make_scorer("comet", config)


@pytest.mark.parametrize("layout,expected", [("missing", "does not exist"), ("no checkpoint", "is not a COMET model")])
def test_a_bad_local_comet_folder_is_named(layout, expected, tmp_path, monkeypatch):
    folder = tmp_path / "comet"
    if layout != "missing":
        folder.mkdir()
        (folder / "hparams.yaml").write_text("pretrained_model: x\n")
    monkeypatch.setattr(neural, "check_packages", lambda metrics: None)
    config = parse_config(_run_config(metrics=["comet"], neural={"comet": {"model": str(folder)}})).scoring.neural
    with pytest.raises(NeuralMetricError, match=f"comet: .*{expected}"):
        neural.make_scorer("comet", config)


# --- sentences, splitting, localisation ----------------------------------------------------------


@pytest.mark.parametrize("text,lang,expected", [
    ("我收到了你8月1日的信。我完全同意。\n第二行", "zh", ["我收到了你8月1日的信。", "我完全同意。", "第二行"]),
    ("他说：“和平！”大家都同意；会议结束", "zh", ["他说：“和平！”", "大家都同意；", "会议结束"]),
    ("Dear Mr. President: I received it. He said \"No!\" Then 8 people left. J. F. Dulles spoke.", "en",
     ["Dear Mr. President: I received it.", "He said \"No!\"", "Then 8 people left.", "J. F. Dulles spoke."]),
    ("Title line\nBody one. body two", "en", ["Title line", "Body one. body two"]),
])
def test_sentences_are_split_at_the_sentence_ends_and_line_breaks(text, lang, expected):
    assert neural.split_sentences(text, lang) == expected


def _char_fits(limit):
    return lambda text: len(text) <= limit


@pytest.mark.parametrize("limit", [7, 20, 60])
def test_aligned_groups_fit_lose_nothing_and_keep_the_order(limit):
    zh = "我收到了你8月1日的信。我完全同意其中谈到各国政府首脑之间直接的通信有重要意义这种看法。在当前情况下，这种直接通信应该服务于各国人民。"
    en = ("I have received your letter of August 1. I fully agree with the view expressed in it that direct "
          "correspondence between heads of government is important. In the present circumstances it should serve the peoples.")
    texts, langs = (zh, en), ("zh", "en")
    fits = [_char_fits(limit), _char_fits(limit * 3)]
    groups = neural.aligned_groups(texts, langs, fits, lambda g: fits[0](g[0]) and fits[1](g[1]))
    assert len(groups) > 1
    assert all(fits[0](a) and fits[1](b) for a, b in groups)
    assert "".join(g[0] for g in groups) == zh
    assert " ".join(g[1] for g in groups if g[1]).split() == en.split()


def test_a_text_that_fits_is_one_group():
    assert neural.aligned_groups(("短。", "Short."), ("zh", "en"), [_char_fits(9)] * 2, lambda g: True) == [("短。", "Short.")]


def test_localisation_names_the_english_sentence_with_no_chinese_counterpart():
    # A stand-in embedding that maps a Chinese word and its English rendering to the same axis.
    pairs = {"和平": "peace", "信": "letter", "军队": "troops"}
    vocab = list(pairs.items())

    def embed(texts):
        rows = []
        for text in texts:
            v = np.array([float(zh in text or en in text.lower()) for zh, en in vocab] + [float("weather" in text)]) + 1e-3
            rows.append(v / np.linalg.norm(v))
        return np.vstack(rows)

    zh = "我收到了你的信。我们要和平。"
    en = "I received your letter. We want peace. The weather was fine that day."
    loc = neural.localise_sentences(zh, en, embed)
    assert [m.best for m in loc.en[:2]] == [0, 1] and loc.en[0].similarity > 0.9
    weakest = loc.weakest_en()
    assert weakest.index == 2 and weakest.text == "The weather was fine that day."
    assert [m.index for m in loc.unmatched_en(0.5)] == [2]
    assert loc.unmatched_zh(0.5) == []
    assert neural.SentenceLocalisation.from_dict(json.loads(json.dumps(loc.to_dict()))) == loc


# --- the mean-of-segments path of metrics.scoring --------------------------------------------------


def test_the_corpus_score_of_a_mean_metric_is_the_mean_with_sacrebleus_bootstrap_resamples():
    rng = np.random.default_rng(3)
    values = rng.random(45)
    got = scoring.corpus_score("comet", values.reshape(-1, 1), n_bootstrap=200, seed=12345, signature="comet|x")
    assert got.score == pytest.approx(values.mean(), abs=1e-15) and got.n == 45 and got.signature == "comet|x"
    # The resamples are sacrebleu's draws (all at once there; row by row here).
    idx = np.random.default_rng(12345).choice(45, size=(200, 45), replace=True)
    means = sorted(values[idx].mean(axis=1))
    assert got.ci == (pytest.approx(means[5], abs=1e-15), pytest.approx(means[194], abs=1e-15))
    assert got.mean == pytest.approx(float(np.mean(means)), abs=1e-12)
    assert scoring.corpus_score("comet", values.reshape(-1, 1), n_bootstrap=1).ci is None


@pytest.mark.parametrize("draw_bools", [None, 1])  # default blocks, and one unit of 32 / gcd(n, 32) rows per draw
@pytest.mark.parametrize("n", [45, 64])
def test_mean_paired_tests_equal_sacrebleus_all_at_once_procedure(n, draw_bools, monkeypatch):
    from sacrebleu.significance import _compute_p_value

    if draw_bools:
        monkeypatch.setattr(scoring, "_AR_DRAW_BOOLS", draw_bools)
    rng = np.random.default_rng(5)
    a = rng.random(n)
    b = a + rng.normal(0.01, 0.05, n)
    got = {t["test"]: t for t in scoring.paired_tests("A", a[:, None], "B", b[:, None], "labse", n_bootstrap=300,
                                                     n_trials=600, seed=7, signature="labse|x")}
    diff = abs(a.mean() - b.mean())
    idx = np.random.default_rng(7).choice(n, size=(300, n), replace=True)
    sample_diffs = np.abs(b[idx].mean(1) - a[idx].mean(1))
    assert got["paired-bs"]["p_value"] == _compute_p_value(sample_diffs - sample_diffs.mean(), diff)
    pos = np.random.default_rng(7).integers(2, size=(600, n), dtype=bool)
    shuf_a = (pos * a + ~pos * b).mean(1)
    shuf_b = (~pos * a + pos * b).mean(1)
    assert got["paired-ar"]["p_value"] == pytest.approx(_compute_p_value(np.abs(shuf_a - shuf_b), diff), abs=1e-12)
    assert got["paired-bs"]["delta"] == pytest.approx(b.mean() - a.mean())
    assert got["paired-bs"]["signature"] == "labse|x|seed:7|bs:300" and got["paired-ar"]["signature"].endswith("|ar:600")


def test_a_clearly_better_system_is_significant_and_identical_ones_are_not_different():
    rng = np.random.default_rng(0)
    a = rng.random(200)
    tests = scoring.paired_tests("A", a[:, None], "B", (a + 0.1)[:, None], "comet", n_bootstrap=200, n_trials=400)
    assert all(t["p_value"] < 0.01 and t["delta"] == pytest.approx(0.1) for t in tests)
    same = scoring.paired_tests("A", a[:, None], "B", a[:, None], "comet", n_bootstrap=200, n_trials=400)
    assert all(t["delta"] == 0 for t in same)


# --- the tiny models -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    if not (HAVE_COMET and HAVE_ST):
        pytest.skip("the neural extra is not installed")
    import torch

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("neural-models")
    encoder = tiny_models.build_xlmr_encoder(root / "encoder")
    return {"encoder": encoder,
            "comet": tiny_models.build_comet(root / "comet", encoder, "comet"),
            "cometkiwi": tiny_models.build_comet(root / "cometkiwi", encoder, "cometkiwi"),
            "labse": tiny_models.build_sentence_transformer(root / "labse", encoder)}


def _neural_config(models, **extra):
    section = {"metrics": ["chrf", "comet", "cometkiwi", "labse"],
               "neural": {m: {"model": str(models[m]), "batch_size": 4} for m in ("comet", "cometkiwi", "labse")},
               **extra}
    return parse_config(_run_config(**section))


def _seed_rows():
    rows = [json.loads(line) for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if r["zh"].strip() and r["en"].strip()]


SHORT = [("我收到了你8月1日的信。", "I received your letter of August 1.", "I have received your letter of 1 August."),
         ("和平共处", "peaceful coexistence", "Peaceful coexistence"),
         ("美国和英国派遣自己的军队。", "", "The United States and Britain sent their troops.")]


@needs_models
@pytest.mark.parametrize("metric", ["comet", "cometkiwi"])
def test_short_segments_score_exactly_what_comets_own_predict_gives(metric, models):
    config = _neural_config(models).scoring.neural
    scorer = neural.make_scorer(metric, config)
    items = [scorer.inputs(*t) for t in SHORT]
    ours = scorer.score(items)
    keys = ("src", "mt", "ref") if metric == "comet" else ("src", "mt")
    with neural._quiet(), neural._pkg_resources_available():
        theirs = scorer.model.predict([dict(zip(keys, item)) for item in items], batch_size=2, gpus=0,
                                      progress_bar=False)
    assert [s.pieces for s in ours] == [1, 1, 1]
    assert [s.score for s in ours] == pytest.approx(theirs.scores, abs=1e-6)


@needs_models
@pytest.mark.parametrize("metric", ["comet", "cometkiwi"])
def test_long_paragraphs_are_split_to_fit_and_scored_as_the_length_weighted_mean(metric, models):
    config = _neural_config(models).scoring.neural
    scorer = neural.make_scorer(metric, config)
    row = max(_seed_rows(), key=lambda r: len(r["zh"]))
    item = scorer.inputs(row["zh"], row["en"], row["en"])  # the reference as its own hypothesis
    scorer.load()
    langs = [scorer.LANGS[r] for r in scorer.roles]
    groups = neural.aligned_groups(item, langs, [scorer._unit_fits(r) for r in scorer.roles], scorer._group_fits)
    assert len(groups) > 1
    # Nothing over the limit: each text within prepare_sample's max_length, and (CometKiwi) the
    # concatenation of mt and src within concat_sequences' budget.
    for group in groups:
        counts = [scorer._count(t) for t in group]
        assert max(counts) <= scorer.max_positions - 2
        if metric == "cometkiwi":
            assert sum(c - 2 for c in counts) <= scorer.max_positions - 5
    assert "".join(g[0] for g in groups) == "".join(neural.split_sentences(row["zh"], "zh"))
    [got] = scorer.score([item])
    keys = scorer.roles
    with neural._quiet(), neural._pkg_resources_available():
        pieces = scorer.model.predict([dict(zip(keys, g)) for g in groups], batch_size=4, gpus=0,
                                      progress_bar=False).scores
    weights = [sum(len(t) for t in g) for g in groups]
    assert got.pieces == len(groups)
    assert got.score == pytest.approx(sum(w * s for w, s in zip(weights, pieces)) / sum(weights), abs=1e-6)


@needs_models
def test_labse_is_the_cosine_of_the_models_own_embeddings_and_long_texts_are_embedded_piece_by_piece(models):
    config = _neural_config(models).scoring.neural
    scorer = neural.make_scorer("labse", config)
    scorer.load()
    short = [("和平共处", "peaceful coexistence"), ("我收到了你的信。", "")]
    got = scorer.score(short)
    vectors = scorer.model.encode([t for pair in short for t in pair], normalize_embeddings=True)
    assert [s.score for s in got] == pytest.approx([float(vectors[0] @ vectors[1]), float(vectors[2] @ vectors[3])],
                                                   abs=1e-6)
    row = max(_seed_rows(), key=lambda r: len(r["en"]))
    [long] = scorer.score([(row["zh"], row["en"])])
    assert long.pieces > 1 and -1.0 <= long.score <= 1.0 + 1e-9


@needs_models
def test_a_run_with_neural_metrics_has_the_columns_the_cis_the_reference_qe_and_a_rerun_reads_the_cache(
        models, tmp_path, monkeypatch):
    from evalkit.pipeline import run_pipeline

    systems = [{"name": "gloss", "backend": "gloss"},
               {"name": "first-line", "backend": "file", "path": str(tmp_path / "first.jsonl"), "allow_missing": True}]
    rows = _seed_rows()
    # A second system: each paragraph's first English sentence only (so the systems differ).
    with open(tmp_path / "first.jsonl", "w", encoding="utf-8") as handle:
        for r in rows:
            handle.write(json.dumps({"id": r["id"], "hyp": neural.split_sentences(r["en"], "en")[0]}) + "\n")
    data = {**_neural_config(models).model_dump(mode="json"), "systems": systems, "out": str(tmp_path / "run")}
    data["scoring"]["bootstrap"] = 100
    data["scoring"]["workers"] = 1
    summary, _ = run_pipeline(RunConfig.model_validate(data))
    run = tmp_path / "run"
    meta = json.loads((run / "scores.meta.json").read_text())
    assert meta["metrics"] == ["chrf"]  # the sacrebleu metrics, as the report reads them
    section = meta["neural"]
    assert section["metrics"] == ["comet", "cometkiwi", "labse"]
    scores = [json.loads(line) for line in (run / "scores.jsonl").read_text().splitlines()]
    assert len(scores) == 2 * len(rows)
    for row in scores:
        for m in ("comet", "cometkiwi", "labse"):
            assert isinstance(row["scores"][m], float) and row["stats"][m] == [row["scores"][m]]
        assert set(row["split"]) <= {"comet", "cometkiwi", "labse"}
    assert any(row["split"] for row in scores)  # the seed's long paragraphs were split
    for system in ("gloss", "first-line"):
        for m in ("comet", "cometkiwi", "labse"):
            corpus = section["corpus"][system][m]
            mine = [r["scores"][m] for r in scores if r["system"] == system]
            assert corpus["score"] == pytest.approx(float(np.mean(mine)), abs=1e-12) and corpus["n"] == len(rows)
            assert corpus["ci"][0] <= corpus["score"] <= corpus["ci"][1]
            assert corpus["signature"].startswith(f"{m}|model:{models[m]}|rev:folder-")
    assert {(t["metric"], t["test"]) for t in section["significance"]} == {
        (m, t) for m in ("comet", "cometkiwi", "labse") for t in ("paired-bs", "paired-ar")}
    qe = list(neural.iter_reference_qe(run))
    assert [r.id for r in qe] == [r["id"] for r in rows]
    assert all(set(r.scores) == {"cometkiwi", "labse"} and r.sentences is not None for r in qe)
    assert all(len(r.sentences.en) == len(neural.split_sentences(row["en"], "en")) for r, row in zip(qe, rows))
    assert section["reference_qe"]["file"] == "reference_qe.jsonl"
    assert section["reference_qe"]["corpus"]["cometkiwi"]["n"] == len(rows)
    computed = section["cache"]["paragraphs"]
    assert all(computed[m]["computed"] > 0 for m in ("comet", "cometkiwi", "labse"))
    assert summary["systems"]["gloss"]["corpus"]["chrf"]["score"] > 0  # the report still runs

    # Rerun: every number read back from the cache; no model is even loaded.
    before = {name: (run / name).read_bytes() for name in ("scores.jsonl", "reference_qe.jsonl")}
    neural_before = section

    def no_load(self):
        raise AssertionError(f"{self.metric}: a model was loaded although everything is cached")

    monkeypatch.setattr(neural.CometScorer, "load", no_load)
    monkeypatch.setattr(neural.LabseScorer, "load", no_load)
    run_pipeline(RunConfig.model_validate(data))
    assert {name: (run / name).read_bytes() for name in before} == before
    again = json.loads((run / "scores.meta.json").read_text())["neural"]
    assert all(again["cache"]["paragraphs"][m]["computed"] == 0 for m in ("comet", "cometkiwi", "labse"))
    assert again["corpus"] == neural_before["corpus"] and again["significance"] == neural_before["significance"]


@needs_models
def test_score_reference_qe_returns_typed_records_and_caches_them(models, tmp_path, monkeypatch):
    config = _neural_config(models).scoring.neural
    rows = _seed_rows()[:6]
    pairs = [(r["zh"], r["en"]) for r in rows]
    cache = tmp_path / "qe.sqlite"
    first = neural.score_reference_qe(pairs, config, cache=cache, ids=[r["id"] for r in rows])
    assert [r.id for r in first] == [r["id"] for r in rows]
    assert all(isinstance(r, neural.ReferenceQE) and set(r.scores) == {"cometkiwi", "labse"} for r in first)
    loc = first[2].sentences
    assert isinstance(loc, neural.SentenceLocalisation) and loc.en and loc.zh
    assert all(0 <= m.best < len(loc.zh) for m in loc.en)
    monkeypatch.setattr(neural.LabseScorer, "load", lambda self: pytest.fail("labse loaded again"))
    monkeypatch.setattr(neural.CometScorer, "load", lambda self: pytest.fail("cometkiwi loaded again"))
    assert neural.score_reference_qe(pairs, config, cache=cache, ids=[r["id"] for r in rows]) == first
    only_labse = neural.score_reference_qe(pairs[:2], config, metrics=["labse"], cache=cache, sentences=False)
    assert [r.scores["labse"] for r in only_labse] == [r.scores["labse"] for r in first[:2]]
    assert only_labse[0].sentences is None
    with pytest.raises(ValueError, match="reference-free"):
        neural.score_reference_qe(pairs, config, metrics=["comet"])


@needs_models
def test_the_encoder_option_builds_the_checkpoint_on_another_folder(models, tmp_path):
    copy = shutil.copytree(models["encoder"], tmp_path / "xlm-roberta-local")
    base = _neural_config(models).scoring.neural
    moved = parse_config(_run_config(metrics=["comet"], neural={"comet": {"model": str(models["comet"]),
                                                                          "encoder": str(copy)}})).scoring.neural
    a, b = neural.make_scorer("comet", base), neural.make_scorer("comet", moved)
    items = [a.inputs(*t) for t in SHORT]
    assert [s.score for s in b.score(items)] == pytest.approx([s.score for s in a.score(items)], abs=1e-7)
    assert b.model.hparams.pretrained_model == str(copy)


@needs_models
def test_a_reference_free_model_configured_as_comet_is_refused(models):
    config = parse_config(_run_config(metrics=["comet"], neural={"comet": {"model": str(models["cometkiwi"])}}))
    scorer = neural.make_scorer("comet", config.scoring.neural)
    with pytest.raises(NeuralMetricError, match="reference-free"):
        scorer.load()


@needs_models
def test_the_fingerprint_changes_with_the_model_and_the_dtype(models):
    base = neural.make_scorer("labse", _neural_config(models).scoring.neural)
    bf16 = parse_config(_run_config(metrics=["labse"], neural={"labse": {"model": str(models["labse"]),
                                                                         "dtype": "bf16"}})).scoring.neural
    other = parse_config(_run_config(metrics=["labse"], neural={"labse": {"model": str(models["encoder"])}})).scoring.neural
    fingerprints = {base.fingerprint, neural.make_scorer("labse", bf16).fingerprint,
                    neural.make_scorer("labse", other).fingerprint}
    assert len(fingerprints) == 3
    assert "dtype:bfloat16" in neural.make_scorer("labse", bf16).signature
