"""``evalkit translate --config FILE [--system NAME] [--out DIR] [--refresh]``.

Reads the reference set the config names (or ingests its ``sources``), translates it with the
configured systems and writes ``<out>/hyps/<system>.jsonl``; prints one line per system.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from evalkit.config import RunConfig, load_config
from evalkit.records import ReferenceRecord, read_references


def load_reference_set(config: RunConfig) -> list[ReferenceRecord]:
    """The config's reference set, or its ``sources`` ingested on the fly."""
    if config.reference:
        return read_references(config.reference)
    from evalkit.corpus import ingest_paths  # the corpus stage, only when archive files are given

    return list(ingest_paths([Path(p) for p in config.sources]))


def main(args: argparse.Namespace) -> int:
    from evalkit.systems.runner import translate_systems

    logging.basicConfig(level=logging.INFO, format="evalkit: %(message)s", stream=sys.stderr)
    config = load_config(args.config, reference=getattr(args, "reference", None),
                         sources=getattr(args, "sources", None), out=getattr(args, "out", None))
    references = load_reference_set(config)
    results = translate_systems(config, references, Path(config.out), only=getattr(args, "system", None),
                                refresh=bool(getattr(args, "refresh", False)))
    for name, records in results.items():
        cached = sum(r.cached for r in records)
        chunked = sum(r.chunks > 1 for r in records)
        truncated = sum(r.truncated for r in records)
        print(f"{name}: {len(records)} paragraphs ({cached} from cache, {chunked} split into chunks, "
              f"{truncated} truncated) -> {Path(config.out) / 'hyps' / (name + '.jsonl')}")
    return 0
