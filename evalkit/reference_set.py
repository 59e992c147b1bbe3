"""A run's reference set on disk: written once (``prepare_references``), then streamed.

``prepare_references(config, layout)`` writes the run folder's ``reference.jsonl`` from the
config's ``sources`` (ingested) or its ``reference`` file (validated), one record at a time;
``iter_references(path)`` reads it back one record at a time. Ids are checked unique by their
64-bit hashes (``records.id_hash``: 8 bytes a paragraph), so memory does not grow with the corpus.
What the translate, score and report stages share: ``evalkit translate`` needs only this, not
the score and report machinery of ``evalkit.pipeline``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalkit.errors import InputError
from evalkit.jsonl import atomic_writer, dumps, iter_jsonl
from evalkit.records import ReferenceRecord, id_hash, read_references

if TYPE_CHECKING:
    from evalkit.config import RunConfig
    from evalkit.layout import RunLayout


def prepare_references(config: RunConfig, layout: RunLayout) -> int:
    """Ingest the config's sources or read its reference set; write the run's copy
    (``layout.reference``); return how many paragraphs it holds.

    Streams both ways: ingested documents, or the given set's lines, go to the run's copy one at
    a time (validated as ``read_references`` does), so memory does not grow with the corpus. The
    copy appears atomically, only once the whole set was read without error.
    """
    if config.sources:
        from evalkit.corpus import ingest_to_file

        stats = ingest_to_file(config.sources, layout.reference, if_empty=lambda _: InputError(
            ", ".join(config.sources), "no article files found to ingest"))
        return stats.records
    assert config.reference is not None
    return _copy_references(Path(config.reference), layout.reference)


def _copy_references(source: Path, target: Path) -> int:
    """``write_jsonl(target, read_references(source))``, one record at a time; the same errors."""
    from array import array

    hashes = array("Q")

    def check_unique() -> None:
        if hashes:
            check_unique_ids(hashes, source)

    with atomic_writer(target) as handle:
        try:
            for lineno, obj in iter_jsonl(source):
                record = ReferenceRecord.from_dict(obj, source, lineno)
                hashes.append(id_hash(record.id))
                handle.write(dumps(record.to_dict()) + "\n")
        except InputError:
            check_unique()  # an earlier repeated id is reported first, as read_references does
            raise
        if not hashes:
            raise InputError(source, "the reference set is empty; expected one JSON object per line")
        check_unique()
    return len(hashes)


def iter_references(path: Path) -> Iterator[ReferenceRecord]:
    """The reference set's records, one at a time (``run_inputs.survey_references`` checked the file)."""
    for lineno, obj in iter_jsonl(path):
        yield ReferenceRecord.from_dict(obj, path, lineno)


def check_unique_ids(hashes: Any, path: Path) -> None:
    """Raise if two of the reference set's id hashes (an ``array("Q")``) are equal.

    A repeated hash is a repeated id (or, at 64 bits, practically never, two ids hashing alike):
    read_references re-reads the file and raises its own error for the first repeat, with both
    line numbers; if it finds none, the ids only collided.
    """
    import numpy as np

    if len(np.unique(np.frombuffer(hashes, dtype=np.uint64))) != len(hashes):
        read_references(path)
        raise InputError(path, "two paragraph ids hash alike; rename one of them")
