"""Work items: what ``evalkit worklist`` writes and ``evalkit apply`` reads (DESIGN.md, "Worklist record").

One item per flagged paragraph, as a JSON object per line (``worklist.jsonl``) and as a CSV row
(``worklist.csv``, the same fields, for a spreadsheet). A person sets each item's ``decision``:

``pending``  not decided yet (the default; ``apply`` leaves the paragraph alone)
``accept``   replace the paragraph's English with ``proposal.text`` (or insert it, for a
             paragraph with no English)
``reject``   leave the paragraph as it is
``edit``     use ``edited`` (the person's own English) instead of the proposal

Line numbers are the archive file's, 1-based: ``en_lines`` / ``zh_lines`` are ``[first, last]``
of the paragraph's English and Chinese lines (blank lines between merged lines included; ``[]``
when that side has none), and ``insert`` says where a paragraph with no English gets its new one
(``{"after": 12}``: after line 12; ``{"before": 6}``: in front of line 6, when no English line
comes before it). ``apply`` checks both against the file itself.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.errors import InputError
from evalkit.jsonl import atomic_writer, dumps

DECISIONS = ("pending", "accept", "reject", "edit")
ACTIVE = ("accept", "edit")  # the decisions that change a file
NO_PROPOSAL = "none"  # proposal.origin when nothing can be proposed

CSV_COLUMNS = ("id", "doc_id", "title_en", "index", "kind", "bead", "suspicion", "fault", "flags", "zh", "en",
               "proposal_text", "proposal_origin", "proposal_rule", "decision", "edited",
               "source", "source_sha256", "en_lines", "zh_lines", "insert", "run")


@dataclass(frozen=True, slots=True)
class Proposal:
    """A proposed English for the paragraph, where it came from and by which rule.

    ``origin``: ``system:<name>`` (that system's hypothesis), ``edit:dateline``,
    ``edit:untranslated``, ``edit:insert`` (joined with ``+`` when several apply, e.g.
    ``edit:insert+dateline``), or ``none`` (``text`` is None: nothing to propose).
    """

    text: str | None
    origin: str
    rule: str

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "origin": self.origin, "rule": self.rule}


@dataclass(frozen=True, slots=True)
class Insertion:
    """Where a new English paragraph goes: ``after`` or ``before`` a 1-based line of the file."""

    where: str  # "after" | "before"
    line: int

    def to_dict(self) -> dict[str, int]:
        return {self.where: self.line}

    def __str__(self) -> str:
        return f"{self.where} {self.line}"


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One flagged paragraph, its proposed repair and the decision on it."""

    id: str
    doc_id: str
    title_en: str
    index: int
    kind: str
    bead: str
    source: str           # the archive file the run ingested
    source_sha256: str    # its content hash when the worklist was made
    en_lines: tuple[int, ...]  # (first, last), 1-based; () when the paragraph has no English
    zh_lines: tuple[int, ...]
    insert: Insertion | None
    flags: tuple[dict[str, Any], ...]
    suspicion: float
    fault: str | None
    zh: str
    en: str
    proposal: Proposal
    run: str              # the run folder the item comes from
    decision: str = "pending"
    edited: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "doc_id": self.doc_id, "title_en": self.title_en, "index": self.index,
            "kind": self.kind, "bead": self.bead,
            "source": self.source, "source_sha256": self.source_sha256,
            "en_lines": list(self.en_lines), "zh_lines": list(self.zh_lines),
            "insert": self.insert.to_dict() if self.insert else None,
            "flags": [dict(f) for f in self.flags], "suspicion": self.suspicion, "fault": self.fault,
            "zh": self.zh, "en": self.en, "proposal": self.proposal.to_dict(),
            "decision": self.decision, "edited": self.edited, "run": self.run,
        }

    def csv_row(self) -> dict[str, str]:
        return {
            "id": self.id, "doc_id": self.doc_id, "title_en": self.title_en, "index": str(self.index),
            "kind": self.kind, "bead": self.bead, "suspicion": f"{self.suspicion:.4f}", "fault": self.fault or "",
            "flags": "\n".join(f"{f.get('name')}{' [' + f['system'] + ']' if f.get('system') else ''}: "
                               f"{f.get('evidence', '')}" for f in self.flags),
            "zh": self.zh, "en": self.en,
            "proposal_text": self.proposal.text or "", "proposal_origin": self.proposal.origin,
            "proposal_rule": self.proposal.rule, "decision": self.decision, "edited": self.edited or "",
            "source": self.source, "source_sha256": self.source_sha256,
            "en_lines": format_range(self.en_lines), "zh_lines": format_range(self.zh_lines),
            "insert": str(self.insert) if self.insert else "", "run": self.run,
        }


def format_range(lines: Sequence[int]) -> str:
    if not lines:
        return ""
    return str(lines[0]) if lines[0] == lines[-1] else f"{lines[0]}-{lines[-1]}"


def csv_path_for(path: Path) -> Path:
    return path.with_suffix(".csv")


def write_worklist(items: Iterable[WorkItem], path: Path) -> tuple[int, Path]:
    """Write the items as JSONL to ``path`` and as CSV beside it; return (count, CSV path)."""
    csv_path = csv_path_for(path)
    count = 0
    with atomic_writer(path) as jsonl, atomic_writer(csv_path) as table:
        writer = csv.DictWriter(table, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for item in items:
            jsonl.write(dumps(item.to_dict()) + "\n")
            writer.writerow(item.csv_row())
            count += 1
    return count, csv_path


# --- reading decisions back (what apply needs) -------------------------------------------------

@dataclass(frozen=True, slots=True)
class Decision:
    """One worklist item as ``apply`` reads it: where it is, what it changes, what was decided."""

    worklist: str
    line: int             # the item's line (JSONL) or first line (CSV) in the worklist
    id: str
    kind: str
    source: str
    source_sha256: str
    run: str
    en_lines: tuple[int, ...]
    zh_lines: tuple[int, ...]
    insert: Insertion | None
    proposal_text: str | None
    proposal_origin: str
    decision: str
    edited: str | None = None

    @property
    def active(self) -> bool:
        return self.decision in ACTIVE

    @property
    def text(self) -> str | None:
        """The English this decision writes (None: it writes nothing)."""
        if self.decision == "accept":
            return self.proposal_text
        if self.decision == "edit":
            return self.edited
        return None


def read_decisions(path: str | Path) -> list[Decision]:
    """Read a worklist (``.jsonl``, or the ``.csv`` form) and check every decision in it.

    Raises ``InputError`` naming the worklist and the item's line for a decision that is not one
    of ``pending | accept | reject | edit``, an ``edit`` with no ``edited`` text, an ``accept``
    with nothing proposed, and missing or malformed fields.
    """
    path = Path(path)
    rows = _csv_rows(path) if path.suffix.lower() == ".csv" else _jsonl_rows(path)
    return [_decision(path, line, row) for line, row in rows]


def decided(path: Path) -> bool:
    """Whether a worklist file holds any decision other than ``pending`` (so that writing a new
    worklist over it would lose a person's work). Unreadable files count as decided."""
    if not path.exists():
        return False
    try:
        rows = _csv_rows(path) if path.suffix.lower() == ".csv" else _jsonl_rows(path)
        return any(str(row.get("decision") or "pending").strip().lower() != "pending" for _line, row in rows)
    except InputError:
        return True


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    from evalkit.jsonl import iter_jsonl

    yield from iter_jsonl(path)


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text; expected the worklist CSV that `evalkit worklist` writes") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        return
    missing = [c for c in ("id", "decision", "source", "source_sha256") if c not in header]
    if missing:
        raise InputError(path, f"the CSV header lacks {', '.join(missing)}; expected the columns "
                               "`evalkit worklist` writes", 1)
    while True:
        start = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        if not any(v.strip() for v in values):
            continue
        row: dict[str, Any] = dict(zip(header, values))
        row["proposal"] = {"text": row.pop("proposal_text", "") or None,
                           "origin": row.pop("proposal_origin", ""), "rule": row.pop("proposal_rule", "")}
        row["en_lines"] = _parse_range(path, start, "en_lines", row.get("en_lines", ""))
        row["zh_lines"] = _parse_range(path, start, "zh_lines", row.get("zh_lines", ""))
        row["insert"] = _parse_insert(path, start, row.get("insert", ""))
        row["edited"] = row.get("edited") or None
        yield start, row


def _parse_range(path: Path, line: int, name: str, text: str) -> list[int]:
    text = text.strip()
    if not text:
        return []
    try:
        first, _, last = text.partition("-")
        return [int(first), int(last or first)]
    except ValueError:
        raise InputError(path, f"{name} is {text!r}; expected a line number or 'first-last'", line) from None


def _parse_insert(path: Path, line: int, text: str) -> dict[str, int] | None:
    text = text.strip()
    if not text:
        return None
    where, _, number = text.partition(" ")
    if where not in ("after", "before") or not number.strip().isdigit():
        raise InputError(path, f"insert is {text!r}; expected 'after N' or 'before N'", line)
    return {where: int(number)}


def _decision(path: Path, line: int, row: dict[str, Any]) -> Decision:
    def text_field(name: str, required: bool = True) -> str:
        value = row.get(name)
        if value is None or value == "":
            if required:
                raise InputError(path, f"item {row.get('id', '?')!r}: missing field {name!r}", line)
            return ""
        if not isinstance(value, str):
            raise InputError(path, f"item {row.get('id', '?')!r}: field {name!r} must be a string, got "
                                   f"{type(value).__name__}", line)
        return value

    item_id = text_field("id")
    raw = row.get("decision", "pending")
    decision = raw.strip().lower() if isinstance(raw, str) else raw
    if decision == "" or decision is None:
        decision = "pending"
    if decision not in DECISIONS:
        raise InputError(path, f"item {item_id!r}: decision {raw!r} is not one of {' | '.join(DECISIONS)}", line)
    proposal = row.get("proposal") or {}
    if not isinstance(proposal, dict):
        raise InputError(path, f"item {item_id!r}: field 'proposal' must be an object", line)
    proposal_text = proposal.get("text")
    if proposal_text is not None and not isinstance(proposal_text, str):
        raise InputError(path, f"item {item_id!r}: proposal.text must be a string or null", line)
    edited = row.get("edited")
    if edited is not None and not isinstance(edited, str):
        raise InputError(path, f"item {item_id!r}: field 'edited' must be a string, got {type(edited).__name__}", line)
    if decision == "edit" and not (edited or "").strip():
        raise InputError(path, f"item {item_id!r}: decision 'edit' has no text; put the corrected English in "
                               "'edited' (or use accept / reject)", line)
    if decision == "accept" and not (proposal_text or "").strip():
        raise InputError(path, f"item {item_id!r}: decision 'accept' but nothing is proposed "
                               f"({proposal.get('rule') or 'no proposal'}); use 'edit' with your own text, or 'reject'",
                         line)
    source = text_field("source", required=decision in ACTIVE)
    sha = text_field("source_sha256", required=decision in ACTIVE)
    if decision in ACTIVE and (len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha)):
        raise InputError(path, f"item {item_id!r}: source_sha256 {sha!r} is not a SHA-256 hex digest", line)
    insert = row.get("insert")
    if insert is not None:
        if (not isinstance(insert, dict) or len(insert) != 1 or next(iter(insert)) not in ("after", "before")
                or not isinstance(next(iter(insert.values())), int)):
            raise InputError(path, f"item {item_id!r}: insert is {insert!r}; expected {{\"after\": N}} or "
                                   "{\"before\": N}", line)
        where, number = next(iter(insert.items()))
        insertion: Insertion | None = Insertion(where, number)
    else:
        insertion = None
    return Decision(
        worklist=str(path), line=line, id=item_id, kind=str(row.get("kind") or "body"), source=source,
        source_sha256=sha, run=str(row.get("run") or ""),
        en_lines=_lines(path, line, item_id, "en_lines", row.get("en_lines")),
        zh_lines=_lines(path, line, item_id, "zh_lines", row.get("zh_lines")),
        insert=insertion, proposal_text=proposal_text, proposal_origin=str(proposal.get("origin") or ""),
        decision=decision, edited=edited)


def _lines(path: Path, line: int, item_id: str, name: str, value: Any) -> tuple[int, ...]:
    if value is None or value == []:
        return ()
    if (not isinstance(value, list) or len(value) != 2 or not all(isinstance(v, int) and v >= 1 for v in value)
            or value[0] > value[1]):
        raise InputError(path, f"item {item_id!r}: {name} is {json.dumps(value)}; expected [first, last] "
                               "1-based line numbers, or []", line)
    return (value[0], value[1])
