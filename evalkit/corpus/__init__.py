"""The archive's bilingual article files → an aligned reference set.

Library API (no heavy imports; ``datasets`` is imported only by ``load_reference``):

* ``parse_article(path) -> Article`` — one file, every layout variant (see parse.py);
* ``align_article(article) -> list[ReferenceRecord]`` — headline pair + one record per bead;
* ``ingest_paths(paths, skip_bad=False) -> IngestResult`` — files/folders → records, reports, skips;
* ``load_reference(path) -> datasets.Dataset`` — a reference JSONL as a Hugging Face dataset.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evalkit.corpus.align import Bead
from evalkit.corpus.ingest import (DocumentReport, IngestResult, SkippedFile, align_article, doc_id_for,
                                   ingest_paths)
from evalkit.corpus.parse import Article, Paragraph, parse_article

if TYPE_CHECKING:
    from pathlib import Path

    import datasets

__all__ = ["Article", "Bead", "DocumentReport", "IngestResult", "Paragraph", "SkippedFile",
           "align_article", "doc_id_for", "ingest_paths", "load_reference", "parse_article"]


def load_reference(path: str | Path) -> datasets.Dataset:
    """A reference set (JSONL) as a ``datasets.Dataset``, validated record by record first."""
    import datasets

    from evalkit.records import read_references

    return datasets.Dataset.from_list([r.to_dict() for r in read_references(path)])
