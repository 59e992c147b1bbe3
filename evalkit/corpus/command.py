"""``evalkit ingest PATH... -o FILE.jsonl [--skip-bad]``.

Streams: each document is parsed, aligned and written before the next is read, so memory stays
flat however many documents there are (``ingest.ingest_to_file``); the output appears only once
the whole ingest succeeded (an atomic rename).
"""

from __future__ import annotations

import argparse

from evalkit.corpus.ingest import IngestStats, ingest_to_file
from evalkit.errors import InputError


def main(args: argparse.Namespace) -> int:
    def nothing_ingested(stats: IngestStats) -> InputError:
        listed = "; ".join(f"{s.path}: {s.reason}" for s in stats.skipped)
        return InputError(", ".join(map(str, args.paths)),
                          f"no article could be ingested ({len(stats.skipped)} skipped: {listed})")

    stats = ingest_to_file(args.paths, args.output, skip_bad=args.skip_bad, if_empty=nothing_ingested)
    print(stats.summary())
    print(f"wrote {stats.records} records to {args.output}")
    return 0
