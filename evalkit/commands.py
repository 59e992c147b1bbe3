"""The ``run``, ``score``, ``report`` and ``ci`` commands: argument handling and console output over
the stages of ``evalkit.pipeline`` (and, for ``ci --baseline``, the regression gate of
``evalkit.compare``). The CLI imports this module only when one of these commands runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import Any

from evalkit.config import RunConfig, load_config
from evalkit.errors import InputError
from evalkit.layout import RunLayout
from evalkit.pipeline import report_stage, run_pipeline, score_stage


def _config_from_args(args: argparse.Namespace) -> RunConfig:
    return load_config(args.config, reference=getattr(args, "reference", None),
                       sources=getattr(args, "sources", None), out=getattr(args, "out", None))



def _print_outcome(summary: Mapping[str, Any], layout: RunLayout, out: Any = None) -> None:
    from evalkit.report.render import METRIC_LABELS, fmt_metric, leaderboard

    out = out or sys.stdout
    metrics = summary["metrics"]
    print(f"reports in {layout.root}/: summary.json report.md report.html paragraphs.jsonl paragraphs.csv junit.xml", file=out)
    for row in leaderboard(summary):
        cells = []
        for m in metrics:
            c = row["cells"][m]
            if c["score"] is not None:
                ci = f" [{fmt_metric(c['ci'][0], m)}, {fmt_metric(c['ci'][1], m)}]" if c["ci"] else ""
                cells.append(f"{METRIC_LABELS[m]} {fmt_metric(c['score'], m)}{ci}")
        print(f"  {row['name']:<16} " + "  ".join(cells) + f"  flagged {row['flagged']}/{row['paragraphs']}", file=out)
    for m, reason in summary.get("skipped", {}).items():
        print(f"  note: {METRIC_LABELS.get(m, m)} {reason}", file=out)
    flags = summary["flags"]
    print(f"  {flags['paragraphs_flagged']} paragraphs flagged, {flags['suspicious']} with suspicion ≥ "
          f"{flags['suspicion_threshold']}", file=out)
    for g in summary["gates"]:
        value = f"{g['value']:.4g}" if isinstance(g["value"], float) else g["value"]
        print(f"  gate {g['name']}: {'pass' if g['passed'] else 'FAIL'} (value {value}, limit {g['limit']})", file=out)


# --- commands -----------------------------------------------------------------------------------


def run_command(args: argparse.Namespace) -> int:
    config = _config_from_args(args)
    summary, _ = run_pipeline(config, refresh=getattr(args, "refresh", False))
    _print_outcome(summary, RunLayout.at(config.out))
    return 0


def _existing_run(args: argparse.Namespace) -> tuple[RunConfig, RunLayout]:
    """The config and the run folder a single-stage command works on; the folder must hold a run."""
    config = _config_from_args(args)
    layout = RunLayout.at(config.out)
    if not layout.reference.exists():
        raise InputError(layout.reference, "no reference set in this run folder; run `evalkit run` first")
    return config, layout


def score_command(args: argparse.Namespace) -> int:
    config, layout = _existing_run(args)
    score_stage(config, layout)
    print(f"scores in {layout.scores}")
    return 0


def report_command(args: argparse.Namespace) -> int:
    config, layout = _existing_run(args)
    summary, _ = report_stage(config, layout)
    _print_outcome(summary, layout)
    return 0


# --- ci -----------------------------------------------------------------------------------------


def ci_command(args: argparse.Namespace) -> int:
    """Run, check the gates (and the baseline); exit 0 pass, 1 a gate failed. Bad input raises (exit 2)."""
    config = _config_from_args(args)
    baseline = getattr(args, "baseline", None)
    if baseline:
        from evalkit.compare import _baseline_folder, regression_gates

        _baseline_folder(baseline)  # bad baseline: fail before the expensive part
    summary, _ = run_pipeline(config, refresh=getattr(args, "refresh", False),
                              extra_gates_fn=(lambda layout, hyps: regression_gates(config, layout, baseline, hyps))
                              if baseline else None)
    layout = RunLayout.at(config.out)
    _print_outcome(summary, layout)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(layout.report_md.read_text(encoding="utf-8") + "\n")
    if summary["passed"]:
        print("evalkit ci: all gates passed")
        return 0
    failed = [g["name"] for g in summary["gates"] if not g["passed"]]
    print(f"evalkit ci: FAILED gate(s): {', '.join(failed)}", file=sys.stderr)
    return 1


__all__ = ["ci_command", "report_command", "run_command", "score_command"]
