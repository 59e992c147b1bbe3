"""``evalkit ci --baseline`` (regression gates) and ``evalkit compare``: one run against another.

Both need per-paragraph rows of an earlier run, so the baseline must be a whole run folder:
its ``paragraphs.jsonl`` next to its ``summary.json``. Each configured system is compared with
the same-named baseline system on the paragraphs both runs scored against the same English.

Memory (issue "Scale"): neither loads a ``paragraphs.jsonl`` into a dict. The rows are streamed
into a temporary SQLite table keyed by paragraph id (``_Rows``: the fields compared and the
hypotheses, in a file — in the run folder for the gate, in the temporary folder, ``TMPDIR``, for
``compare``), the current run's reference and hypotheses are read in lockstep
(``run_inputs.open_hyps``), and the common paragraphs are scored in blocks of ``_BLOCK``. Only
the paired test's per-paragraph statistics stay in memory, as int32 arrays
(``metrics.scoring.stats_array``: 72 bytes per paragraph and run for chrF), plus the ids of
paragraphs newly flagged or cleared that ``compare`` reports. The results are the same as
with the whole files in memory: the same paragraphs, in the same order, the same statistics.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from evalkit.config import RunConfig
from evalkit.errors import InputError
from evalkit.jsonl import atomic_writer, iter_jsonl
from evalkit.layout import RunLayout
from evalkit.iterables import chunked

# Common paragraphs scored per call of ``score_pairs`` (per system); ids looked up per query.
_BLOCK = 2048
_LOOKUP = 500  # under SQLite's bound-parameter limit


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


# --- one run's paragraph rows, in SQLite -------------------------------------------------------


class _Rows:
    """A ``paragraphs.jsonl`` in an SQLite table keyed by id: what comparing runs needs of each row
    (English, Chinese, each system's hypothesis, flag names, suspicion), in file order.

    Like ``{row["id"]: row for row in rows}``: a repeated id keeps its first position and its
    last row. ``systems``: keep only these systems' hypotheses (None: all).
    """

    def __init__(self, db: sqlite3.Connection, table: str, path: Path | None, systems: Sequence[str] | None = None):
        self.db = db
        self.table = table
        db.execute(f"CREATE TABLE {table} (ord INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, en TEXT, zh TEXT, "
                   "hyps TEXT, flagged INTEGER, flags TEXT, suspicion TEXT)")
        self.count = 0
        if path is not None and path.exists():
            self._load(path, None if systems is None else set(systems))

    def _load(self, path: Path, systems: set[str] | None) -> None:
        insert = (f"INSERT INTO {self.table} (ord, id, en, zh, hyps, flagged, flags, suspicion) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                  "ON CONFLICT(id) DO UPDATE SET en = excluded.en, zh = excluded.zh, hyps = excluded.hyps, "
                  "flagged = excluded.flagged, flags = excluded.flags, suspicion = excluded.suspicion")
        rows = (self._values(path, lineno, ordinal, row, systems) for ordinal, (lineno, row) in enumerate(iter_jsonl(path)))
        with self.db:
            for batch in chunked(rows, 1000):
                self.db.executemany(insert, batch)
        self.count = int(self.db.execute(f"SELECT COUNT(*) FROM {self.table}").fetchone()[0])

    @staticmethod
    def _values(path: Path, lineno: int, ordinal: int, row: dict[str, Any], systems: set[str] | None) -> tuple[Any, ...]:
        paragraph_id, en, zh = row.get("id"), row.get("en"), row.get("zh")
        if not isinstance(paragraph_id, str) or not isinstance(en, str) or not isinstance(zh, str):
            raise InputError(path, "expected a paragraph row with string fields 'id', 'en' and 'zh'", lineno)
        hyps = {}
        for name, cell in (row.get("systems") or {}).items():
            if (systems is None or name in systems) and isinstance(cell, dict) and cell.get("hyp") is not None:
                hyps[name] = cell["hyp"]
        flags = row.get("flags") or []
        names = [f["name"] for f in flags] if flags else []
        return (ordinal, paragraph_id, en, zh, json.dumps(hyps, ensure_ascii=False), int(bool(flags)),
                json.dumps(names, ensure_ascii=False), json.dumps(row.get("suspicion")))

    def get_many(self, ids: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """id -> (English, {system: hypothesis}) for the ids present."""
        found: dict[str, tuple[str, dict[str, Any]]] = {}
        for start in range(0, len(ids), _LOOKUP):
            part = list(ids[start:start + _LOOKUP])
            for paragraph_id, en, hyps in self.db.execute(
                    f"SELECT id, en, hyps FROM {self.table} WHERE id IN ({','.join('?' * len(part))})", part):
                found[paragraph_id] = (en, json.loads(hyps))
        return found


def _open_db(folder: str | Path | None) -> tuple[sqlite3.Connection, Any]:
    """A throw-away SQLite file in ``folder`` (None: the temporary folder); close both when done."""
    tmp = tempfile.TemporaryDirectory(prefix=".evalkit-compare-", dir=folder)
    db = sqlite3.connect(Path(tmp.name) / "rows.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.isolation_level = ""  # ``with db:`` then wraps each load in one transaction
    return db, tmp


class _PairedStats:
    """Two systems' statistics on the same paragraphs, scored block by block as pairs are added:
    only int32 arrays are kept (``stats_array``)."""

    def __init__(self, metric: str, workers: int | None = 1, pool: Any = None):
        self.metric = metric
        self.workers = workers
        self.pool = pool
        self.pending: list[tuple[str, str, str]] = []  # (hyp a, hyp b, reference)
        self.blocks_a: list[Any] = []
        self.blocks_b: list[Any] = []
        self.n = 0

    def add(self, hyp_a: str, hyp_b: str, ref: str) -> None:
        self.pending.append((hyp_a, hyp_b, ref))
        self.n += 1
        if len(self.pending) >= _BLOCK:
            self.flush()

    def flush(self) -> None:
        from evalkit.metrics.scoring import score_pairs, stats_array

        if not self.pending:
            return
        k = len(self.pending)
        pairs = [(a, ref) for a, _, ref in self.pending] + [(b, ref) for _, b, ref in self.pending]
        segs = score_pairs(pairs, [self.metric], self.workers, pool=self.pool)
        self.blocks_a.append(stats_array(self.metric, [s.stats[self.metric] for s in segs[:k]]))
        self.blocks_b.append(stats_array(self.metric, [s.stats[self.metric] for s in segs[k:]]))
        self.pending.clear()

    def arrays(self) -> tuple[Any, Any]:
        import numpy as np

        self.flush()
        return np.concatenate(self.blocks_a), np.concatenate(self.blocks_b)


# --- ci --baseline -----------------------------------------------------------------------------


def regression_gates(config: RunConfig, layout: RunLayout, baseline_path: str,
                     lookups: dict[str, Any] | None = None) -> tuple[list[Any], dict[str, Any]]:
    """One gate per system: fail only if the drop exceeds ``max_drop`` *and* a paired test finds it significant.
    ``lookups``: the run's ``run_inputs.open_hyps``, already opened."""
    from evalkit.reference_set import iter_references
    from evalkit.metrics.scoring import HIGHER_IS_BETTER, scoring_pool
    from evalkit.metrics.scoring import paired_tests as run_paired
    from evalkit.run_inputs import open_hyps
    from evalkit.report import Gate

    gate = config.gates.regression
    folder, base_summary = _load_run(str(_baseline_folder(baseline_path)))
    metric = gate.metric if gate else "chrf"
    max_drop = gate.max_drop if gate else 1.0
    alpha = gate.alpha if gate else 0.05
    lookups = lookups or open_hyps(config, layout)  # a missing hyps file is an error here, before any work
    systems = list(lookups)
    info: dict[str, Any] = {"path": str(folder), "metric": metric, "max_drop": max_drop, "alpha": alpha, "systems": {}}
    gates = []
    # The pool forks before the baseline table is filled, so its workers stay small.
    with scoring_pool(config.scoring.workers) as pool:
        db, tmp = _open_db(layout.root)
        try:
            base = _Rows(db, "baseline", folder / "paragraphs.jsonl", systems)
            paired = {s: _PairedStats(metric, config.scoring.workers, pool) for s in systems}
            for lookup in lookups.values():
                lookup.begin()
            for block in chunked(iter_references(layout.reference), _LOOKUP):
                # Every reference paragraph passes each lookup, in order (they walk in lockstep).
                current = [(r, {s: lookups[s].get(r.id) for s in systems}) for r in block]
                rows = base.get_many([r.id for r in block])
                for r, hyps in current:
                    row = rows.get(r.id)
                    if row is None or not (r.en.strip() and r.zh.strip()) or row[0] != r.en:
                        continue
                    for s in systems:
                        hyp, base_hyp = hyps[s], row[1].get(s)
                        if hyp is not None and base_hyp is not None:
                            paired[s].add(base_hyp, hyp.hyp, r.en)
        finally:
            db.close()
            tmp.cleanup()
        for system in systems:
            stats = paired[system]
            if not stats.n:
                info["systems"][system] = {"compared": 0, "note": "not in the baseline, or no common paragraphs"}
                continue
            base_stats, new_stats = stats.arrays()
            n_bs = max(2, config.scoring.bootstrap)
            (test,) = run_paired("baseline", base_stats, system, new_stats, metric, tests=("bs",),
                                 n_bootstrap=n_bs, seed=config.scoring.seed)
            drop = -test["delta"] if HIGHER_IS_BETTER[metric] else test["delta"]
            significant = test["p_value"] < alpha
            failed = drop > max_drop and significant
            info["systems"][system] = {"compared": stats.n, "baseline": test["score_a"], "current": test["score_b"],
                                       "drop": drop, "p_value": test["p_value"], "test": test["test"]}
            gates.append(Gate(f"regression[{system}]", not failed, round(drop, 4), max_drop,
                              f"{metric} {test['score_a']:.2f} → {test['score_b']:.2f} on {stats.n} paragraphs, "
                              f"p = {test['p_value']:.4f} (fails only if drop > {max_drop} and p < {alpha})"))
    info["baseline_version"] = base_summary.get("versions")
    return gates, info



# --- compare ------------------------------------------------------------------------------------


def _load_run(path: str) -> tuple[Path, dict[str, Any]]:
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    summary_path = folder / "summary.json"
    if not summary_path.exists():
        raise InputError(p, "expected a run folder with summary.json (or the summary.json itself)")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(summary_path, f"not valid JSON ({exc.msg})") from None
    return folder, summary


def _common(db: sqlite3.Connection) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(English, A's hypotheses, B's) of the paragraphs in both runs with the same, non-blank
    English and a non-blank Chinese side, in run A's order."""
    for en_a, zh_a, hyps_a, en_b, hyps_b in db.execute(
            "SELECT a.en, a.zh, a.hyps, b.en, b.hyps FROM a JOIN b ON b.id = a.id ORDER BY a.ord"):
        if en_a == en_b and en_a.strip() and zh_a.strip():
            yield en_a, json.loads(hyps_a), json.loads(hyps_b)


def _flag_changes(db: sqlite3.Connection, flagged: str, cleared: str) -> list[dict[str, Any]]:
    """Paragraphs in both runs flagged in table ``flagged`` and not in ``cleared``, by id."""
    rows = db.execute(f"SELECT {flagged}.id, {flagged}.flags, {flagged}.suspicion FROM {flagged} "
                      f"JOIN {cleared} ON {cleared}.id = {flagged}.id WHERE {flagged}.flagged AND NOT {cleared}.flagged")
    return [{"id": i, "flags": json.loads(flags), "suspicion": json.loads(suspicion)}
            for i, flags, suspicion in sorted(rows)]


def compare_runs(path_a: str, path_b: str, *, n_bootstrap: int = 1000, seed: int = 12345) -> dict[str, Any]:
    """What changed from run A to run B: corpus scores, paired significance where both runs have the
    same system's hypotheses on the same English, and paragraphs newly flagged or cleared."""
    from evalkit.metrics.scoring import paired_tests as run_paired

    folder_a, sa = _load_run(path_a)
    folder_b, sb = _load_run(path_b)
    db, tmp = _open_db(None)
    try:
        rows_a = _Rows(db, "a", folder_a / "paragraphs.jsonl")
        rows_b = _Rows(db, "b", folder_b / "paragraphs.jsonl")
        systems = []
        tested: list[str] = []
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
            if a and b and rows_a.count and rows_b.count:
                tested.append(name)
            systems.append(entry)

        # Pass 1: per system, how many common paragraphs, and whether every hypothesis is the same.
        common = dict.fromkeys(tested, 0)
        identical = dict.fromkeys(tested, True)
        for _, hyps_a, hyps_b in _common(db):
            for name in tested:
                if name in hyps_a and name in hyps_b:
                    common[name] += 1
                    identical[name] = identical[name] and hyps_a[name] == hyps_b[name]
        # Pass 2: the systems that changed, scored block by block.
        paired = {name: _PairedStats("chrf") for name in tested if common[name] and not identical[name]}
        if paired:
            for en, hyps_a, hyps_b in _common(db):
                for name, stats in paired.items():
                    if name in hyps_a and name in hyps_b:
                        stats.add(hyps_a[name], hyps_b[name], en)
        for entry in systems:
            name = entry["system"]
            if name not in common:
                continue
            a = sa["systems"][name]
            if common[name] and identical[name]:
                # sacrebleu's paired tests give p = 1/(n+1) for a system against itself (its
                # convention: a zero difference is not "chance"); say what happened instead.
                score = (a.get("corpus", {}).get("chrf") or {}).get("score")
                entry["significance"] = {"metric": "chrf", "test": "identical", "paragraphs": common[name],
                                         "a": score, "b": score, "delta": 0.0, "p_value": 1.0}
            elif common[name]:
                stats_a, stats_b = paired[name].arrays()
                test = run_paired("A", stats_a, "B", stats_b, "chrf", tests=("bs",),
                                  n_bootstrap=n_bootstrap, seed=seed)[0]
                entry["significance"] = {"metric": "chrf", "test": test["test"], "paragraphs": common[name],
                                         "a": test["score_a"], "b": test["score_b"], "delta": test["delta"],
                                         "p_value": test["p_value"]}
            else:
                entry["significance"] = None
        newly_flagged = _flag_changes(db, "b", "a")
        cleared = _flag_changes(db, "a", "b")
        in_both = int(db.execute("SELECT COUNT(*) FROM a JOIN b ON b.id = a.id").fetchone()[0])
    finally:
        db.close()
        tmp.cleanup()
    return {
        "a": path_a, "b": path_b, "systems": systems,
        "newly_flagged": newly_flagged, "cleared": cleared,
        "only_in_a": rows_a.count - in_both, "only_in_b": rows_b.count - in_both,
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
