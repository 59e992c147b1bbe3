"""``evalkit ingest PATH... -o FILE.jsonl [--skip-bad]``."""

from __future__ import annotations

import argparse

from evalkit.corpus.ingest import ingest_paths
from evalkit.errors import InputError
from evalkit.jsonl import write_jsonl


def main(args: argparse.Namespace) -> int:
    result = ingest_paths(args.paths, skip_bad=args.skip_bad)
    if not result.records:
        listed = "; ".join(f"{s.path}: {s.reason}" for s in result.skipped)
        raise InputError(", ".join(map(str, args.paths)),
                         f"no article could be ingested ({len(result.skipped)} skipped: {listed})")
    written = write_jsonl(args.output, result.records)
    print(result.summary())
    print(f"wrote {written} records to {args.output}")
    return 0
