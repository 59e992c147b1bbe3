"""The typed records that flow between the stages (DESIGN.md, "Contracts").

Each record serialises to one JSON object per line. ``from_dict`` checks the fields a
later stage relies on and names the missing or mistyped one, so a user's hand-made
reference or hypothesis file fails with a message they can act on.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from evalkit.errors import InputError


def id_hash(identifier: str) -> int:
    """A 64-bit hash of a paragraph or document id: what the streaming stages keep instead of the
    id (collisions are negligible below billions of ids, and are checked where it matters)."""
    return int.from_bytes(hashlib.blake2b(identifier.encode("utf-8"), digest_size=8).digest(), "little")

# Alignment shapes: "<number of English paragraphs>-<number of Chinese paragraphs>"; the aligner
# uses the wider 3-1 / 1-3 only for verse and lists, and N-1 (N ≥ 4) for one OCR-glued Chinese line.
BEADS = ("1-1", "2-1", "1-2", "1-0", "0-1", "3-1", "1-3")

# What part of the article a reference record holds.
#   headline        the English ``Title:`` header paired with the Chinese ``###`` headline
#   body            a body paragraph (or a run of merged ones)
#   headline_repeat a Chinese body line that only repeats the headline/byline while the English
#                   body does not: a ``0-1`` record that is *not* an omission
KINDS = ("headline", "body", "headline_repeat")


def _require(obj: dict[str, Any], name: str, kind: type | tuple[type, ...], where: tuple[str, int | None]) -> Any:
    if name not in obj:
        raise InputError(where[0], f"missing field {name!r}", where[1])
    value = obj[name]
    if not isinstance(value, kind):
        expected = " or ".join(t.__name__ for t in (kind if isinstance(kind, tuple) else (kind,)))
        raise InputError(where[0], f"field {name!r} must be {expected}, got {type(value).__name__}", where[1])
    return value


@dataclass(frozen=True, slots=True)
class ReferenceRecord:
    """One aligned paragraph pair of the reference set.

    ``en`` or ``zh`` is empty for ``1-0`` / ``0-1`` beads: unmatched paragraphs are kept.
    ``en_lines`` / ``zh_lines`` are the 0-based body-line indices the record covers (the
    numbering of the gold alignments' extraction scripts); headline records have none.
    """

    id: str
    doc_id: str
    index: int
    zh: str
    en: str
    bead: str
    align_cost: float
    kind: str = "body"
    en_lines: tuple[int, ...] = ()
    zh_lines: tuple[int, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["en_lines"] = list(self.en_lines)
        out["zh_lines"] = list(self.zh_lines)
        return out

    @classmethod
    def from_dict(cls, obj: dict[str, Any], path: str | Path = "<reference>", line: int | None = None) -> ReferenceRecord:
        where = (str(path), line)
        values = {
            "id": _require(obj, "id", str, where),
            "doc_id": _require(obj, "doc_id", str, where),
            "index": _require(obj, "index", int, where),
            "zh": _require(obj, "zh", str, where),
            "en": _require(obj, "en", str, where),
        }
        bead = obj.get("bead", "1-1")
        if not isinstance(bead, str) or "-" not in bead:
            raise InputError(where[0], f"field 'bead' must look like '1-1', got {bead!r}", where[1])
        cost = obj.get("align_cost", 0.0)
        if not isinstance(cost, int | float):
            raise InputError(where[0], f"field 'align_cost' must be a number, got {cost!r}", where[1])
        return cls(
            **values,
            bead=bead,
            align_cost=float(cost),
            kind=str(obj.get("kind", "body")),
            en_lines=tuple(obj.get("en_lines", ())),
            zh_lines=tuple(obj.get("zh_lines", ())),
            meta=dict(obj.get("meta", {})),
        )


@dataclass(frozen=True, slots=True)
class HypothesisRecord:
    """One system's translation of one reference paragraph.

    ``chunks``: how many pieces the source was split into to fit the model's input limit.
    ``truncated``: a single sentence still exceeded the limit and was cut (the judge flags it).
    ``cached``: served from the translation cache rather than the model.
    """

    id: str
    system: str
    hyp: str
    chunks: int = 1
    truncated: bool = False
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, obj: dict[str, Any], path: str | Path = "<hypotheses>", line: int | None = None) -> HypothesisRecord:
        where = (str(path), line)
        return cls(
            id=_require(obj, "id", str, where),
            system=_require(obj, "system", str, where),
            hyp=_require(obj, "hyp", str, where),
            chunks=int(obj.get("chunks", 1)),
            truncated=bool(obj.get("truncated", False)),
            cached=bool(obj.get("cached", False)),
        )


def field_names(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


def read_references(path: str | Path) -> list[ReferenceRecord]:
    """Load a reference set (JSONL); errors name the file and line. Ids must be unique."""
    from evalkit.jsonl import iter_jsonl

    records: list[ReferenceRecord] = []
    seen: dict[str, int] = {}
    for lineno, obj in iter_jsonl(path):
        record = ReferenceRecord.from_dict(obj, path, lineno)
        if record.id in seen:
            raise InputError(path, f"duplicate id {record.id!r} (first on line {seen[record.id]})", lineno)
        seen[record.id] = lineno
        records.append(record)
    if not records:
        raise InputError(path, "the reference set is empty; expected one JSON object per line")
    return records


def read_hypotheses(path: str | Path) -> list[HypothesisRecord]:
    from evalkit.jsonl import iter_jsonl

    return [HypothesisRecord.from_dict(obj, path, lineno) for lineno, obj in iter_jsonl(path)]
