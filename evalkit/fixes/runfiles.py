"""Reading a run folder for the worklist, and finding the archive files the run ingested.

A run folder (``evalkit run``) holds ``reference.jsonl`` and ``paragraphs.jsonl`` in the same
order, and ``summary.json`` with the config as run, whose ``sources`` are the archive files and
folders it ingested. A record's ``meta.source`` is its file's name; the file is found again
under those sources, and only a file that still parses and aligns into exactly the run's
records is used (a file edited since the run would put the worklist's line numbers off).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.corpus.ingest import align_article, doc_id_for, iter_discover
from evalkit.corpus.parse import Article, parse_text, read_text
from evalkit.errors import InputError
from evalkit.jsonl import iter_jsonl
from evalkit.records import ReferenceRecord


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class RunFolder:
    root: Path
    summary: dict[str, Any]
    systems: tuple[str, ...]   # as configured
    sources: tuple[str, ...]   # the config's sources as run (may be empty: a reference-set run)

    @property
    def reference(self) -> Path:
        return self.root / "reference.jsonl"

    @property
    def paragraphs(self) -> Path:
        return self.root / "paragraphs.jsonl"


def open_run(run_dir: str | Path) -> RunFolder:
    """The run folder's summary and file paths; ``InputError`` when it is not a finished run."""
    root = Path(run_dir)
    if root.name == "summary.json":
        root = root.parent
    if not root.is_dir():
        raise InputError(root, "no such run folder; expected the folder `evalkit run` wrote")
    for name in ("summary.json", "reference.jsonl", "paragraphs.jsonl"):
        if not (root / name).is_file():
            raise InputError(root, f"no {name} in this folder; expected a finished run (`evalkit run`)")
    try:
        summary = json.loads((root / "summary.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(root / "summary.json", f"not valid JSON ({exc}); expected the summary `evalkit run` wrote") from None
    config = summary.get("config") or {}
    systems = tuple(str(s.get("name")) for s in config.get("systems") or () if isinstance(s, dict))
    return RunFolder(root, summary, systems or tuple(summary.get("systems") or ()),
                     tuple(str(s) for s in config.get("sources") or ()))


def iter_run_documents(run: RunFolder) -> Iterator[tuple[list[ReferenceRecord], list[dict[str, Any]]]]:
    """The run's documents one at a time: (reference records, paragraphs.jsonl rows), in order."""
    rows = iter_jsonl(run.paragraphs)
    records: list[ReferenceRecord] = []
    doc_rows: list[dict[str, Any]] = []
    for lineno, obj in iter_jsonl(run.reference):
        record = ReferenceRecord.from_dict(obj, run.reference, lineno)
        try:
            row_line, row = next(rows)
        except StopIteration:
            raise InputError(run.paragraphs, f"ends before paragraph {record.id!r} of reference.jsonl; "
                                             "re-run `evalkit report` on the run") from None
        if row.get("id") != record.id:
            raise InputError(run.paragraphs, f"row {row.get('id')!r} where reference.jsonl has {record.id!r}; "
                                             "expected the rows in reference order (re-run `evalkit report`)", row_line)
        if records and record.doc_id != records[0].doc_id:
            yield records, doc_rows
            records, doc_rows = [], []
        records.append(record)
        doc_rows.append(row)
    if records:
        yield records, doc_rows


class SourceFinder:
    """Finds the archive file of a document under the run's sources (or ``--sources``)."""

    def __init__(self, sources: Sequence[str], where: Path):
        self.sources = tuple(sources)
        self.where = where  # what to name in errors (the run's summary.json)
        self._by_name: dict[str, list[Path]] | None = None

    def _index(self) -> dict[str, list[Path]]:
        if self._by_name is None:
            if not self.sources:
                raise InputError(self.where, "the run was made from a reference set, not from archive files "
                                             "(no 'sources' in its config); give the archive files with --sources")
            missing = [s for s in self.sources if not Path(s).exists()]
            if missing:
                raise InputError(missing[0], "a source of the run is not found from here (relative paths are "
                                             "resolved against the current folder, as `evalkit run` did); run from "
                                             "that folder or give the files with --sources")
            index: dict[str, list[Path]] = {}
            for path in iter_discover(self.sources):
                index.setdefault(path.name, []).append(path)
            self._by_name = index
        return self._by_name

    def find(self, records: Sequence[ReferenceRecord]) -> tuple[Path, Article, list[str]]:
        """The file of the document whose records are ``records``, parsed, and its lines.

        ``InputError`` when no file under the sources gives that document, or when the file
        no longer aligns into the run's records (it changed since the run).
        """
        first = records[0]
        name = str(first.meta.get("source") or "")
        candidates = self._index().get(name, [])
        if not candidates:
            raise InputError(self.where, f"no archive file {name!r} (document {first.doc_id!r}) under the run's "
                                         f"sources ({', '.join(self.sources)}); give the files with --sources")
        problems = []
        for path in candidates:
            text = read_text(path)
            article = parse_text(text, path)
            if doc_id_for(article) != first.doc_id:
                problems.append(f"{path} gives document {doc_id_for(article)!r}")
                continue
            _check_unchanged(path, article, records)
            return path, article, text.split("\n")
        raise InputError(candidates[0], f"does not give document {first.doc_id!r} of the run ({'; '.join(problems)})")


def _check_unchanged(path: Path, article: Article, records: Sequence[ReferenceRecord]) -> None:
    now = align_article(article, records[0].doc_id)
    if len(now) != len(records):
        raise InputError(path, f"now aligns into {len(now)} paragraphs, the run has {len(records)}: the file changed "
                               "since `evalkit run`; re-run it before `evalkit worklist`")
    for a, b in zip(now, records, strict=True):
        if (a.id, a.en, a.zh, a.en_lines, a.zh_lines) != (b.id, b.en, b.zh, tuple(b.en_lines), tuple(b.zh_lines)):
            raise InputError(path, f"paragraph {b.id!r} differs from the run's: the file changed since `evalkit run`; "
                                   "re-run it before `evalkit worklist`")
