"""The archive's bilingual article files → an aligned reference set.

Library API (no heavy imports; ``datasets`` is imported only by ``load_reference``):

* ``parse_article(path) -> Article`` — one file, every layout variant (see parse.py);
* ``align_article(article) -> list[ReferenceRecord]`` — headline pair + one record per bead;
* ``ingest_to_file(paths, output, skip_bad=False) -> IngestStats`` — files/folders → a reference JSONL,
  one document at a time (``iter_ingest`` yields the records; memory stays flat);
* ``ingest_paths(paths, skip_bad=False) -> IngestResult`` — the same, every record kept in memory;
* ``load_reference(path) -> datasets.Dataset`` — a reference JSONL as a Hugging Face dataset.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evalkit.corpus.align import Bead
from evalkit.corpus.ingest import (
    DocumentReport,
    IngestResult,
    IngestStats,
    SkippedFile,
    align_article,
    doc_id_for,
    ingest_paths,
    ingest_to_file,
    iter_documents,
    iter_ingest,
)
from evalkit.corpus.parse import Article, Paragraph, parse_article

if TYPE_CHECKING:
    from pathlib import Path

    import datasets

__all__ = ["Article", "Bead", "DocumentReport", "IngestResult", "IngestStats", "Paragraph", "SkippedFile",
           "align_article", "doc_id_for", "ingest_paths", "ingest_to_file", "iter_documents", "iter_ingest",
           "load_reference", "parse_article"]


def load_reference(path: str | Path) -> datasets.Dataset:
    """A reference set (JSONL) as a ``datasets.Dataset``, validated record by record first."""
    import datasets

    from evalkit.records import read_references

    return datasets.Dataset.from_list([r.to_dict() for r in read_references(path)])
