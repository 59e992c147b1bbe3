"""``evalkit worklist`` and ``evalkit apply``: the command-line handlers (README, "Fixing the archive")."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from evalkit.errors import EvalkitError, InputError
from evalkit.fixes.items import WorkItem, csv_path_for, decided, write_worklist
from evalkit.fixes.runfiles import SourceFinder, iter_run_documents, open_run, sha256_of
from evalkit.fixes.worklist import DEFAULT_MIN_SUSPICION, DocumentInputs, document_items, is_flagged, rank_systems


def build_worklist(run_dir: str | Path, *, min_suspicion: float = DEFAULT_MIN_SUSPICION, forced: str | None = None,
                   sources: list[str] | None = None) -> list[WorkItem]:
    """The work items of a run folder (every flagged paragraph with a proposal), in run order."""
    if not (0.0 <= min_suspicion <= 1.0) or math.isnan(min_suspicion):
        raise EvalkitError(f"--min-suspicion is {min_suspicion}; expected a number from 0 to 1")
    run = open_run(run_dir)
    ranking = rank_systems(run.summary, run.systems)
    if forced is not None and forced not in ranking.order:
        raise InputError(run.root / "summary.json", f"--from {forced!r}: no such system in this run; its systems: "
                                                    f"{', '.join(ranking.order) or 'none'}")
    finder = SourceFinder(sources or list(run.sources), run.root / "summary.json")
    items: list[WorkItem] = []
    for records, rows in iter_run_documents(run):
        if not any(is_flagged(row, min_suspicion) for row in rows):
            continue
        path, article, lines = finder.find(records)
        doc = DocumentInputs(records, rows, article, lines, str(path.resolve()), sha256_of(path), str(run.root.resolve()))
        items += document_items(doc, ranking, min_suspicion, forced)
    return items


def worklist_command(args: argparse.Namespace) -> int:
    output = Path(args.output) if args.output else Path(args.run_dir) / "worklist.jsonl"
    if output.suffix.lower() == ".csv":
        raise EvalkitError(f"-o {output}: give the JSONL file to write; the CSV is written beside it (same name, .csv)")
    for existing in (output, csv_path_for(output)):
        if decided(existing):
            raise InputError(existing, "holds decisions (accept / reject / edit) that a new worklist would overwrite; "
                                       "apply it first, move it away, or write the new one elsewhere with -o")
    items = build_worklist(args.run_dir, min_suspicion=args.min_suspicion, forced=args.from_system,
                           sources=args.sources)
    count, csv_path = write_worklist(items, output)
    origins: dict[str, int] = {}
    for item in items:
        key = item.proposal.origin.split(":")[0] if item.proposal.origin.startswith("system:") else item.proposal.origin
        origins[key] = origins.get(key, 0) + 1
    shown = ", ".join(f"{n} {k}" for k, n in sorted(origins.items())) or "none"
    print(f"worklist: {count} flagged paragraph(s) with suspicion ≥ {args.min_suspicion:g} (proposals: {shown})")
    print(f"  {output}\n  {csv_path}")
    print("set each item's decision (accept | reject | edit with 'edited'), then: "
          f"evalkit apply {output} --out DIR")
    return 0


def apply_command(args: argparse.Namespace) -> int:
    from evalkit.fixes.apply import apply_worklist

    result = apply_worklist(args.worklist, args.out, in_place=args.in_place, run=args.run)
    print(result.summary())
    return 0
