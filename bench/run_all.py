"""Rerun every benchmark and rewrite ``bench/RESULTS.md``.

    .venv/bin/python bench/run_all.py            # full sizes (about an hour on 2 cores; bench/README.md)
    .venv/bin/python bench/run_all.py --quick    # smoke run: small sizes, same code paths

Convention shared by every ``bench/bench_<area>.py``: run as a script (``--quick`` accepted),
it measures its baseline and its contenders in the same process run and writes one Markdown
section to ``bench/results/<area>.md`` (``## heading``, the command, the numbers, the ratio to
the baseline). This driver runs each one in its own subprocess, so that peak-memory figures
are per benchmark and one crash does not lose the others, then concatenates the sections
under a header that says on what machine, when and with which versions they were measured.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

# bench/_results.py: the script's own folder is on sys.path
from _results import KEPT, load_average, write_outcome

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS_DIR = BENCH / "results"
RESULTS = BENCH / "RESULTS.md"

# Sections in reading order; any other bench_*.py follows alphabetically.
ORDER = ["translate", "gpu", "ray", "scoring", "ingest", "memory", "gold", "judge", "e2e"]
VERSIONS = ["torch", "transformers", "ctranslate2", "ray", "sacrebleu", "sentencepiece"]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"') + f" (kernel {platform.release()})"
    except OSError:
        pass
    return platform.platform()


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _gpu() -> str:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
        names = [n.strip() for n in out.stdout.splitlines() if n.strip()]
        if out.returncode == 0 and names:
            return ", ".join(names)
    except (OSError, subprocess.TimeoutExpired):
        pass
    return "none (GPU figures are not measured in this run)"


def header(command: str, started: dt.datetime, wall_s: float, outcomes: list[dict]) -> str:
    lines = [
        "# evalkit benchmarks",
        "",
        "Every figure below was measured by one command on the machine described here; each section",
        "states its own command, sizes and baseline. Rerun with the command below to refresh this file.",
        "",
        f"- last command: `{command}`",
        f"- date: {started.strftime('%Y-%m-%d %H:%M:%S %Z').strip()} (total wall time {wall_s:.0f} s); "
        "a section rerun alone with `--only` keeps its own date in the table below",
        f"- machine: {os.cpu_count()} logical CPUs (`nproc` = {len(os.sched_getaffinity(0))}), {_cpu_model()}, RAM {_ram_gib()}",
        f"- GPU: {_gpu()}",
        f"- OS: {_os_name()}",
        f"- python {platform.python_version()}; " + "; ".join(f"{d} {_version(d)}" for d in VERSIONS),
        "",
        "The machine may be shared: the 1-minute load average before each bench is recorded, as a",
        "load above the core count means other processes competed for the CPU during that bench.",
        "",
        "| bench | measured | exit | wall s | load average before |",
        "| --- | --- | --- | --- | --- |",
    ]
    for o in outcomes:
        status = "ok" if o["rc"] == 0 else f"FAILED ({o['rc']})"
        lines.append(f"| {o['area']} | {o['date']} | {status} | {o['seconds']:.1f} | {o['load']} |")
    return "\n".join(lines) + "\n"


def load_outcomes(areas: list[str]) -> list[dict]:
    """Each section's last outcome (``bench/results/<area>.json``), in reading order."""
    outcomes = []
    for area in sorted(areas, key=_rank):
        path = RESULTS_DIR / f"{area}.json"
        if path.exists():
            outcomes.append(json.loads(path.read_text(encoding="utf-8")))
        else:  # a section measured before outcomes were kept beside it
            outcomes.append({"area": area, "date": "unknown", "rc": 0, "seconds": float("nan"), "load": "unknown"})
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of every benchmark")
    parser.add_argument("--only", action="append", metavar="AREA",
                        help="run only bench_<AREA>.py (repeatable); the other sections are kept as they are")
    args = parser.parse_args(argv)

    started = dt.datetime.now().astimezone()
    t0 = time.perf_counter()
    scripts = sorted(BENCH.glob("bench_*.py"), key=lambda p: _rank(p.stem.removeprefix("bench_")))
    if args.only:
        scripts = [p for p in scripts if p.stem.removeprefix("bench_") in set(args.only)]
    RESULTS_DIR.mkdir(exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    outcomes: list[dict] = []
    for script in scripts:
        area = script.stem.removeprefix("bench_")
        cmd = [sys.executable, str(script)] + (["--quick"] if args.quick else [])
        print(f"== {area}: {' '.join(cmd)}", flush=True)
        load = load_average()
        t = time.perf_counter()
        rc = subprocess.run(cmd, cwd=REPO, env=env).returncode
        secs = time.perf_counter() - t
        if rc == KEPT:  # nothing to measure on this machine (bench_gpu.py without CUDA): section and date kept
            print(f"== {area}: kept (exit {rc} in {secs:.1f} s: nothing to measure here; the section and its "
                  "outcome measured elsewhere stay)", flush=True)
            continue
        print(f"== {area}: exit {rc} in {secs:.1f} s", flush=True)
        outcomes.append(write_outcome(area, rc, secs, load))
        if rc != 0:
            # Keep the failure visible in RESULTS.md instead of silently reusing an old section.
            (RESULTS_DIR / f"{area}.md").write_text(
                f"## {area}\n\n**FAILED**: `{' '.join(['.venv/bin/python', f'bench/{script.name}'] + cmd[2:])}` "
                f"exited with status {rc} after {secs:.0f} s; see its output. No figures from this run.\n",
                encoding="utf-8")

    command = ".venv/bin/python bench/run_all.py" + (" --quick" if args.quick else "") + \
        "".join(f" --only {a}" for a in (args.only or []))
    sections = sorted(RESULTS_DIR.glob("*.md"), key=lambda p: _rank(p.stem))
    body = "\n".join(p.read_text(encoding="utf-8").rstrip() + "\n" for p in sections)
    table = load_outcomes([p.stem for p in sections])
    RESULTS.write_text(header(command, started, time.perf_counter() - t0, table) + "\n" + body, encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(REPO)}")
    return 0 if all(o["rc"] == 0 for o in outcomes) else 1  # a kept section is not an outcome of this run


def _rank(area: str) -> tuple[int, str]:
    return (ORDER.index(area) if area in ORDER else len(ORDER), area)


if __name__ == "__main__":
    raise SystemExit(main())
