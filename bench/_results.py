"""What every bench script shares: the machine line and writing its section of RESULTS.md.

Each ``bench_<area>.py`` writes ``bench/results/<area>.md``; ``run_all.py`` concatenates them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "bench" / "results"
# A bench script's exit status for "nothing measurable on this machine; the section measured
# elsewhere is kept" (bench_gpu.py without CUDA); run_all.py shows it as "kept".
KEPT = 3


def machine() -> str:
    """``2 CPUs (Intel(R) Xeon(R) …), 23.5 GiB RAM, Python 3.11.7`` from /proc where it exists."""
    cpu = platform.processor() or "unknown"
    ram = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
        kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal:"))
        ram = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        pass  # not Linux: the platform's own description stays
    return f"{os.cpu_count()} CPUs ({cpu}), {ram} RAM, Python {platform.python_version()}"


def write_section(area: str, lines: list[str]) -> Path:
    """Write ``bench/results/<area>.md`` and say where it went."""
    target = RESULTS_DIR / f"{area}.md"
    target.parent.mkdir(exist_ok=True)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {target.relative_to(REPO)}")
    return target


def write_outcome(area: str, rc: int, seconds: float, load: str) -> dict:
    """Write ``bench/results/<area>.json``, the section's outcome that RESULTS.md's table shows:
    when it was measured (now), the exit status, the wall time and the 1-minute load average
    before it. Written by ``run_all.py`` for every script it runs, and by ``bench_gpu.py`` itself
    when it measures on a GPU machine (its section then travels back with its own outcome)."""
    outcome = {"area": area, "date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"), "rc": rc,
               "seconds": round(seconds, 1), "load": load}
    target = RESULTS_DIR / f"{area}.json"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(outcome) + "\n", encoding="utf-8")
    return outcome


def load_average() -> str:
    """The 1-minute load average, as the outcome records it."""
    return f"{os.getloadavg()[0]:.2f}"


def offline_models() -> None:
    """Benchmarks build their models offline: never wait on the Hub, and keep tokenizers' own
    threads out of the timings. Call before transformers is imported."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
