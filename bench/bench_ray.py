"""The translate stage on Ray: 1 vs 2 workers on one machine (CPU), identical outputs asserted.

    .venv/bin/python bench/bench_ray.py [--quick]

Model: a random-weight Marian of opus-mt-zh-en's shape (see bench_translate.py), ``hf-seq2seq``,
greedy, a forced output length, batch 16; paragraphs cut from the archive's Chinese to a fixed
source length. Each configuration translates the same paragraphs with an empty cache:

  in-process   ``runner.translate_system`` (engine: local) — the baseline;
  Ray, 1 worker  ``engine: {name: ray, workers: 1}`` on a local Ray instance;
  Ray, 2 workers ``engine: {name: ray, workers: 2}``.

The Ray rows' wall time includes what a user pays: starting the actors (each imports torch and
transformers and loads the model) and moving batches; the Ray instance itself is started once,
before timing (its start-up is reported). CPU-only actors share the machine's cores less one left
to Ray (``OMP_NUM_THREADS`` = (cores - 1) / workers, at least 1), so on a 2-core machine each
worker runs 1 thread; the in-process baseline uses torch's default (all cores).

Writes bench/results/ray.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from _results import offline_models, write_section  # bench/_results.py: the script's own folder is on sys.path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
offline_models()


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    n, src_tokens, out_tokens, batch = (32, 100, 16, 16) if args.quick else (256, 100, 32, 16)

    import ray
    from transformers import AutoTokenizer

    from bench_translate import build_opus_shaped_marian, make_paragraphs
    from evalkit.config import EngineConfig, RunConfig, SystemConfig
    from evalkit.records import ReferenceRecord
    from evalkit.systems.ray_engine import _cpus_per_worker, local_ray_kwargs, translate_with_ray
    from evalkit.systems.runner import translate_system

    cores = len(os.sched_getaffinity(0))
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="evalkit-bench-ray-") as tmp:
        work = Path(tmp)
        folder = build_opus_shaped_marian(work / "opus")
        paragraphs = make_paragraphs(AutoTokenizer.from_pretrained(folder), n, src_tokens)
        references = [ReferenceRecord(id=f"bench#{i:04d}", doc_id="bench", index=i, zh=zh, en="", bead="1-1",
                                      align_cost=0.0) for i, zh in enumerate(paragraphs)]
        system = SystemConfig(name="opus-shape", backend="hf-seq2seq", model=str(folder), batch_size=batch,
                              max_input_tokens=src_tokens, device="cpu",
                              generation={"num_beams": 1, "max_new_tokens": out_tokens, "min_new_tokens": out_tokens})

        def config(name: str, engine: EngineConfig) -> RunConfig:
            return RunConfig(reference="unused", cache=str(work / f"{name}.sqlite"), systems=[system], engine=engine)

        t = time.perf_counter()
        baseline = translate_system(config("local", EngineConfig()), system, references)
        rows.append((f"in-process (engine: local; torch default, {torch_threads()} threads)", time.perf_counter() - t))
        print(f"in-process: {rows[-1][1]:.1f} s", flush=True)

        t = time.perf_counter()
        ray.init(**local_ray_kwargs(num_cpus=cores), log_to_driver=False)
        ray_start = time.perf_counter() - t
        outputs = {}
        try:
            for workers in (1, 2):
                engine = EngineConfig(name="ray", workers=workers)
                t = time.perf_counter()
                outputs[workers] = translate_with_ray(config(f"ray{workers}", engine), system, references, progress=False)
                threads = int(_cpus_per_worker(ray, engine))
                rows.append((f"Ray, {workers} worker{'s' if workers > 1 else ''} ({threads} thread{'s' if threads > 1 else ''} "
                             "each)", time.perf_counter() - t))
                print(f"{rows[-1][0]}: {rows[-1][1]:.1f} s", flush=True)
        finally:
            ray.shutdown()

    expected = [(r.id, r.system, r.hyp, r.chunks, r.truncated) for r in baseline]
    for workers, records in outputs.items():
        got = [(r.id, r.system, r.hyp, r.chunks, r.truncated) for r in records]
        assert got == expected, f"Ray with {workers} worker(s) produced different hypotheses than in-process"
    assert not any(r.cached for rs in outputs.values() for r in rs), "every run must start from an empty cache"

    base = rows[0][1]
    one = rows[1][1]
    lines = [
        "## Ray: 1 vs 2 workers on one machine (CPU)",
        "",
        f"Command: `.venv/bin/python bench/bench_ray.py{' --quick' if args.quick else ''}` (also run by `bench/run_all.py`).",
        "",
        f"{n} paragraphs × {src_tokens} source tokens → {out_tokens} output tokens (forced), `hf-seq2seq`, greedy, "
        f"batch {batch}, random-weight opus-mt-zh-en-shaped Marian; {cores} cores; local Ray instance started once "
        f"in {ray_start:.1f} s (not included below). Each row starts from an empty translation cache. Ray wall times "
        "include actor start-up (torch/transformers import and model load per actor) and the describe task. "
        "**Hypotheses of both Ray runs are asserted identical to the in-process run** (id, fingerprint, text, "
        "chunks, truncated).",
        "",
        "| engine | wall s | paragraphs/s | vs in-process | vs Ray 1 worker |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, seconds in rows:
        ray_ratio = f"{one / seconds:.2f}×" if name.startswith("Ray") else "—"
        lines.append(f"| {name} | {seconds:.1f} | {n / seconds:.2f} | {base / seconds:.2f}× | {ray_ratio} |")
    lines += ["", f"2 workers vs 1 worker: **{one / rows[2][1]:.2f}×**. On one {cores}-core machine the replicas "
              "share the same cores, so the gain is bounded by the cores (and by actor start-up, paid once per "
              "replica); Ray pays off across GPUs and nodes, where each replica brings its own device."]
    write_section("ray", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
