"""``evalkit ci --baseline`` (regression gates) and ``evalkit compare``: one run against another.

Both need per-paragraph rows of an earlier run, so the baseline must be a whole run folder:
its ``paragraphs.jsonl`` next to its ``summary.json``. Each configured system is compared with
the same-named baseline system on the paragraphs both runs scored against the same English.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from collections.abc import Mapping
from typing import Any

from evalkit.config import RunConfig
from evalkit.errors import InputError
from evalkit.jsonl import atomic_writer, read_jsonl
from evalkit.layout import RunLayout
from evalkit.pipeline import load_hyps
from evalkit.records import read_references


def _baseline_folder(path: str) -> Path:
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    if not (folder / "summary.json").exists():
        raise InputError(p, "baseline: expected a run's summary.json (or its folder)")
    if not (folder / "paragraphs.jsonl").exists():
        raise InputError(folder / "paragraphs.jsonl",
                         "baseline: the regression test needs the baseline run's paragraphs.jsonl next to its summary.json "
                         "(keep the whole run folder as the baseline)")
    return folder


def regression_gates(config: RunConfig, layout: RunLayout, baseline_path: str) -> tuple[list[Any], dict[str, Any]]:
    """One gate per system: fail only if the drop exceeds ``max_drop`` *and* a paired test finds it significant."""
    from evalkit.metrics.scoring import HIGHER_IS_BETTER, score_pairs
    from evalkit.metrics.scoring import paired_tests as run_paired
    from evalkit.report import Gate

    gate = config.gates.regression
    folder = _baseline_folder(baseline_path)
    try:
        base_summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(folder / "summary.json", f"not valid JSON ({exc.msg})") from None
    base_rows = {row["id"]: row for row in read_jsonl(folder / "paragraphs.jsonl")}
    metric = gate.metric if gate else "chrf"
    max_drop = gate.max_drop if gate else 1.0
    alpha = gate.alpha if gate else 0.05
    references = read_references(layout.reference)
    hyps = load_hyps(config, layout)
    info: dict[str, Any] = {"path": str(folder), "metric": metric, "max_drop": max_drop, "alpha": alpha, "systems": {}}
    gates = []
    for system, by_id in hyps.items():
        common = [r for r in references if r.id in base_rows and r.id in by_id and r.en.strip() and r.zh.strip()
                  and base_rows[r.id].get("en") == r.en
                  and (base_rows[r.id].get("systems", {}).get(system) or {}).get("hyp") is not None]
        if not common:
            info["systems"][system] = {"compared": 0, "note": "not in the baseline, or no common paragraphs"}
            continue
        base_hyps = [base_rows[r.id]["systems"][system]["hyp"] for r in common]
        pairs = [(h, r.en) for h, r in zip(base_hyps, common, strict=True)] + [(by_id[r.id].hyp, r.en) for r in common]
        segs = score_pairs(pairs, [metric], config.scoring.workers)
        base_stats = [s.stats[metric] for s in segs[:len(common)]]
        new_stats = [s.stats[metric] for s in segs[len(common):]]
        n_bs = max(2, config.scoring.bootstrap)
        (test,) = run_paired("baseline", base_stats, system, new_stats, metric, tests=("bs",),
                             n_bootstrap=n_bs, seed=config.scoring.seed)
        drop = -test["delta"] if HIGHER_IS_BETTER[metric] else test["delta"]
        significant = test["p_value"] < alpha
        failed = drop > max_drop and significant
        info["systems"][system] = {"compared": len(common), "baseline": test["score_a"], "current": test["score_b"],
                                   "drop": drop, "p_value": test["p_value"], "test": test["test"]}
        gates.append(Gate(f"regression[{system}]", not failed, round(drop, 4), max_drop,
                          f"{metric} {test['score_a']:.2f} → {test['score_b']:.2f} on {len(common)} paragraphs, "
                          f"p = {test['p_value']:.4f} (fails only if drop > {max_drop} and p < {alpha})"))
    info["baseline_version"] = base_summary.get("versions")
    return gates, info



# --- compare ------------------------------------------------------------------------------------


def _load_run(path: str) -> tuple[Path, dict[str, Any], dict[str, dict[str, Any]]]:
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    summary_path = folder / "summary.json"
    if not summary_path.exists():
        raise InputError(p, "expected a run folder with summary.json (or the summary.json itself)")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(summary_path, f"not valid JSON ({exc.msg})") from None
    rows = {row["id"]: row for row in read_jsonl(folder / "paragraphs.jsonl")} if (folder / "paragraphs.jsonl").exists() else {}
    return folder, summary, rows


def compare_runs(path_a: str, path_b: str, *, n_bootstrap: int = 1000, seed: int = 12345) -> dict[str, Any]:
    """What changed from run A to run B: corpus scores, paired significance where both runs have the
    same system's hypotheses on the same English, and paragraphs newly flagged or cleared."""
    from evalkit.metrics.scoring import score_pairs
    from evalkit.metrics.scoring import paired_tests as run_paired

    _, sa, rows_a = _load_run(path_a)
    _, sb, rows_b = _load_run(path_b)
    systems = []
    for name in sorted(set(sa.get("systems", {})) | set(sb.get("systems", {}))):
        a = sa.get("systems", {}).get(name)
        b = sb.get("systems", {}).get(name)
        entry: dict[str, Any] = {"system": name, "in_a": a is not None, "in_b": b is not None,
                                 "fingerprint_a": a and a.get("fingerprint"), "fingerprint_b": b and b.get("fingerprint"),
                                 "metrics": {}}
        for m in sorted(set((a or {}).get("corpus", {})) | set((b or {}).get("corpus", {}))):
            ca = (a or {}).get("corpus", {}).get(m)
            cb = (b or {}).get("corpus", {}).get(m)
            entry["metrics"][m] = {"a": ca and ca["score"], "b": cb and cb["score"],
                                   "delta": (cb["score"] - ca["score"]) if ca and cb else None}
        if a and b and rows_a and rows_b:
            common = [i for i in rows_a if i in rows_b and rows_a[i]["en"] == rows_b[i]["en"] and rows_a[i]["en"].strip()
                      and rows_a[i]["zh"].strip()
                      and (rows_a[i]["systems"].get(name) or {}).get("hyp") is not None
                      and (rows_b[i]["systems"].get(name) or {}).get("hyp") is not None]
            identical = bool(common) and all(
                rows_a[i]["systems"][name]["hyp"] == rows_b[i]["systems"][name]["hyp"] for i in common)
            if identical:
                # sacrebleu's paired tests give p = 1/(n+1) for a system against itself (its
                # convention: a zero difference is not "chance"); say what happened instead.
                score = (a.get("corpus", {}).get("chrf") or {}).get("score")
                entry["significance"] = {"metric": "chrf", "test": "identical", "paragraphs": len(common),
                                         "a": score, "b": score, "delta": 0.0, "p_value": 1.0}
            elif common:
                pairs = ([(rows_a[i]["systems"][name]["hyp"], rows_a[i]["en"]) for i in common]
                         + [(rows_b[i]["systems"][name]["hyp"], rows_b[i]["en"]) for i in common])
                segs = score_pairs(pairs, ["chrf"], 1)
                test = run_paired("A", [s.stats["chrf"] for s in segs[:len(common)]], "B",
                                  [s.stats["chrf"] for s in segs[len(common):]], "chrf", tests=("bs",),
                                  n_bootstrap=n_bootstrap, seed=seed)[0]
                entry["significance"] = {"metric": "chrf", "test": test["test"], "paragraphs": len(common),
                                         "a": test["score_a"], "b": test["score_b"], "delta": test["delta"],
                                         "p_value": test["p_value"]}
            else:
                entry["significance"] = None
        systems.append(entry)
    flagged_a = {i for i, r in rows_a.items() if r["flags"]}
    flagged_b = {i for i, r in rows_b.items() if r["flags"]}
    both = set(rows_a) & set(rows_b)
    return {
        "a": path_a, "b": path_b, "systems": systems,
        "newly_flagged": [{"id": i, "flags": [f["name"] for f in rows_b[i]["flags"]], "suspicion": rows_b[i]["suspicion"]}
                          for i in sorted(flagged_b - flagged_a) if i in both],
        "cleared": [{"id": i, "flags": [f["name"] for f in rows_a[i]["flags"]], "suspicion": rows_a[i]["suspicion"]}
                    for i in sorted(flagged_a - flagged_b) if i in both],
        "only_in_a": len(set(rows_a) - set(rows_b)), "only_in_b": len(set(rows_b) - set(rows_a)),
    }


def render_comparison(result: Mapping[str, Any]) -> str:
    from evalkit.report.render import METRIC_LABELS, md_cell

    out = ["# evalkit compare", "", f"A: `{md_cell(result['a'])}`  ", f"B: `{md_cell(result['b'])}`", "",
           "| system | metric | A | B | Δ (B−A) |", "|---|---|---|---|---|"]
    for s in result["systems"]:
        for m, v in s["metrics"].items():
            fa = "–" if v["a"] is None else f"{v['a']:.2f}"
            fb = "–" if v["b"] is None else f"{v['b']:.2f}"
            fd = "–" if v["delta"] is None else f"{v['delta']:+.2f}"
            out.append(f"| {md_cell(s['system'])} | {METRIC_LABELS.get(m, m)} | {fa} | {fb} | {fd} |")
    out.append("")
    for s in result["systems"]:
        sig = s.get("significance")
        if sig and sig["test"] == "identical":
            out.append(f"- {md_cell(s['system'])}: identical hypotheses on the {sig['paragraphs']} common paragraphs")
        elif sig:
            out.append(f"- {md_cell(s['system'])}: chrF {sig['a']:.2f} → {sig['b']:.2f} on {sig['paragraphs']} common "
                       f"paragraphs, paired bootstrap p = {sig['p_value']:.4f}")
        elif s["in_a"] and s["in_b"]:
            out.append(f"- {md_cell(s['system'])}: no paired test (no paragraphs with the same English in both runs)")
        else:
            out.append(f"- {md_cell(s['system'])}: only in run {'A' if s['in_a'] else 'B'}")
    out.append("")
    out.append(f"Newly flagged in B: {len(result['newly_flagged'])}; cleared: {len(result['cleared'])}; "
               f"paragraphs only in A: {result['only_in_a']}, only in B: {result['only_in_b']}")
    for title, key in (("Newly flagged", "newly_flagged"), ("Cleared", "cleared")):
        if result[key]:
            out += ["", f"## {title}", ""]
            out += [f"- {md_cell(p['id'])}: {md_cell(', '.join(p['flags']))} (suspicion {p['suspicion']:.2f})"
                    for p in result[key]]
    return "\n".join(out) + "\n"


def compare_command(args: argparse.Namespace) -> int:
    result = compare_runs(args.run_a, args.run_b)
    text = render_comparison(result)
    print(text, end="")
    if getattr(args, "out", None):
        with atomic_writer(Path(args.out)) as handle:
            handle.write(text)
    return 0


__all__ = ["compare_command", "compare_runs", "regression_gates", "render_comparison"]
