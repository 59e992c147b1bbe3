"""End to end: the default run's wall time with a cold and with a warm translation cache.

    .venv/bin/python bench/bench_e2e.py [--quick]

Runs the command a user runs, ``.venv/bin/evalkit run --config configs/default.yaml``, as a
fresh process each time (interpreter start-up and imports included), with the translation cache
and the run folder in a temporary directory:

  cold  an empty cache (every paragraph translated);
  warm  the same command again, 3 times (--quick: 2): every paragraph served from the cache.

The corpus scores of every run are asserted identical. Target: warm run < 5 s.

Writes bench/results/e2e.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from _results import write_section  # bench/_results.py: the script's own folder is on sys.path

REPO = Path(__file__).resolve().parent.parent
CONFIG = "configs/default.yaml"


def run(out: Path, cache: Path) -> tuple[float, dict]:
    evalkit = Path(sys.executable).parent / "evalkit"
    cmd = [str(evalkit), "run", "--config", CONFIG, "--out", str(out)]
    env = dict(os.environ, EVALKIT_CACHE=str(cache), HF_HUB_OFFLINE="1")
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if proc.returncode not in (0, 1):  # 1 = a gate failed: still a complete run
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return seconds, summary


def corpus_scores(summary: dict) -> dict:
    return {name: {m: v.get("score") for m, v in s.get("corpus", {}).items()} for name, s in summary["systems"].items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    warm_runs = 2 if args.quick else 3

    with tempfile.TemporaryDirectory(prefix="evalkit-bench-e2e-") as tmp:
        cache = Path(tmp) / "cache" / "translations.sqlite"
        out = Path(tmp) / "out"
        cold_s, cold = run(out, cache)
        print(f"cold: {cold_s:.1f} s", flush=True)
        warm = [run(out, cache) for _ in range(warm_runs)]
        for seconds, _ in warm:
            print(f"warm: {seconds:.1f} s", flush=True)
    for _, summary in warm:
        assert corpus_scores(summary) == corpus_scores(cold), "a warm run changed the scores"
    paragraphs = {name: s.get("paragraphs") for name, s in cold["systems"].items()}
    warm_median = statistics.median(s for s, _ in warm)
    stage_keys = ("reference_s", "translate_s", "score_s", "judge_s", "report_s")

    def stages(summary: dict) -> str:
        timings = summary.get("timings", {})
        return ", ".join(f"{k.removesuffix('_s')} {timings[k]:.2f}" for k in stage_keys if k in timings)

    lines = [
        "## End to end: the default run, cold and warm cache",
        "",
        f"Command: `.venv/bin/python bench/bench_e2e.py{' --quick' if args.quick else ''}` (also run by `bench/run_all.py`); "
        f"it times `.venv/bin/evalkit run --config {CONFIG} --out <tmp>` as a fresh process (start-up and imports "
        "included) with `EVALKIT_CACHE` in a temporary folder.",
        "",
        f"Systems and paragraphs: {', '.join(f'{k} {v}' for k, v in paragraphs.items())}. Corpus scores asserted "
        "identical across all runs.",
        "",
        "| run | wall s | stage timings from summary.json (s) | vs cold |",
        "| --- | --- | --- | --- |",
        f"| cold (empty cache) | {cold_s:.2f} | {stages(cold)} | 1.00× |",
    ]
    for i, (seconds, summary) in enumerate(warm, start=1):
        lines.append(f"| warm #{i} | {seconds:.2f} | {stages(summary)} | {cold_s / seconds:.2f}× faster |")
    lines += ["", f"Warm median **{warm_median:.2f} s** (target < 5 s: {'met' if warm_median < 5 else 'NOT met'})."]
    write_section("e2e", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
