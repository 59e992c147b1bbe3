"""GPU throughput at the real shapes: a naive per-paragraph loop vs evalkit's batched ``hf-seq2seq``.

    python bench/bench_gpu.py [--quick]                 # on a CUDA machine
    python bench/bench_gpu.py --dry-run                 # anywhere: the same code on the CPU, tiny sizes

Issue 5's GPU target: evalkit's batched path ≥ 25× the naive loop (an H200 measured 1.35 → 34.5
paragraphs/s for the opus-mt shape). Two random-weight models of the real shapes, built offline
(``bench_translate``'s builders): Helsinki-NLP/opus-mt-zh-en's Marian (vocabulary 65,001) and
NLLB-200-distilled-600M's M2M100 (vocabulary 256,206). Every paragraph is 200 source tokens and
every output is forced to 192 tokens, so both contenders do the same work per paragraph; the
naive loop is one fp32 greedy ``generate`` per paragraph on a sample (an eighth), evalkit is
``hf-seq2seq`` in bf16 with beam 4 (its default decoding) and large batches. Loading is not timed.

COMET (issue 12): evalkit's ``comet`` scorer (``evalkit.metrics.neural.CometScorer``: inputs
length-sorted and batched, bf16 autocast, over-long paragraphs split to fit) on a random-weight
model of Unbabel/wmt22-comet-da's shape, built offline — an XLM-R large encoder (24 layers, hidden
1024, vocabulary 250,002, 512 positions) under COMET's regression head (hidden sizes 3072, 1024) in
unbabel-comet's own checkpoint layout — scoring (Chinese, hypothesis, reference) triples made of
the seed's paragraphs (every triple distinct). One row: paragraphs/s and the paragraphs split to fit.
Needs the neural extra; without it the row says so.

Where no CUDA device is present the section is not rewritten: figures measured on a GPU machine
stay in bench/results/gpu.md, their outcome in bench/results/gpu.json (the script exits with
status 3, which ``run_all.py`` reports as "kept"), or, if there are none yet, the section says
"not measured". CTranslate2's GPU path is not measured: its 4.x wheels need CUDA 12
(``libcublas.so.12``) and the machines lent here have CUDA 13; the ``ct2`` backend reports that
as a clear error pointing to ``hf-seq2seq``.

``--dry-run`` runs the section's code on the CPU with 4 paragraphs and 8 output tokens and prints
the table without writing it: a check of the script before spending GPU time.

On a lent GPU machine (torch and transformers are in its image; pydantic and the other
evalkit dependencies it lacks travel as wheels, see bench/README.md):
``python3 bench/bench_gpu.py`` writes bench/results/gpu.md and its outcome, bench/results/gpu.json
(date, exit status, wall time, load, as ``run_all.py`` writes it); bring both back and run
``.venv/bin/python bench/run_all.py --only gpu`` here to fold them into RESULTS.md (the section
and its date are kept as measured).

Writes bench/results/gpu.md (and, when it measures on a GPU, bench/results/gpu.json).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

import _results  # bench/_results.py: the script's own folder is on sys.path
from _results import KEPT, RESULTS_DIR, load_average, offline_models, write_outcome, write_section

sys.path.insert(0, str(_results.REPO))
offline_models()

MEASURED_MARK = "<!-- measured on a GPU -->"


def shapes(device: str, quick: bool) -> list[tuple[str, object, int, int]]:
    """(title, builder, paragraphs, batch size) per model shape."""
    from bench_translate import build_nllb_shaped, build_opus_shaped_marian

    if device == "cpu":  # the dry run: the code path, not a measurement
        return [("opus-mt-zh-en shape", build_opus_shaped_marian, 4, 4), ("NLLB-600M shape", build_nllb_shaped, 4, 4)]
    return [("opus-mt-zh-en shape", build_opus_shaped_marian, 256 if quick else 1024, 128),
            ("NLLB-600M shape", build_nllb_shaped, 128 if quick else 512, 64)]


def measure(work: Path, device: str, quick: bool) -> list[str]:
    import torch
    from bench_translate import evalkit_row, make_paragraphs, naive_loop
    from transformers import AutoTokenizer

    src_tokens = 200
    out_tokens = 192 if device == "cuda" else 8
    name = torch.cuda.get_device_name(0) if device == "cuda" else "dry run on the CPU (not a GPU figure)"
    lines = [f"### {name}", "",
             f"{src_tokens} source tokens → {out_tokens} output tokens per paragraph (forced); naive: one fp32 greedy "
             "`generate` per paragraph on a sample; evalkit: `hf-seq2seq`, bf16, beam 4, length-sorted batches. "
             f"torch {torch.__version__}.", "",
             "| model | paragraphs (naive sample) | batch | naive fp32 greedy: paragraphs/s | "
             "evalkit bf16 beam 4: paragraphs/s | output tokens/s | speed-up | check |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    fixed = {"max_new_tokens": out_tokens, "min_new_tokens": out_tokens}
    for title, build, n, batch in shapes(device, quick):
        print(f"{title}: building", flush=True)
        folder = build(work / title.split()[0])  # type: ignore[operator]
        paragraphs = make_paragraphs(AutoTokenizer.from_pretrained(folder), n, src_tokens)
        naive = naive_loop(folder, paragraphs[: max(4, n // 8)], out_tokens, device=device)
        print(f"  naive: {naive.pps:.2f} paragraphs/s", flush=True)
        fast = evalkit_row("evalkit", {"name": "bench", "backend": "hf-seq2seq", "model": str(folder),
                                       "batch_size": batch, "max_input_tokens": src_tokens, "dtype": "bfloat16",
                                       "device": device, "generation": {"num_beams": 4, **fixed}},
                           paragraphs, out_tokens)
        print(f"  evalkit: {fast.pps:.2f} paragraphs/s", flush=True)
        lines.append(f"| {title} | {n} ({naive.paragraphs}) | {batch} | {naive.pps:.2f} | {fast.pps:.2f} | "
                     f"{fast.tps:.0f} | {fast.pps / naive.pps:.1f}× | {fast.note} |")
    lines += ["", "Target (issue 5): evalkit's batched path ≥ 25× the naive loop on GPU; reference: an H200 "
              "measured 1.35 → 34.5 paragraphs/s for the opus-mt shape."]
    return lines + comet_rows(work, device, quick)


def build_comet_shaped(folder: Path, real: bool) -> Path:
    """A COMET checkpoint (unbabel-comet's layout) with random weights: wmt22-comet-da's shape when
    ``real``, else tests/tiny_models.py's tiny one (the dry run). The encoder folder holds the
    corpus-trained tokenizer and the config; with ``load_pretrained_weights`` false COMET builds
    the encoder from that config, so its weights live in the checkpoint only."""
    sys.path.insert(0, str(_results.REPO / "tests"))
    import tiny_models

    encoder = tiny_models.build_xlmr_encoder(folder / "encoder", positions=512 if real else 64)
    hparams = dict(tiny_models.COMET_HPARAMS)
    if real:
        from transformers import XLMRobertaConfig, XLMRobertaTokenizer

        tokenizer = XLMRobertaTokenizer.from_pretrained(encoder)
        XLMRobertaConfig(vocab_size=250_002, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                         intermediate_size=4096, max_position_embeddings=514, pad_token_id=tokenizer.pad_token_id,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id).save_pretrained(encoder)
        for weights in encoder.glob("*.safetensors"):
            weights.unlink()  # the tiny weights: the checkpoint carries the real-shape ones
        hparams["hidden_sizes"] = [3072, 1024]  # wmt22-comet-da's head
    saved = tiny_models.COMET_HPARAMS
    tiny_models.COMET_HPARAMS = hparams
    try:
        return tiny_models.build_comet(folder / "comet", encoder, "comet")
    finally:
        tiny_models.COMET_HPARAMS = saved


def comet_rows(work: Path, device: str, quick: bool) -> list[str]:
    """The COMET throughput table (see the module docstring)."""
    import importlib.util
    import json

    head = ["", "COMET: evalkit's `comet` scorer on a random-weight model of Unbabel/wmt22-comet-da's shape "
            "(XLM-R large encoder, regression head 3072-1024), (Chinese, hypothesis, reference) triples from the "
            "seed, every one distinct; loading not timed.", "",
            "| model | paragraphs | batch | dtype | paragraphs/s | split to fit | check |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    if importlib.util.find_spec("comet") is None or importlib.util.find_spec("sentence_transformers") is None:
        return head + ["| wmt22-comet-da shape | – | – | – | not measured: the neural extra is not installed | – | – |"]
    from evalkit.config import NeuralConfig, NeuralMetricOptions
    from evalkit.metrics.neural import make_scorer

    real = device == "cuda"
    n, batch = (512 if quick else 2048, 64) if real else (8, 4)
    dtype = "bf16" if real else "fp32"
    print("COMET shape: building", flush=True)
    folder = build_comet_shaped(work / "comet-shaped", real)
    seed = [json.loads(line) for line in (_results.REPO / "reference" / "seed.jsonl").read_text(encoding="utf-8")
            .splitlines() if line.strip()]
    pairs = [(r["zh"], r["en"]) for r in seed if r["zh"].strip() and r["en"].strip()]
    items = []
    for k in range(n):
        zh, en = pairs[k % len(pairs)]
        items.append((zh, f"{en} ({k})", en))  # distinct hypotheses: nothing is scored twice
    scorer = make_scorer("comet", NeuralConfig(comet=NeuralMetricOptions(model=str(folder), batch_size=batch,
                                                                         device=device, dtype=dtype)))
    scorer.load()
    scorer.score(items[:batch])  # warm-up (CUDA kernels, autotuning): not timed
    if real:
        import torch

        torch.cuda.synchronize()
    started = time.perf_counter()
    scores = scorer.score(items)
    seconds = time.perf_counter() - started
    finite = all(s.score == s.score and abs(s.score) != float("inf") for s in scores)
    split = sum(s.pieces > 1 for s in scores)
    title = "wmt22-comet-da shape" if real else "tiny COMET (dry run)"
    return head + [f"| {title} | {n} | {batch} | {scorer.dtype} | {n / seconds:.1f} | {split} | "
                   f"{'scores finite' if finite else 'NON-FINITE SCORES'} |"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer paragraphs")
    parser.add_argument("--dry-run", action="store_true", help="the same code on the CPU, tiny sizes; writes nothing")
    args = parser.parse_args(argv)
    started, load = time.perf_counter(), load_average()
    import torch

    head = ["## GPU throughput at the real shapes: naive loop vs evalkit hf-seq2seq", ""]
    quick = " --quick" if args.quick else ""
    if args.dry_run:
        with tempfile.TemporaryDirectory(prefix="evalkit-bench-gpu-") as tmp:
            os.environ["EVALKIT_CACHE"] = str(Path(tmp) / "cache.sqlite")
            print("\n".join(measure(Path(tmp), "cpu", quick=True)))
        return 0
    if not torch.cuda.is_available():
        earlier = RESULTS_DIR / "gpu.md"
        if earlier.exists() and MEASURED_MARK in earlier.read_text(encoding="utf-8"):
            print(f"no CUDA device: keeping the GPU figures in {earlier.relative_to(_results.REPO)}")
            return KEPT
        write_section("gpu", head + [
            (f"Command: `.venv/bin/python bench/bench_gpu.py{quick}` (also run by `bench/run_all.py`), on a machine "
             "without CUDA."), "",
            "**Not measured — no GPU in the session that ran this.** The GPU target of issue 5 (evalkit's batched "
            "path ≥ 25× the naive loop at the opus-mt shape; NLLB-600M shape too) needs a CUDA machine: run "
            "`python3 bench/bench_gpu.py` there (bench/README.md says how). CTranslate2's GPU path is not "
            "benchmarked: on the CUDA 13 machines lent here it fails with \"libcublas.so.12 is not found\", which "
            "the ct2 backend reports as a clear error pointing to hf-seq2seq."])
        return 0
    with tempfile.TemporaryDirectory(prefix="evalkit-bench-gpu-") as tmp:
        os.environ["EVALKIT_CACHE"] = str(Path(tmp) / "cache.sqlite")
        measured = measure(Path(tmp), "cuda", args.quick)
    stamp = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    write_section("gpu", head + [MEASURED_MARK, f"Command: `python3 bench/bench_gpu.py{quick}`"
                                 f" on the GPU machine, {stamp}.", ""] + measured)
    # The outcome travels with the section: back on a machine without CUDA, `run_all.py --only gpu`
    # keeps both (exit 3), so RESULTS.md's table shows when and how the GPU figures were measured.
    write_outcome("gpu", 0, time.perf_counter() - started, load)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
