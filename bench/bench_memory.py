"""Peak memory of the stages on large synthetic runs: does it stay flat as the corpus grows?

    .venv/bin/python bench/bench_memory.py [--quick] [--sizes 10000,100000,1000000] [--paired-at 100000]

A synthetic run folder of N paragraphs is made by replicating the seed reference set
(``reference/seed.jsonl``) under fresh ids, with the ``gloss`` system's real hypotheses for it
(translated once, then replicated alongside). Each stage then runs as the user runs it, one
``evalkit`` command per process, and its peak resident memory is read from the kernel
(``VmHWM`` of the process and ``ru_maxrss`` of its pool workers, read from inside it):

  read     ``read_references`` + ``read_hypotheses`` into lists (what the stages held before they
           streamed; no stage does this any more — kept as the yardstick);
  score    ``evalkit score``  (chrF + BLEU; TER off at this size, as the config's limit says);
  report   ``evalkit report`` (corpus scores + bootstrap, the judge's two passes, summary,
           Markdown/HTML/CSV/JUnit); the judge's share of its time is ``judge_s`` in summary.json.

Default sizes: 10,000, 100,000 and 1,000,000 paragraphs — the 1M run is measured, not
extrapolated, and takes most of this script's wall time (RESULTS.md's table gives it).
``--paired-at N`` adds a second system (the gloss hypotheses with every fifth word dropped) at
N paragraphs and runs score and report again: two systems bring the paired significance tests
(paired bootstrap and approximate randomisation over the stored statistics).

The translate stage is not included (its per-paragraph state is the cache, on disk); ingest is
measured by bench_ingest.py.

Writes bench/results/memory.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from _results import write_section  # bench/_results.py: the script's own folder is on sys.path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SCORING = {"metrics": ["chrf", "bleu"], "bootstrap": 200, "seed": 12345, "workers": None, "ter_max_paragraphs": 20000}


def _drop_fifth_words(text: str) -> str:
    return " ".join(w for i, w in enumerate(text.split(" ")) if i % 5 != 4)


def make_run(folder: Path, n: int, seed_refs: list, seed_hyps: dict, paired: bool = False) -> Path:
    """``folder`` holding reference.jsonl, hyps/gloss.jsonl and config.yaml for ``n`` paragraphs
    (``paired``: also hyps/gloss-b.jsonl, a second system, and both in the config)."""
    import yaml

    from evalkit.layout import RunLayout

    layout = RunLayout.at(folder)
    layout.hyps_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as files:
        refs = files.enter_context(layout.reference.open("w", encoding="utf-8"))
        hyps = files.enter_context(layout.hyps("gloss").open("w", encoding="utf-8"))
        second = files.enter_context(layout.hyps("gloss-b").open("w", encoding="utf-8")) if paired else None
        for i in range(n):
            base = seed_refs[i % len(seed_refs)]
            copy = i // len(seed_refs)
            record = base.to_dict()
            record["doc_id"] = f"{base.doc_id}~{copy}"
            record["id"] = f"{record['doc_id']}#{base.index:04d}"
            refs.write(json.dumps(record, ensure_ascii=False) + "\n")
            hyp = dict(seed_hyps[base.id], id=record["id"])
            hyps.write(json.dumps(hyp, ensure_ascii=False) + "\n")
            if second is not None:
                other = dict(hyp, system=hyp["system"].replace("gloss@", "gloss-b@", 1), hyp=_drop_fifth_words(hyp["hyp"]))
                second.write(json.dumps(other, ensure_ascii=False) + "\n")
    systems = [{"name": "gloss", "backend": "gloss"}] + ([{"name": "gloss-b", "backend": "gloss"}] if paired else [])
    config = {"reference": str(layout.reference), "out": str(folder), "systems": systems, "scoring": SCORING}
    (folder / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return folder / "config.yaml"


# Runs a snippet or the evalkit CLI, then reports its own peak RSS (VmHWM: this process since its
# exec) and the largest of its waited-for children (the scoring pool). Measured from inside
# because Linux carries ``ru_maxrss`` across exec: a child's rusage would include this
# (bigger) benchmark process's memory at fork time.
WRAP = """
import json, resource, sys
code = 0
try:
    if sys.argv[1] == "-c":
        exec(compile(sys.argv[2], "<snippet>", "exec"), {"__name__": "__main__", "ARGS": sys.argv[3:]})
    else:
        from evalkit.cli import main
        code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print("PEAK " + json.dumps({"self_kib": hwm, "children_kib": kids, "code": code}), file=sys.stderr)
"""


def measured(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB of the largest process) of one evalkit command or snippet."""
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", WRAP, *args], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - t
    peak = [line for line in proc.stderr.splitlines() if line.startswith("PEAK ")]
    if proc.returncode != 0 or not peak:
        raise RuntimeError(f"{args} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    info = json.loads(peak[-1][5:])
    if info["code"] not in (0, 1, None):  # 1: a gate failed, which is fine here
        raise RuntimeError(f"{args} exited {info['code']}:\n{proc.stderr[-2000:]}")
    return seconds, max(info["self_kib"], info["children_kib"]) / 1024


READ_ONLY = """
from evalkit.records import read_hypotheses, read_references
refs = read_references(ARGS[0]); hyps = read_hypotheses(ARGS[1])
"""


def _judge_seconds(folder: Path) -> float | None:
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    value = summary.get("timings", {}).get("judge_s")
    return None if value is None else float(value)


def _rss_growth(results: dict, stage: str, lo: int, hi: int) -> float:
    return (results[hi][stage][1] - results[lo][stage][1]) / ((hi - lo) / 10_000) if hi > lo else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", help="comma-separated paragraph counts (default 10000,100000,1000000; --quick 2000,10000)")
    parser.add_argument("--paired-at", type=int, default=None,
                        help="also run two systems at this many paragraphs (default 100000; --quick 2000; 0: skip)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in (args.sizes or ("2000,10000" if args.quick else "10000,100000,1000000")).split(",")]
    paired_at = args.paired_at if args.paired_at is not None else (2000 if args.quick else 100_000)

    from evalkit.config import SystemConfig
    from evalkit.records import read_references
    from evalkit.systems import Segment, create_system

    seed_refs = read_references(REPO / "reference/seed.jsonl")
    with create_system(SystemConfig(name="gloss", backend="gloss")) as gloss:
        translations = gloss.translate([Segment(r.id, r.zh) for r in seed_refs])
        fingerprint = gloss.fingerprint
    seed_hyps = {r.id: {"id": r.id, "system": fingerprint, "hyp": t.hyp if r.zh else "", "chunks": t.chunks if r.zh else 0,
                        "truncated": t.truncated, "cached": False} for r, t in zip(seed_refs, translations, strict=True)}

    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    results: dict[int, dict[str, tuple[float, float]]] = {}
    judge_s: dict[int, float | None] = {}
    files: dict[int, str] = {}
    paired: dict[str, tuple[float, float]] = {}
    paired_judge_s: float | None = None
    with tempfile.TemporaryDirectory(prefix="evalkit-bench-memory-") as tmp:
        for n in sizes:
            folder = Path(tmp) / f"n{n}"
            config = make_run(folder, n, seed_refs, seed_hyps)
            row = {
                "python + evalkit import": measured(["-c", "import evalkit.records, evalkit.cli"], env),
                "read reference + hyps": measured(["-c", READ_ONLY, str(folder / "reference.jsonl"),
                                                   str(folder / "hyps" / "gloss.jsonl")], env),
                "evalkit score": measured(["score", "--config", str(config)], env),
                "evalkit report": measured(["report", "--config", str(config)], env),
            }
            results[n] = row
            judge_s[n] = _judge_seconds(folder)
            sizes_mib = {p.name: p.stat().st_size / 2**20 for p in folder.iterdir() if p.is_file()}
            files[n] = ", ".join(f"{k} {v:.0f} MiB" for k, v in sorted(sizes_mib.items()) if v >= 1)
            print(n, row, f"judge_s {judge_s[n]}", flush=True)
            shutil.rmtree(folder)  # the 1M folder alone is ~4 GiB
        if paired_at:
            folder = Path(tmp) / f"paired{paired_at}"
            config = make_run(folder, paired_at, seed_refs, seed_hyps, paired=True)
            paired = {"evalkit score": measured(["score", "--config", str(config)], env),
                      "evalkit report": measured(["report", "--config", str(config)], env)}
            paired_judge_s = _judge_seconds(folder)
            summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
            tests = summary.get("significance", [])
            print("paired", paired, f"{len(tests)} paired tests", flush=True)

    lo, hi = sizes[0], sizes[-1]
    stages = list(results[lo])
    lines = [
        "## Peak memory of the stages as the corpus grows",
        "",
        f"Command: `.venv/bin/python bench/bench_memory.py{' --quick' if args.quick else ''}` (also run by `bench/run_all.py`).",
        "",
        f"Synthetic run folders of {', '.join(f'{n:,}' for n in sizes)} paragraphs (the seed reference set replicated "
        "under fresh ids, with the gloss system's real hypotheses); each stage run as its own `evalkit` process; "
        f"peak RSS from the kernel (largest process of the tree: the stage's own process or one of its pool workers). "
        f"Scoring: chrF + BLEU, bootstrap {SCORING['bootstrap']}, all cores ({os.cpu_count()} here). Every size is "
        "measured; none is extrapolated.",
        "",
        "| stage | " + " | ".join(f"{n:,} paragraphs: s / peak MiB" for n in sizes) + " | peak growth per 10k paragraphs |",
        "| --- | " + " | ".join("---" for _ in sizes) + " | --- |",
    ]
    for stage in stages:
        cells = [f"{results[n][stage][0]:.1f} / {results[n][stage][1]:.0f}" for n in sizes]
        lines.append(f"| {stage} | " + " | ".join(cells) + f" | {_rss_growth(results, stage, lo, hi):+.2f} MiB |")
    lines.append("| (of which the judge, `judge_s`) | " + " | ".join(
        "–" if judge_s[n] is None else f"{judge_s[n]:.1f} s" for n in sizes) + " | |")
    lines += ["", "Files per run folder: " + "; ".join(f"{n:,}: {files[n]}" for n in sizes) + ".", ""]
    if paired:
        tests_note = f"{len(tests)} paired tests (paired bootstrap {SCORING['bootstrap']} resamples and approximate " \
                     f"randomisation {10 * SCORING['bootstrap']} trials, per metric)"
        lines += [f"Two systems at {paired_at:,} paragraphs (gloss, and gloss with every fifth word dropped): "
                  f"{tests_note}, computed in `evalkit report` from the stored statistics.", "",
                  "| stage | 1 system: s / peak MiB | 2 systems: s / peak MiB |", "| --- | --- | --- |"]
        for stage in ("evalkit score", "evalkit report"):
            one = results.get(paired_at, {}).get(stage)
            lines.append(f"| {stage} | {'–' if one is None else f'{one[0]:.1f} / {one[1]:.0f}'} | "
                         f"{paired[stage][0]:.1f} / {paired[stage][1]:.0f} |")
        if paired_judge_s is not None:
            lines.append(f"| (of which the judge, `judge_s`) | "
                         f"{'–' if judge_s.get(paired_at) is None else f'{judge_s[paired_at]:.1f} s'} | {paired_judge_s:.1f} s |")
        lines.append("")
    lines.append(
        f"**Verdict:** from {lo:,} to {hi:,} paragraphs the peak of `evalkit score` grows "
        f"{_rss_growth(results, 'evalkit score', lo, hi):+.2f} MiB and of `evalkit report` "
        f"{_rss_growth(results, 'evalkit report', lo, hi):+.2f} MiB per 10,000 paragraphs, against "
        f"{_rss_growth(results, 'read reference + hyps', lo, hi):+.1f} MiB for holding the records. What remains is by "
        "design: compact numpy arrays of per-paragraph scores and sacrebleu statistics (72 bytes per paragraph for chrF, "
        "40 for BLEU), a 64-bit id hash and a few judge floats per paragraph, and the ids of unscored paragraphs "
        "(see the memory model in `evalkit/pipeline.py`). Ingest is measured in the ingest section; `ci --baseline` "
        "and `compare` stream through a temporary SQLite table (not measured here).")
    write_section("memory", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
