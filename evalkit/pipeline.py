"""The score and report stages, and ``run_pipeline`` (ingest/read, translate, score, report), over a run folder.

The commands over them are ``evalkit.commands``; the streamed inputs are ``evalkit.run_inputs``.

A run folder (``RunLayout``) holds, after ``evalkit run``::

    reference.jsonl      the reference set used (copied, or ingested from the config's sources)
    hyps/<system>.jsonl  each system's hypotheses (the translate stage, cached)
    scores.jsonl         per paragraph and system: sacrebleu scores and sufficient statistics
    scores.meta.json     which metrics were computed or skipped, and why; unscored paragraphs
    paragraphs.jsonl/.csv, summary.json, report.md, report.html, junit.xml

``score`` needs ``reference.jsonl`` and ``hyps/``; ``report`` needs those and ``scores.jsonl``
(corpus scores, CIs and paired tests are recomputed there from the stored statistics, which is
cheap and bit-identical). Nothing imports torch unless a configured backend needs it.

Memory model (issue 5, "bounded memory"). ``score`` and ``report`` stream their inputs: they read
``reference.jsonl``, ``hyps/<system>.jsonl`` and ``scores.jsonl`` line by line, in reference order,
and keep per paragraph only compact numeric arrays, never the records:

* the reference is read several times (a survey pass, then each stage's passes) rather than held;
  the survey keeps a 64-bit hash per paragraph id (8 bytes) to check ids are unique, to find
  each ``scores.jsonl`` row's paragraph without a table of id strings and to check the order of
  the hyps files; ``run`` and ``ci`` survey once for all stages (``RunInputs``);
* hypotheses are looked up in lockstep with the reference: the translate stage writes them in
  reference order, and a first pass over each file checks that (each id's hash a later one of
  the survey's).
  A file in another order (a user's own, or hand-edited) is loaded into an id → record table
  instead — correct, but that system then costs memory in proportion to the corpus;
* ``score`` cuts each system's rows into tasks of ``_SCORE_TASK`` paragraphs (``_SCORE_TASK_RAY``
  on Ray) and appends each
  task's scores.jsonl lines as they come back, in order;
* ``report`` keeps each system's per-paragraph scores and sacrebleu statistics as numpy arrays
  (int32 counts: 72 bytes per paragraph for chrF, 40 for BLEU) for corpus scores, bootstrap CIs
  and paired tests; the judge learns its corpus statistics in a first pass (a few floats per
  paragraph and system: ``judge.CorpusModel``, which folds each paragraph's
  ``paragraph_features``) and judges in a second (tasks of ``_JUDGE_TASK`` paragraphs, each sent
  with only its slice of the model, ``CorpusModel.shard``), and each paragraph row goes straight
  to paragraphs.jsonl / paragraphs.csv / junit.xml (a spool file for the test cases, since the
  suite's counts come first) while only the ``_HTML_ROWS`` most suspicious rows are kept for
  report.html (which says how many rows the CSV has) and the top 10 for report.md.

Where the per-paragraph work runs (issue "Scale"): both stages hand their tasks to
``evalkit.shard``, which runs them in a fork pool of ``scoring.workers`` processes (all cores by
default; this process alone with 1), or, with ``engine: {name: ray}`` and at least
``engine.shard_min_paragraphs`` scored paragraphs, as Ray tasks on the engine's cluster. Either way
at most a couple of tasks per worker are in flight and the results come back in task order, so
this process holds a bounded window of records (a few thousand paragraphs), whatever the corpus
size, and writes byte-identical outputs on every path; it still reads the inputs and writes
every row itself. The pool's workers are forked after the judge's dictionaries are loaded
(``judge.core.prepare``), so they share them. scores.meta.json and summary.json say which path
ran (``sharding``); the judge's ``judge_s`` timing covers both passes, writing the rows included.

What still grows with the corpus: those arrays; the ids and reasons of unscored (1-0 / 0-1)
paragraphs in scores.meta.json; the set of document ids. The bootstrap CIs and the paired
significance tests draw their resamples one row (or one block of rows) at a time
(``metrics.scoring``), so they hold O(n), not n_bootstrap × n. Before these stages, ``ingest``
and the run's reference copy stream (a 64-bit hash per id); ``translate`` reads the reference in
windows of ``engine.window`` paragraphs (default ``systems.runner.WINDOW``; precomputed ``file`` systems still see the whole
set); ``ci --baseline`` and ``compare`` stream ``paragraphs.jsonl`` into a temporary SQLite table
and keep only int32 statistics arrays.

The regression gate of ``evalkit ci --baseline`` and ``evalkit compare`` live in ``evalkit.compare``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evalkit.config import RunConfig
from evalkit.reference_set import iter_references, prepare_references
from evalkit.errors import ConfigError, InputError
from evalkit.jsonl import atomic_writer, dumps, iter_jsonl
from evalkit.layout import RunLayout
from evalkit.records import HypothesisRecord, ReferenceRecord, id_hash
from evalkit.run_inputs import ReferenceSurvey, RunInputs, kth_scored_id, open_run

# --- loading ------------------------------------------------------------------------------------


def _scores_meta_path(layout: RunLayout) -> Path:
    return layout.root / "scores.meta.json"


def _metric_names(config: RunConfig) -> list[str]:
    names = list(config.scoring.metrics)
    # A min_chrf gate needs chrF even when the config scores only other metrics.
    if config.gates.min_chrf and "chrf" not in names:
        names.append("chrf")
    return names


def _write_json(path: Path, obj: Any) -> None:
    with atomic_writer(path) as handle:
        handle.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def _write_text(path: Path, text: str) -> None:
    with atomic_writer(path) as handle:
        handle.write(text)


# --- streaming inputs ---------------------------------------------------------------------------

# Paragraphs per task (``evalkit.shard``): the score stage's rows (per system), locally and on Ray
# (where a task's overhead is a few ms), and the judge's paragraphs in each of its two passes.
_SCORE_TASK = 64
_SCORE_TASK_RAY = 512
_JUDGE_TASK = 256
# Paragraph rows report.html shows (the most suspicious); report.md shows the top 10.
_HTML_ROWS = 300
_MD_ROWS = 10


def score_stage(config: RunConfig, layout: RunLayout, inputs: RunInputs | None = None) -> None:
    """Paragraph scores and statistics → scores.jsonl (+ scores.meta.json), streamed task by task
    from the run folder's reference.jsonl and hyps/ through ``evalkit.shard`` (a local pool, or
    Ray for a large corpus with ``engine: ray``). ``inputs``: the folder's, already opened."""
    from evalkit.iterables import chunked
    from evalkit.shard import ScoreRow, open_shards, score_rows

    started = time.perf_counter()
    metric_names = [m for m in ("chrf", "chrf++", "bleu", "ter") if m in _metric_names(config)]
    inputs = inputs or open_run(config, layout)
    survey = inputs.survey
    n_scored = len(survey.scored_hashes)
    skipped: dict[str, str] = {}
    if "ter" not in metric_names:
        skipped["ter"] = ("not computed: not in scoring.metrics (opt-in, as TER takes ~0.3-6 s per long paragraph; "
                          "add `ter` to compute it)")
    limit = config.scoring.ter_max_paragraphs
    if "ter" in metric_names and n_scored > limit:
        metric_names.remove("ter")
        skipped["ter"] = (f"skipped: {n_scored} paragraphs exceed scoring.ter_max_paragraphs={limit} "
                          "(TER costs ~300 ms per long paragraph; raise the limit to compute it)")
    lookups = inputs.hyps
    systems = list(lookups)
    missing = dict.fromkeys(systems, 0)

    # --- neural metrics (issue 12; evalkit.metrics.neural): None unless scoring.metrics names one.
    # Every neural score is computed here, model by model, into its cache (and reference_qe.jsonl
    # written) before the pool forks; the loop below adds the cached columns to each task's lines.
    from evalkit.metrics.neural import NeuralStage

    neural = NeuralStage.open(config, layout.root)
    if neural is not None:
        try:
            neural.prefill(layout.reference, survey.unscored, lookups)
        except BaseException:
            neural.close()
            raise
    # --- end of neural metrics

    def rows() -> Iterator[tuple[ScoreRow, str]]:
        # System by system, as before: all of one system's rows, then the next system's; each
        # row with its Chinese source (for the neural metrics; not sent to the workers).
        for system in systems:
            lookup = lookups[system]
            lookup.begin()
            for r in iter_references(layout.reference):
                hyp = lookup.get(r.id)  # for every paragraph: the lookup walks in reference order
                if r.id in survey.unscored:
                    continue
                if hyp is None:
                    missing[system] += 1
                yield (r.id, system, hyp.system if hyp else None, hyp.hyp if hyp else "", r.en), r.zh

    names = tuple(metric_names)
    try:
        with open_shards(config, n_scored) as shards, atomic_writer(layout.scores) as out:
            size = _SCORE_TASK_RAY if shards.kind == "ray" else _SCORE_TASK
            tasks = ((block if neural is not None else None, (names, [row for row, _ in block]))
                     for block in chunked(rows(), size))
            for block, lines in shards.map(score_rows, tasks):
                out.write(lines if neural is None else neural.merge_lines(lines, block))
            sharding = shards.describe()
        meta: dict[str, Any] = {
            "metrics": metric_names, "skipped": skipped, "unscored": survey.unscored, "missing_hyps": missing,
            "systems": systems, "sharding": sharding,
            "timings": {"paragraph_scores_s": round(time.perf_counter() - started, 3)},
        }
        if neural is not None:
            meta["neural"] = neural.finish(systems)  # corpus means, CIs, paired tests, signatures, models
    finally:
        if neural is not None:
            neural.close()
    _write_json(_scores_meta_path(layout), meta)


@dataclass
class ScoreArrays:
    """The score stage's numbers for a report: per system and metric, each scored paragraph's
    score (float64, NaN: none) and sacrebleu statistics (``metrics.scoring.stats_array``), row
    ``k`` for the ``k``-th scored paragraph in reference order; plus what is derived from them."""

    metrics: list[str]
    unscored: dict[str, str]
    scores: dict[str, dict[str, Any]]
    stats: dict[str, dict[str, Any]]
    corpus: dict[str, dict[str, Any]] = field(default_factory=dict)
    significance: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    missing_hyps: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    sharding: dict[str, Any] = field(default_factory=dict)  # where the score stage ran (``evalkit.shard``)
    neural: dict[str, Any] = field(default_factory=dict)  # scores.meta.json's ``neural`` (none: {})

    def paragraph(self, system: str, k: int | None) -> dict[str, float | None] | None:
        """The ``k``-th scored paragraph's scores for ``system`` (None: not scored)."""
        if k is None:
            return None
        out: dict[str, float | None] = {}
        for m, values in self.scores[system].items():
            v = float(values[k])
            out[m] = None if v != v else v  # NaN: no score stored
        return out


def load_scores(layout: RunLayout, survey: ReferenceSurvey, systems: Sequence[str],
                n_bootstrap: int, seed: int) -> ScoreArrays:
    """scores.jsonl → ``ScoreArrays`` (corpus scores, CIs and significance from the stored statistics)."""
    from evalkit.metrics.scoring import aggregate_arrays, stats_array

    meta_path = _scores_meta_path(layout)
    if not layout.scores.exists() or not meta_path.exists():
        raise InputError(layout.scores, "no scores in this run folder; run `evalkit score` or `evalkit run` first")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(meta_path, f"not valid JSON ({exc.msg})") from None
    missing_systems = [s for s in systems if s not in meta.get("systems", [])]
    if missing_systems:
        raise InputError(layout.scores, f"no scores for system(s) {', '.join(missing_systems)}; run `evalkit score` again")
    metrics = list(meta["metrics"])
    # Scored = not unscored in the meta, as the score stage decided (not re-derived here).
    unscored = dict(meta["unscored"])
    survey_unscored = set(survey.unscored)
    if survey_unscored == set(unscored):
        hashes = survey.scored_hashes
    else:
        hashes = np.array([id_hash(r.id) for r in iter_references(layout.reference) if r.id not in unscored],
                          dtype=np.uint64)
    n = len(hashes)
    # Neural metrics (scores.meta.json's ``neural``) have per-paragraph scores but no statistics.
    neural = dict(meta.get("neural") or {})
    neural_metrics = [m for m in neural.get("metrics", []) if m not in metrics]
    scores = {s: {m: np.full(n, np.nan) for m in (*metrics, *neural_metrics)} for s in systems}
    stats: dict[str, dict[str, Any]] = {s: {} for s in systems}
    filled = {s: np.zeros(n, dtype=bool) for s in systems}
    position = dict.fromkeys(systems, 0)
    index: dict[int, int] | None = None  # hash -> row, built only if rows come out of order
    for lineno, obj in iter_jsonl(layout.scores):
        system = obj.get("system")
        if system not in filled:
            continue
        try:
            h = id_hash(obj["id"])
            row_scores, row_stats = obj["scores"], obj["stats"]
            k = position[system]
            if k < n and hashes[k] == h:
                position[system] = k + 1
            else:
                if index is None:
                    index = {int(v): i for i, v in enumerate(hashes)}
                found = index.get(h)
                if found is None:
                    continue  # a paragraph no longer in the reference
                k = found
            for m in metrics:
                values = row_stats[m]
                if m not in stats[system]:
                    stats[system][m] = np.zeros((n, len(values)), dtype=stats_array(m, [values]).dtype)
                stats[system][m][k] = values
                score = row_scores.get(m)
                scores[system][m][k] = np.nan if score is None else score
            for m in neural_metrics:
                score = row_scores.get(m)
                scores[system][m][k] = np.nan if score is None else float(score)
            filled[system][k] = True
        except (KeyError, TypeError, AttributeError, ValueError):
            raise InputError(layout.scores, "expected fields 'id', 'system', 'scores', 'stats' (with every scored "
                                            f"metric: {', '.join(metrics)})", lineno) from None
    for s in systems:
        absent = np.flatnonzero(~filled[s])
        if len(absent):
            first = kth_scored_id(layout.reference, unscored, int(absent[0]))
            raise InputError(layout.scores, f"system {s!r} has no scores for {len(absent)} paragraph(s) "
                                            f"(first: {first}); the reference changed since scoring — run `evalkit score` again")
        for m in metrics:
            stats[s].setdefault(m, np.zeros((n, 0), dtype=np.int32))
    corpus, significance, skipped, timings = aggregate_arrays(stats, metrics, n_bootstrap=n_bootstrap, seed=seed)
    return ScoreArrays(metrics, unscored, scores, stats, corpus, significance,
                       {**meta.get("skipped", {}), **skipped}, dict(meta.get("missing_hyps", {})),
                       {**meta.get("timings", {}), **timings}, dict(meta.get("sharding", {})), neural)


def report_stage(config: RunConfig, layout: RunLayout, *, extra_gates: Sequence[Any] = (),
                 baseline: dict[str, Any] | None = None, timings: Mapping[str, float] | None = None,
                 inputs: RunInputs | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Judge and write every report of a scored run folder, streaming (see the module docstring);
    return (summary, the most suspicious paragraph rows report.html shows).

    The judge's per-paragraph work runs in tasks of ``_JUDGE_TASK`` paragraphs through
    ``evalkit.shard`` (a local pool, or Ray for a large corpus with ``engine: ray``): pass 1's
    ``paragraph_features`` folded into the ``CorpusModel`` in order, then pass 2's judgements,
    each task with its ``CorpusModel.shard``; this process writes the rows in reference order.
    """
    from evalkit.judge import JudgeParams
    from evalkit.judge.core import CorpusModel, features_chunk, judge_chunk, prepare
    from evalkit.report.render import (
        JUNIT_CASE_SEPARATOR,
        CsvWriter,
        HtmlDigest,
        junit_case,
        junit_frame,
        render_html,
        render_markdown,
    )
    from evalkit.report.summary import (
        Tally,
        TopRows,
        build_summary,
        divergent_order,
        html_order,
        paragraph_row,
    )
    from evalkit.iterables import chunked
    from evalkit.shard import open_shards

    inputs = inputs or open_run(config, layout)
    survey, lookups = inputs.survey, inputs.hyps
    systems = list(lookups)
    started = time.perf_counter()
    scores = load_scores(layout, survey, systems, config.scoring.bootstrap, config.scoring.seed)
    params = JudgeParams(fault_threshold=0.5)
    has_chrf = "chrf" in scores.metrics

    # --- neural metrics and reference QE (issue 12): nothing changes without them. The neural
    # columns (scores.meta.json's `neural`: corpus scores, CIs, paired tests) join the report's
    # metrics and each paragraph row; reference_qe.jsonl, when this run's score stage wrote it, is
    # read in lockstep with the reference and given to the judge as evidence (judge.qe).
    from evalkit.judge.qe import RunQE

    neural_meta = scores.neural or None  # load_scores read the neural columns with the rest
    row_metrics = list(scores.metrics)
    if neural_meta:
        row_metrics += [m for m in neural_meta.get("metrics", []) if m not in row_metrics]
    run_qe = RunQE.open(layout.root, neural_meta)
    # --- end of neural metrics and reference QE

    Paragraph = tuple[ReferenceRecord, dict[str, HypothesisRecord | None], int | None, dict[str, float], Any]

    def paragraphs() -> Iterator[Paragraph]:
        for lookup in lookups.values():
            lookup.begin()
        qe_lookup = run_qe.lookup() if run_qe is not None else None
        k = 0
        for r in iter_references(layout.reference):
            hyps = {s: lookups[s].get(r.id) for s in systems}
            kk = None
            if r.id not in scores.unscored:
                kk, k = k, k + 1
            chrf: dict[str, float] = {}
            if kk is not None and has_chrf:
                for s in systems:
                    v = float(scores.scores[s]["chrf"][kk])
                    if v == v:
                        chrf[s] = v
            qe = qe_lookup.get(r.id) if qe_lookup is not None and kk is not None else None
            yield r, hyps, kk, chrf, qe

    def present(hyps: Mapping[str, HypothesisRecord | None]) -> dict[str, HypothesisRecord]:
        return {s: h for s, h in hyps.items() if h is not None}

    def judge_items(chunk: list[Paragraph]) -> list[Any]:
        """What the judge sees of each paragraph: the record, its present hypotheses, its chrF
        (and its reference QE, when the run has it)."""
        if run_qe is None:
            return [(r, present(hyps), chrf) for r, hyps, _, chrf, _ in chunk]
        return [(r, present(hyps), chrf, qe) for r, hyps, _, chrf, qe in chunk]

    threshold = config.gates.suspicion_threshold
    tally = Tally(systems, threshold)
    html_top = TopRows(_HTML_ROWS, html_order)
    md_top = TopRows(_MD_ROWS, divergent_order, keep=lambda p: bool(p["flags"]))
    digest = HtmlDigest(systems, row_metrics)
    flagged = failures = 0
    with (open_shards(config, len(survey.scored_hashes), prepare=prepare) as shards,
          tempfile.TemporaryFile("w+", encoding="utf-8", dir=layout.root) as spool):
        judge_started = time.perf_counter()
        # Pass 1: the corpus statistics, folded in reference order.
        model = CorpusModel(systems, params)
        learn = ((None, (systems, params, judge_items(chunk))) for chunk in chunked(paragraphs(), _JUDGE_TASK))
        for _, features in shards.map(features_chunk, learn):
            for f in features:
                model.fold(f)
        model.finish()

        # Pass 2: each task judges its paragraphs with its shard of the model; rows are written in order.
        def judge_tasks() -> Iterator[tuple[list[Paragraph], tuple[CorpusModel, int, list[Any]]]]:
            start = 0
            for chunk in chunked(paragraphs(), _JUDGE_TASK):
                yield chunk, (model.shard(start, start + len(chunk)), start, judge_items(chunk))
                start += len(chunk)

        with atomic_writer(layout.paragraphs) as jsonl, atomic_writer(layout.paragraphs_csv) as csv_handle:
            csv_out = CsvWriter(csv_handle, systems, row_metrics)
            for chunk, judgements in shards.map(judge_chunk, judge_tasks()):
                for (r, hyps, kk, _chrf, _qe), judgement in zip(chunk, judgements, strict=True):
                    row = paragraph_row(r, hyps, {s: scores.paragraph(s, kk) for s in systems}, row_metrics,
                                        judgement, scores.unscored.get(r.id))
                    jsonl.write(dumps(row) + "\n")
                    csv_out.write(row)
                    case = junit_case(row, threshold)
                    if case is not None:
                        spool.write((JUNIT_CASE_SEPARATOR if flagged else "") + case)
                        flagged += 1
                        failures += row["suspicion"] >= threshold
                    tally.add(row)
                    html_top.add(row)
                    md_top.add(row)
                    digest.add(row)
        judge_s = time.perf_counter() - judge_started
        sharding = {"score": scores.sharding, "judge": shards.describe()}
        all_timings = dict(timings or {})
        all_timings["judge_s"] = judge_s
        summary = build_summary(config, params, scores, tally, {s: lookups[s].info for s in systems},
                                {**scores.timings, **all_timings}, list(extra_gates), baseline,
                                neural=neural_meta, qe_judge=model.describe_qe())
        _write_text(layout.report_md, render_markdown(summary, [], top=_MD_ROWS, divergent=md_top.rows()))
        shown = html_top.rows()
        # report.html's review mode (issue 11): the run's worklist items, from the files written above.
        from evalkit.report.review import build_review

        review = build_review(layout.root, summary)
        _write_text(layout.report_html, render_html(summary, shown, limit=_HTML_ROWS, digest=digest, review=review))
        before, after = junit_frame(summary, flagged, failures)
        spool.seek(0)
        with atomic_writer(layout.junit) as junit:
            junit.write(before)
            shutil.copyfileobj(spool, junit)
            junit.write(after)
    summary["timings"]["report_s"] = round(time.perf_counter() - started, 3)
    summary["sharding"] = sharding
    _write_json(layout.summary, summary)
    return summary, shown


def run_pipeline(config: RunConfig, *, refresh: bool = False, extra_gates_fn: Any = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """ingest/read → translate → score → judge → report, in ``config.out``."""
    layout = RunLayout.at(config.out)
    layout.root.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    prepare_references(config, layout)
    timings["reference_s"] = time.perf_counter() - t
    if not config.systems:
        raise ConfigError("the config lists no systems: add at least one under 'systems' (e.g. the offline gloss)")
    # Neural metrics (issue 12): a missing package or an unreachable model fails now, not after translating.
    from evalkit.metrics.neural import preflight

    preflight(config)
    from evalkit.systems.runner import translate_to_files

    t = time.perf_counter()
    # Window by window from the run's reference.jsonl, each system's hypotheses appended to hyps/.
    translate_to_files(config, layout.reference, layout.root, refresh=refresh)
    timings["translate_s"] = time.perf_counter() - t
    # The stages below stream the files the two above wrote (reference.jsonl, hyps/), surveyed once.
    t = time.perf_counter()
    inputs = open_run(config, layout)
    score_stage(config, layout, inputs)
    timings["score_s"] = time.perf_counter() - t
    extra = extra_gates_fn(layout, inputs.hyps) if extra_gates_fn else ([], None)
    return report_stage(config, layout, extra_gates=extra[0], baseline=extra[1], timings=timings, inputs=inputs)


__all__ = ["report_stage", "run_pipeline", "score_stage"]
