"""What every bench script shares: the machine line and writing its section of RESULTS.md.

Each ``bench_<area>.py`` writes ``bench/results/<area>.md``; ``run_all.py`` concatenates them.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "bench" / "results"


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


def offline_models() -> None:
    """Benchmarks build their models offline: never wait on the Hub, and keep tokenizers' own
    threads out of the timings. Call before transformers is imported."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
