"""``evalkit translate --config FILE [--system NAME] [--out DIR] [--refresh]``.

Writes the run folder's ``reference.jsonl`` (the config's reference set, checked, or its
``sources`` ingested: ``reference_set.prepare_references``, as ``evalkit run`` does, so ``evalkit
score`` and ``evalkit report`` can follow), translates it window by window with the configured
systems into ``<out>/hyps/<system>.jsonl`` and prints one line per system. Memory does not grow
with the reference set (``systems.runner``), except for precomputed ``file`` systems.
"""

from __future__ import annotations

import argparse
import logging
import sys

from evalkit.config import load_config


def main(args: argparse.Namespace) -> int:
    from evalkit.reference_set import prepare_references
    from evalkit.layout import RunLayout
    from evalkit.systems.runner import select_systems, translate_to_files

    logging.basicConfig(level=logging.INFO, format="evalkit: %(message)s", stream=sys.stderr)
    config = load_config(args.config, reference=getattr(args, "reference", None),
                         sources=getattr(args, "sources", None), out=getattr(args, "out", None))
    only = getattr(args, "system", None)
    select_systems(config, only)  # an unknown --system fails before the reference set is read
    layout = RunLayout.at(config.out)
    prepare_references(config, layout)
    results = translate_to_files(config, layout.reference, layout.root, only=only,
                                 refresh=bool(getattr(args, "refresh", False)))
    for name, stats in results.items():
        print(f"{name}: {stats.paragraphs} paragraphs ({stats.cached} from cache, {stats.chunked} split into chunks, "
              f"{stats.truncated} truncated) -> {stats.path}")
    return 0
