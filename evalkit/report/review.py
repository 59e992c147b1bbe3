"""Review mode of report.html: the run's worklist, decided in the browser (issue 11, item 2).

report.html carries, besides the report, the work items ``evalkit worklist RUN`` would write
(default ``--min-suspicion 0.5``), built with ``evalkit.fixes``' own functions from the run's
files (``reference.jsonl``, ``paragraphs.jsonl`` and the archive files the run ingested) and the
run's summary. The page shows each item's Chinese, current English and proposal side by side
with the word-level difference marked, takes accept / reject / edit decisions, keeps them in the
browser's localStorage under the worklist's ``identity`` (so two reports never mix) and exports
them as the worklist JSONL, which ``evalkit apply`` reads.

Items are traced to their archive files as ``evalkit worklist`` does (``SourceFinder``). A run
made from a reference set has no archive files: its items are shown without ``source`` and line
numbers (``source`` / ``source_sha256`` empty, ``en_lines`` / ``zh_lines`` ``[]``), and the page
says that ``evalkit apply`` cannot write their decisions back. The same holds, with the reason,
when the archive files can no longer be found or have changed since the run.

The page holds at most ``limit`` items (the first, in run order, as in the worklist); it says
how many more the run has (``evalkit worklist`` writes them all). Corpus text is data here too:
the cards go through the template's autoescape, the records through ``htmlsafe_json_dumps``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from evalkit.errors import EvalkitError
from evalkit.fixes.items import WorkItem, format_range
from evalkit.fixes.runfiles import RunFolder, SourceFinder, iter_run_documents, open_run, sha256_of
from evalkit.fixes.worklist import (
    DEFAULT_MIN_SUSPICION,
    DocumentInputs,
    SystemRanking,
    document_items,
    is_flagged,
    propose,
    rank_systems,
)
from evalkit.jsonl import dumps
from evalkit.records import ReferenceRecord
from evalkit.report.render import word_diff

REVIEW_LIMIT = 1000  # work items report.html holds at most (the first, in run order)
EXPORT_NAME = "worklist.jsonl"


@dataclass(frozen=True)
class Review:
    """What report.html's review mode shows: the items (records and their views) and notices."""

    items: list[dict[str, Any]]          # one view per item: rec (the worklist record), label, where, diff runs
    total: int                           # work items of the run (more than ``len(items)`` when over the limit)
    identity: str                        # the localStorage key's suffix: run folder + the items' content
    min_suspicion: float
    traced: bool                         # items carry their archive file and line numbers (apply can use them)
    notices: list[str] = field(default_factory=list)
    data: Markup = Markup("{}")          # the records as HTML-safe JSON, for the page's script
    built: bool = True                   # False: the items could not be built at all (``notices`` says why)

    @property
    def limited(self) -> bool:
        return self.total > len(self.items)


def _run_folder(root: Path, summary: Mapping[str, Any]) -> RunFolder:
    """The run as ``fixes.runfiles.open_run`` reads it, from the summary in memory (the report
    stage renders report.html before it writes summary.json); the JSON round trip gives the
    values summary.json will hold."""
    data = json.loads(json.dumps(summary, ensure_ascii=False))
    config = data.get("config") or {}
    systems = tuple(str(s.get("name")) for s in config.get("systems") or () if isinstance(s, dict))
    return RunFolder(root, data, systems or tuple(data.get("systems") or ()),
                     tuple(str(s) for s in config.get("sources") or ()))


def _untraced_items(records: Sequence[ReferenceRecord], rows: Sequence[Mapping[str, Any]], ranking: SystemRanking,
                    min_suspicion: float, run: str) -> list[WorkItem]:
    """The items of one document without its archive file: the worklist's selection and
    proposals (``worklist.propose``), no source and no line numbers."""
    items = []
    for record, row in zip(records, rows, strict=True):
        if not is_flagged(row, min_suspicion):
            continue
        items.append(WorkItem(
            id=record.id, doc_id=record.doc_id, title_en=str(record.meta.get("title_en", "")), index=record.index,
            kind=record.kind, bead=record.bead, source="", source_sha256="", en_lines=(), zh_lines=(), insert=None,
            flags=tuple(dict(f) for f in row.get("flags") or ()), suspicion=float(row.get("suspicion") or 0.0),
            fault=row.get("fault"), zh=record.zh, en=record.en, proposal=propose(record, row, ranking), run=run))
    return items


def _collect(run: RunFolder, make: Callable[[list[ReferenceRecord], list[dict[str, Any]]], list[WorkItem]],
             min_suspicion: float, limit: int) -> tuple[list[WorkItem], int]:
    """The first ``limit`` items of the run (``make`` builds a document's), and how many it has."""
    items: list[WorkItem] = []
    total = 0
    for records, rows in iter_run_documents(run):
        flagged = sum(1 for row in rows if is_flagged(row, min_suspicion))
        if not flagged:
            continue
        total += flagged
        if len(items) < limit:
            items += make(records, rows)
    return items[:limit], total


def build_items(run_dir: str | Path, summary: Mapping[str, Any] | None = None, *,
                min_suspicion: float = DEFAULT_MIN_SUSPICION,
                limit: int = REVIEW_LIMIT) -> tuple[list[WorkItem], int, bool, list[str]]:
    """``(items, total, traced, notices)`` of a run: the first ``limit`` of the items
    ``evalkit worklist`` would write, how many it would write, whether they carry their archive
    files (else they have no source or line numbers, and ``notices`` says why)."""
    root = Path(run_dir)
    run = open_run(root) if summary is None else _run_folder(root, summary)
    ranking = rank_systems(run.summary, run.systems)
    where = str(run.root.resolve())
    notices: list[str] = []
    if run.sources:
        finder = SourceFinder(list(run.sources), run.root / "summary.json")

        def traced(records: list[ReferenceRecord], rows: list[dict[str, Any]]) -> list[WorkItem]:
            path, article, lines = finder.find(records)
            doc = DocumentInputs(records, rows, article, lines, str(path.resolve()), sha256_of(path), where)
            return document_items(doc, ranking, min_suspicion)

        try:
            items, total = _collect(run, traced, min_suspicion, limit)
            return items, total, True, notices
        except EvalkitError as exc:
            notices.append(f"The items could not be traced to the archive files the run ingested ({exc}). They are "
                           "shown without source file and line numbers, so `evalkit apply` cannot write their "
                           "decisions back: run `evalkit worklist` from the folder the run was made in, or with "
                           "--sources.")
    else:
        notices.append("This run was made from a reference set, not from archive files: its items have no source "
                       "file or line numbers. You can review and export them, but `evalkit apply` writes back only "
                       "a worklist traced to archive files (`evalkit worklist RUN --sources FILES`, or a run "
                       "with --sources).")
    items, total = _collect(run, lambda records, rows: _untraced_items(records, rows, ranking, min_suspicion, where),
                            min_suspicion, limit)
    return items, total, False, notices


def _identity(run: str, min_suspicion: float, items: Sequence[WorkItem]) -> str:
    digest = hashlib.sha256(json.dumps([run, min_suspicion], ensure_ascii=False).encode("utf-8"))
    for item in items:
        digest.update(json.dumps([item.id, item.source, item.source_sha256, item.en, item.proposal.text],
                                 ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()[:24]


def _where(item: WorkItem) -> str:
    if not item.source:
        return "no archive file (reference set)"
    parts = [Path(item.source).name]
    if item.en_lines:
        parts.append(f"English line {format_range(item.en_lines).replace('-', '–')}")
    if item.insert:
        parts.append(f"new English {item.insert}")
    if item.zh_lines:
        parts.append(f"Chinese line {format_range(item.zh_lines).replace('-', '–')}")
    return " · ".join(parts)


def item_view(item: WorkItem) -> dict[str, Any]:
    """What a review card shows of an item: its record, label, place and the word-level
    difference between the current English and the proposal (``render.word_diff``)."""
    proposal = item.proposal.text
    en_runs, proposal_runs = word_diff(item.en, proposal) if proposal is not None else ([("eq", item.en)], [])
    return {"rec": item.to_dict(), "label": f"{item.title_en or item.doc_id} ¶ {item.index}", "where": _where(item),
            "en_runs": en_runs, "proposal_runs": proposal_runs}


def build_review(run_dir: str | Path, summary: Mapping[str, Any] | None = None, *,
                 min_suspicion: float = DEFAULT_MIN_SUSPICION, limit: int = REVIEW_LIMIT) -> Review:
    """report.html's review mode for a run folder whose reference.jsonl and paragraphs.jsonl are
    written (``summary``: the run's summary, when summary.json is not written yet). A run whose
    items cannot be built at all gets a review with no items and a notice saying why."""
    try:
        items, total, traced, notices = build_items(run_dir, summary, min_suspicion=min_suspicion, limit=limit)
    except EvalkitError as exc:
        return Review([], 0, "none", min_suspicion, False, [f"The work items could not be built: {exc}"], built=False)
    if total > len(items):
        notices.append(f"This page holds the first {len(items)} of the run's {total} work items; "
                       "`evalkit worklist` writes them all.")
    run = str(Path(run_dir).resolve())
    identity = _identity(run, min_suspicion, items)
    data = _htmlsafe_json({"identity": identity, "file": EXPORT_NAME, "decided": DECIDED,
                           "items": [worklist_line_parts(item) for item in items]})
    return Review([item_view(item) for item in items], total, identity, min_suspicion, traced, notices, data)


# How a fresh item's worklist line holds its decision: ``dumps`` of ``WorkItem.to_dict()``, whose
# ``decision`` and ``edited`` come just before ``run``. The page writes its decisions there.
_ITEMS, _KEY = dumps([0, 0])[2:-2], dumps({"": 0})[3:-2]  # "," and ": "
PENDING = f'{_ITEMS}"decision"{_KEY}"pending"{_ITEMS}"edited"{_KEY}null{_ITEMS}'
DECIDED = (f'{_ITEMS}"decision"{_KEY}', f'{_ITEMS}"edited"{_KEY}', _ITEMS)


def worklist_line_parts(item: WorkItem) -> tuple[str, str]:
    """The item's worklist line (``evalkit.jsonl.dumps``, as ``evalkit worklist`` writes it) cut
    around its pending decision: ``head + PENDING + tail`` is the line. The page exports
    ``head + DECIDED[0] + JSON(decision) + DECIDED[1] + JSON(edited) + DECIDED[2] + tail``,
    the line evalkit would write for the decided item (JSON.stringify and ``json.dumps`` with
    ``ensure_ascii=False`` escape a string alike)."""
    if (item.decision, item.edited) != ("pending", None):
        raise ValueError(f"item {item.id!r} is already decided")
    line = dumps(item.to_dict())
    head, found, tail = line.rpartition(PENDING)
    if not found or not tail.startswith(f'"run"{_KEY}'):
        raise ValueError(f"unexpected worklist line for {item.id!r}: {line[:200]}")
    return head, tail


def _htmlsafe_json(obj: Any) -> Markup:
    """JSON for a ``<script type="application/json">`` element: keys in record order (Jinja's
    ``tojson`` would sort them), ``< > & '`` escaped so no corpus text can close the element."""
    from jinja2.utils import htmlsafe_json_dumps

    return htmlsafe_json_dumps(obj, ensure_ascii=False, separators=(",", ":"))
