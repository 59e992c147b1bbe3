"""`evalkit ci` exit codes: 0 pass, 1 a gate failed, 2 bad input or config; JUnit output."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from conftest import REPO, SEED_HYPS
from evalkit.cli import main

SEED_REF = REPO / "reference" / "seed.jsonl"


def _external(path: Path) -> dict:
    # allow_missing: the seed's hyps join the headline and the salutation in one line.
    return {"name": "mt", "backend": "file", "path": str(path), "key": "zh", "allow_missing": True}


def _config(tmp_path: Path, name: str, systems: list[dict], gates: dict | None = None) -> Path:
    data = {"reference": str(SEED_REF), "out": str(tmp_path / name), "systems": systems,
            "gates": gates if gates is not None else {"max_flagged_share": 0.9},
            "scoring": {"metrics": ["chrf"], "bootstrap": 200, "workers": 1}}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _ci(config: Path, *extra: str) -> int:
    return main(["ci", "--config", str(config), *extra])


def test_passing_gates_exit_0_and_write_the_step_summary(tmp_path, monkeypatch):
    step = tmp_path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    config = _config(tmp_path, "run", [_external(SEED_HYPS)], {"min_chrf": {"mt": 50.0}, "max_flagged_share": 0.9})
    assert _ci(config) == 0
    assert step.read_text(encoding="utf-8").startswith("# evalkit report")


def test_failed_gate_exits_1(tmp_path):
    config = _config(tmp_path, "run", [_external(SEED_HYPS)], {"min_chrf": {"mt": 99.0}})
    assert _ci(config) == 1
    summary = json.loads((tmp_path / "run" / "summary.json").read_text(encoding="utf-8"))
    assert [(g["name"], g["passed"]) for g in summary["gates"]] == [("min_chrf[mt]", False)]


def test_junit_parses_with_a_case_per_gate_and_per_flagged_paragraph(tmp_path):
    config = _config(tmp_path, "run", [_external(SEED_HYPS)], {"min_chrf": {"mt": 99.0}, "max_suspicious": 100})
    _ci(config)
    root = ET.parse(tmp_path / "run" / "junit.xml").getroot()
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"evalkit.gates", "evalkit.paragraphs"}
    gates = suites["evalkit.gates"].findall("testcase")
    assert [c.get("name") for c in gates] == ["min_chrf[mt]", "max_suspicious"]
    assert [c.find("failure") is not None for c in gates] == [True, False]
    rows = [json.loads(line) for line in (tmp_path / "run" / "paragraphs.jsonl").read_text(encoding="utf-8").splitlines()]
    flagged = [r["id"] for r in rows if r["flags"]]
    assert [c.get("name") for c in suites["evalkit.paragraphs"].findall("testcase")] == flagged
    assert int(suites["evalkit.paragraphs"].get("tests")) == len(flagged)


@pytest.fixture
def baseline(tmp_path) -> Path:
    """A baseline run of system 'mt' with the seed's external (good) hypotheses."""
    config = _config(tmp_path, "baseline", [_external(SEED_HYPS)])
    assert _ci(config) == 0
    return tmp_path / "baseline" / "summary.json"


def _regression(max_drop: float) -> dict:
    return {"max_flagged_share": 0.9, "regression": {"metric": "chrf", "max_drop": max_drop, "alpha": 0.05}}


def test_significant_regression_exits_1(tmp_path, baseline):
    # The same system name now backed by the word-by-word gloss: a large, significant drop.
    config = _config(tmp_path, "run", [{"name": "mt", "backend": "gloss"}], _regression(1.0))
    assert _ci(config, "--baseline", str(baseline)) == 1
    summary = json.loads((tmp_path / "run" / "summary.json").read_text(encoding="utf-8"))
    (gate,) = [g for g in summary["gates"] if g["name"] == "regression[mt]"]
    assert gate["passed"] is False and gate["value"] > 1.0
    assert summary["baseline"]["systems"]["mt"]["p_value"] < 0.05


def test_small_insignificant_drop_passes(tmp_path, baseline):
    rows = [json.loads(line) for line in SEED_HYPS.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows[5]["hyp"] = " ".join(rows[5]["hyp"].split()[:-3])  # three words fewer in one paragraph
    worse = tmp_path / "worse.jsonl"
    worse.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    config = _config(tmp_path, "run", [_external(worse)], _regression(0.0))
    assert _ci(config, "--baseline", str(baseline)) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text(encoding="utf-8"))
    (gate,) = [g for g in summary["gates"] if g["name"] == "regression[mt]"]
    assert gate["passed"] is True and gate["value"] > 0.0  # a real drop, larger than max_drop, not significant
    assert summary["baseline"]["systems"]["mt"]["p_value"] >= 0.05


@pytest.mark.parametrize("text", [
    "reference: x.jsonl\ngates: {min_chrf: {nosuch: 10}}\nsystems: [{name: a, backend: gloss}]\n",
    "reference: x.jsonl\ngatez: {}\n",
    "reference: [unclosed\n",
])
def test_bad_config_exits_2(tmp_path, text, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text(text, encoding="utf-8")
    assert _ci(config) == 2
    assert "evalkit: error:" in capsys.readouterr().err


def test_baseline_without_its_paragraphs_exits_2(tmp_path, capsys):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "summary.json").write_text("{}", encoding="utf-8")
    config = _config(tmp_path, "run", [_external(SEED_HYPS)])
    assert _ci(config, "--baseline", str(tmp_path / "old" / "summary.json")) == 2
    assert "paragraphs.jsonl" in capsys.readouterr().err
