"""`evalkit compare RUN_A RUN_B`: score changes, a paired test, paragraphs newly flagged or cleared."""

from __future__ import annotations

import json

import yaml

from conftest import REPO, SEED_HYPS
from evalkit.cli import main


def _run(tmp_path, name, system):
    config = tmp_path / f"{name}.yaml"
    config.write_text(yaml.safe_dump({
        "reference": str(REPO / "reference" / "seed.jsonl"), "out": str(tmp_path / name), "systems": [system],
        "scoring": {"metrics": ["chrf"], "bootstrap": 50, "workers": 1},
    }), encoding="utf-8")
    assert main(["run", "--config", str(config)]) == 0
    return tmp_path / name


def test_compare_reports_scores_significance_and_flag_changes(tmp_path, capsys):
    a = _run(tmp_path, "a", {"name": "mt", "backend": "file", "path": str(SEED_HYPS), "key": "zh", "allow_missing": True})
    b = _run(tmp_path, "b", {"name": "mt", "backend": "gloss"})
    capsys.readouterr()
    out_md = tmp_path / "compare.md"
    assert main(["compare", str(a), str(b / "summary.json"), "--out", str(out_md)]) == 0
    text = capsys.readouterr().out
    assert text == out_md.read_text(encoding="utf-8")
    sa = json.loads((a / "summary.json").read_text(encoding="utf-8"))["systems"]["mt"]["corpus"]["chrf"]["score"]
    sb = json.loads((b / "summary.json").read_text(encoding="utf-8"))["systems"]["mt"]["corpus"]["chrf"]["score"]
    assert f"| mt | chrF | {sa:.2f} | {sb:.2f} | {sb - sa:+.2f} |" in text
    assert "paired bootstrap p = " in text
    assert "Newly flagged in B:" in text


def test_compare_of_a_folder_without_summary_exits_2(tmp_path):
    (tmp_path / "empty").mkdir()
    assert main(["compare", str(tmp_path / "empty"), str(tmp_path / "empty")]) == 2


def test_a_system_compared_with_itself_is_reported_identical_not_significant(tmp_path, capsys):
    a = _run(tmp_path, "a", {"name": "mt", "backend": "gloss"})
    b = _run(tmp_path, "b", {"name": "mt", "backend": "gloss"})
    capsys.readouterr()
    assert main(["compare", str(a), str(b)]) == 0
    text = capsys.readouterr().out
    assert "mt: identical hypotheses on the" in text
    assert "paired bootstrap p" not in text
