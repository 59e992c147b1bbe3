"""Applying a worklist's decisions: corrected copies of the archive files, a diff each, a summary.

Only the English lines of the accepted (``accept``) and edited (``edit``) paragraphs change;
every other byte of the file — the header, the format variant, indentation, blank-line style,
line ends, the Named Entities block, the whole Chinese half — is copied as it is. A replaced
paragraph keeps each line's own indentation and trailing whitespace; a paragraph that gains
lines, and a new paragraph inserted for Chinese with no English, take the indentation of their
neighbours and the separator (blank lines or none) the file already uses between paragraphs.

Nothing is written until every check has passed, for every file. ``apply_worklist`` refuses,
with ``InputError`` naming the file (and the worklist line), when

* a decision is not ``pending | accept | reject | edit``, or an ``edit`` has no text
  (``items.read_decisions``);
* an item's id is not a paragraph of its run (``reference.jsonl``);
* a source file changed since the worklist was made (its SHA-256);
* two decisions touch the same lines of a file;
* the worklist's line numbers do not fit the file, or, after the change, the file no longer
  aligns into the same paragraphs: every id must stay, in order, with its Chinese, and every
  changed paragraph must be paired with its own Chinese (checked with the real aligner).

Positions come from the file itself (parsed and aligned as ``evalkit ingest`` does), so a
worklist cannot write outside the paragraph it names.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.corpus.ingest import align_article, doc_id_for
from evalkit.corpus.parse import STRIP, Article, parse_text
from evalkit.errors import InputError
from evalkit.fixes.items import Decision, Insertion, format_range, read_decisions
from evalkit.fixes.runfiles import sha256_of
from evalkit.fixes.worklist import insertion_point, line_spans
from evalkit.jsonl import atomic_writer, iter_jsonl
from evalkit.records import ReferenceRecord

SUMMARY_NAME = "apply-summary.json"
_FORBIDDEN_STARTS = ("<hr />", "**Named Entities**")


@dataclass(frozen=True, slots=True)
class Change:
    """What one decision does to its file, in the file's own 1-based line numbers."""

    decision: Decision
    record: ReferenceRecord
    kind: str                      # "replace" (body lines), "title" (the Title: header), "insert"
    lines: tuple[int, ...]         # replace: the body lines replaced; title: the Title line
    insert: Insertion | None       # insert: where
    new_lines: tuple[str, ...]     # the new English, one paragraph line each (stripped)

    def describe(self) -> str:
        if self.insert is not None:
            return f"a new English paragraph {self.insert}"
        return f"English line{'s' if len(self.lines) > 1 else ''} {format_range(self.lines)}"


@dataclass
class FileResult:
    source: Path
    output: Path
    diff: Path
    sha256_before: str
    sha256_after: str
    items: list[dict[str, Any]]
    added: int
    removed: int


@dataclass
class ApplyResult:
    worklist: Path
    out: Path
    in_place: bool
    decisions: Counter[str] = field(default_factory=Counter)
    files: list[FileResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "worklist": str(self.worklist), "out": str(self.out), "in_place": self.in_place,
            "decisions": {k: self.decisions.get(k, 0) for k in ("pending", "accept", "reject", "edit")},
            "files": [{"source": str(f.source), "output": str(f.output), "diff": str(f.diff),
                       "sha256_before": f.sha256_before, "sha256_after": f.sha256_after,
                       "lines_added": f.added, "lines_removed": f.removed, "items": f.items} for f in self.files],
        }

    def summary(self) -> str:
        d = self.decisions
        lines = [f"decisions: {d['accept']} accepted, {d['edit']} edited, {d['reject']} rejected, "
                 f"{d['pending']} pending"]
        for f in self.files:
            where = "in place" if self.in_place else f"→ {f.output}"
            lines.append(f"  {f.source} {where}: {len(f.items)} paragraph(s), +{f.added} -{f.removed} lines "
                         f"(diff {f.diff})")
        if not self.files:
            lines.append("  no file changed (no accepted or edited item)")
        lines.append(f"summary: {self.out / SUMMARY_NAME}")
        return "\n".join(lines)


# --- the rewriting itself (pure) -------------------------------------------------------------------

def _split_new(text: str) -> tuple[str, ...]:
    return tuple(line.strip(STRIP) for line in text.split("\n") if line.strip(STRIP))


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \u3000\t\ufeff"))]


def _trail(line: str) -> str:
    return line[len(line.rstrip(" \u3000\t\r")):]


def _body_index(article: Article, line: int) -> int:
    return next(k for k, p in enumerate(article.en) if p.line == line)


def separator(article: Article, lines: Sequence[str], line: int) -> list[str]:
    """The lines the file puts between English paragraphs near ``line`` (blank lines, or none)."""
    k = _body_index(article, line)
    en = article.en
    if k + 1 < len(en):
        return list(lines[line: en[k + 1].line - 1])
    if k > 0:
        return list(lines[en[k - 1].line: line - 1])
    # A one-paragraph English: the period's habit (FORMATS.md: one paragraph per line until 1960).
    return [] if article.date[:4] <= "1960" else ["\r" if any(x.endswith("\r") for x in lines) else ""]


def rewrite(lines: Sequence[str], article: Article, changes: Sequence[Change]) -> list[str]:
    """The file's lines (split at ``\\n``) with the changes made; every other line as it was."""
    out: list[list[str]] = [[line] for line in lines]
    eol = "\r" if any(line.endswith("\r") for line in lines) else ""
    for change in sorted((c for c in changes if c.insert is None), key=lambda c: c.record.index):
        if change.kind == "title":
            k = change.lines[0] - 1
            old = lines[k]
            colon = old.index(":") + 1
            head = old[:colon] + old[colon:][: len(old[colon:]) - len(old[colon:].lstrip(" \u3000\t"))]
            out[k] = [head + " ".join(change.new_lines) + _trail(old)]
            continue
        body, new = change.lines, change.new_lines
        for j, number in enumerate(body):
            old = lines[number - 1]
            if j < len(new):
                out[number - 1] = [_indent(old) + new[j] + _trail(old)]
            else:  # the new English has fewer lines: drop this one and the separator before it
                for gap in range(body[j - 1], number):
                    out[gap] = []
        if len(new) > len(body):
            last = body[-1]
            gap = separator(article, lines, last)
            tail = lines[last - 1]
            for text in new[len(body):]:
                out[last - 1] += [*gap, _indent(tail) + text + eol]
    before: dict[int, list[str]] = {}
    for change in sorted((c for c in changes if c.insert is not None), key=lambda c: c.record.index):
        at = change.insert
        assert at is not None
        gap = separator(article, lines, at.line)
        if at.where == "after":
            k = _body_index(article, at.line)
            neighbour = article.en[k + 1].line if k + 1 < len(article.en) else at.line
            indent = _indent(lines[neighbour - 1])
            for text in change.new_lines:
                out[at.line - 1] += [*gap, indent + text + eol]
        else:
            # In front of the line (after any paragraph an earlier insertion put there).
            indent = _indent(lines[at.line - 1])
            for text in change.new_lines:
                before.setdefault(at.line - 1, []).extend([indent + text + eol, *gap])
    return [line for k, group in enumerate(out) for line in (*before.get(k, ()), *group)]


# --- planning and checking -----------------------------------------------------------------------------

@dataclass
class _Source:
    path: Path
    raw: bytes
    text: str                 # decoded, BOM and line ends as in the file
    lines: list[str]
    article: Article
    records: list[ReferenceRecord]
    changes: list[Change] = field(default_factory=list)


def _normal(text: str) -> str:
    """What the parser sees (parse.read_text): no BOM, \\n line ends."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n")


def _load_source(path: Path) -> _Source:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "the archive file named by the worklist is not there; expected the file the run "
                               "ingested") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text; expected an archive article file") from None
    article = parse_text(_normal(text), path)
    return _Source(path, raw, text, text.split("\n"), article, align_article(article))


def _check_run_ids(decisions: Sequence[Decision], run_override: Path | None, worklist: Path) -> None:
    by_run: dict[Path, list[Decision]] = {}
    for d in decisions:
        run = run_override or (Path(d.run) if d.run else None)
        if run is None:
            raise InputError(worklist, f"item {d.id!r} names no run folder; give it with --run", d.line)
        by_run.setdefault(run, []).append(d)
    for run, items in by_run.items():
        reference = run / "reference.jsonl"
        if not reference.is_file():
            raise InputError(worklist, f"item {items[0].id!r}: its run folder {run} has no reference.jsonl; give the "
                                       "run with --run", items[0].line)
        wanted = {d.id for d in items}
        found = set()
        for _lineno, obj in iter_jsonl(reference):
            if obj.get("id") in wanted:
                found.add(obj["id"])
        for d in items:
            if d.id not in found:
                raise InputError(worklist, f"item {d.id!r} is not a paragraph of the run {run} (not in its "
                                           "reference.jsonl); expected the worklist `evalkit worklist` wrote for it",
                                 d.line)


def _plan(source: _Source, decision: Decision) -> Change:
    """The change one decision makes, positioned by the file's own alignment."""
    records = source.records
    position = next((k for k, r in enumerate(records) if r.id == decision.id), None)
    if position is None:
        raise InputError(source.path, f"has no paragraph {decision.id!r} (worklist line {decision.line}); the worklist "
                                      "item belongs to another file")
    record = records[position]
    text = decision.text or ""
    new = _split_new(text)
    for line in new:
        if line.startswith(_FORBIDDEN_STARTS):
            raise InputError(decision.worklist, f"item {decision.id!r}: a line of the new English starts with "
                                                f"{line.split()[0]!r}, which the archive format reserves", decision.line)
    en_lines, zh_lines = line_spans(record, source.article, source.lines)
    where = f"item {decision.id!r}"
    if decision.en_lines and tuple(decision.en_lines) != en_lines or decision.zh_lines and tuple(decision.zh_lines) != zh_lines:
        raise InputError(decision.worklist, f"{where} gives lines EN {format_range(decision.en_lines)} / ZH "
                                            f"{format_range(decision.zh_lines)}, but in {source.path} the paragraph is "
                                            f"at EN {format_range(en_lines) or '-'} / ZH {format_range(zh_lines) or '-'}; "
                                            "the worklist does not fit this file", decision.line)
    if record.kind == "headline":
        if not en_lines:
            raise InputError(source.path, f"has no 'Title:' line for {decision.id!r} to change")
        return Change(decision, record, "title", (en_lines[0],), None, new)
    if record.en_lines:
        body = tuple(source.article.en[i].line for i in record.en_lines)
        return Change(decision, record, "replace", body, None, new)
    if not record.zh_lines or record.kind != "body":
        raise InputError(decision.worklist, f"{where} has neither English nor Chinese to repair", decision.line)
    insert = insertion_point(records, position, source.article)
    if insert is None:
        raise InputError(source.path, f"has no English line to insert {decision.id!r} next to")
    if decision.insert is not None and decision.insert != insert:
        raise InputError(decision.worklist, f"{where} inserts {decision.insert}, but in {source.path} its place is "
                                            f"{insert}; the worklist does not fit this file", decision.line)
    return Change(decision, record, "insert", (), insert, new)


def _touches(change: Change) -> tuple[set[int], set[int]]:
    """(lines it rewrites, gaps between lines it needs: gap g lies between line g and g + 1)."""
    if change.insert is not None:
        gap = change.insert.line if change.insert.where == "after" else change.insert.line - 1
        return set(), {gap}
    first, last = change.lines[0], change.lines[-1]
    return set(range(first, last + 1)), set(range(first, last))


def _check_overlaps(source: _Source) -> None:
    """Two decisions may not touch the same lines (insertions into one gap are fine: they go in
    paragraph order)."""
    changes = sorted(source.changes, key=lambda c: c.decision.line)
    for i, a in enumerate(changes):
        a_lines, a_gaps = _touches(a)
        for b in changes[i + 1:]:
            b_lines, b_gaps = _touches(b)
            inserts = a.insert is not None and b.insert is not None
            if (a.record.id == b.record.id or a_lines & b_lines
                    or (not inserts and (a_gaps & b_gaps))):
                raise InputError(source.path, f"items {a.record.id!r} (worklist line {a.decision.line}) and "
                                              f"{b.record.id!r} (line {b.decision.line}) both change "
                                              f"{a.describe() if a.record.id == b.record.id else a.describe() + ' / ' + b.describe()}"
                                              "; keep one decision for those lines")


def _check_realigned(source: _Source, new_text: str) -> None:
    """The corrected file must align into the same paragraphs, each changed one with its own Chinese."""
    article = parse_text(_normal(new_text), source.path)
    doc_id = source.records[0].doc_id
    if doc_id_for(article) != doc_id:
        raise InputError(source.path, f"the corrected file gives document id {doc_id_for(article)!r} instead of "
                                      f"{doc_id!r}; the change must not alter the header's Date or Page")
    after = align_article(article, doc_id)
    changed = {c.record.id: c for c in source.changes}
    if [r.id for r in after] != [r.id for r in source.records]:
        raise InputError(source.path, f"the corrected file aligns into {len(after)} paragraphs instead of "
                                      f"{len(source.records)}, so paragraph ids would change; edit the new English of "
                                      f"{', '.join(sorted(changed))} so that each translates its own Chinese paragraph")
    for old, new in zip(source.records, after, strict=True):
        change = changed.get(old.id)
        if change is None:
            expected = old.en
        elif change.kind == "title":
            expected = " ".join(change.new_lines)
        else:
            expected = "\n".join(change.new_lines)
        if new.zh != old.zh or new.zh_lines != old.zh_lines or new.en != expected or new.kind != old.kind:
            who = f"item {old.id!r}'s new English" if change else f"paragraph {old.id!r} (unchanged)"
            culprits = ", ".join(sorted(changed))
            raise InputError(source.path, f"after the change the aligner no longer pairs {who} with its Chinese "
                                          f"(bead {old.bead} → {new.bead}); edit the new English of {culprits} so that "
                                          "it translates its own Chinese paragraph, or reject the item")


def _targets(sources: Sequence[_Source], out: Path) -> dict[Path, Path]:
    names = [s.path.name for s in sources]
    if len(set(names)) == len(names):
        return {s.path: out / s.path.name for s in sources}
    root = Path(os.path.commonpath([str(s.path.resolve().parent) for s in sources]))
    return {s.path: out / s.path.resolve().relative_to(root) for s in sources}


def apply_worklist(worklist: str | Path, out: str | Path, *, in_place: bool = False,
                   run: str | Path | None = None) -> ApplyResult:
    """Check every decision of ``worklist``, then write the corrected files, their diffs and the
    summary under ``out`` (the corrected files replace the sources, each kept as ``<file>.bak``,
    only with ``in_place``)."""
    worklist, out = Path(worklist), Path(out)
    decisions = read_decisions(worklist)
    result = ApplyResult(worklist, out, in_place, Counter(d.decision for d in decisions))
    _check_run_ids(decisions, Path(run) if run else None, worklist)

    active = [d for d in decisions if d.active]
    sources: dict[Path, _Source] = {}
    for d in active:
        path = Path(d.source)
        if not path.is_file():
            raise InputError(path, f"the archive file of item {d.id!r} (worklist line {d.line}) is not there")
        key = path.resolve()  # one file named two ways is still one file
        if key not in sources:
            sources[key] = _load_source(path)
        now = sha256_of(path)
        if now != d.source_sha256:
            raise InputError(path, f"changed since the worklist was made (SHA-256 {now[:12]}…, the worklist has "
                                   f"{d.source_sha256[:12]}…); re-run `evalkit run` and `evalkit worklist` on it")
    for d in active:
        source = sources[Path(d.source).resolve()]
        source.changes.append(_plan(source, d))
    for source in sources.values():
        _check_overlaps(source)

    targets = _targets(list(sources.values()), out)
    planned: list[tuple[_Source, str, Path]] = []
    for source in sources.values():
        new_text = "\n".join(rewrite(source.lines, source.article, source.changes))
        _check_realigned(source, new_text)
        target = source.path if in_place else targets[source.path]
        if not in_place and target.resolve() == source.path.resolve():
            raise InputError(source.path, f"--out {out} would overwrite this source file; give another folder, or "
                                          "--in-place to change the sources (keeping <file>.bak)")
        if in_place and source.path.with_name(source.path.name + ".bak").exists():
            raise InputError(source.path, "a backup <file>.bak from an earlier apply exists; move it away first, so "
                                          "that the original is not lost")
        planned.append((source, new_text, target))

    out.mkdir(parents=True, exist_ok=True)
    for source, new_text, target in planned:
        diff_path = targets[source.path].with_name(targets[source.path].name + ".diff")
        before = source.text.splitlines(keepends=True)
        after = new_text.splitlines(keepends=True)
        diff = list(difflib.unified_diff(before, after, fromfile=str(source.path), tofile=str(target)))
        data = new_text.encode("utf-8")
        if in_place:
            shutil.copy2(source.path, source.path.with_name(source.path.name + ".bak"))
        target.parent.mkdir(parents=True, exist_ok=True)
        diff_path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_writer(target, "wb") as handle:
            handle.write(data)
        with atomic_writer(diff_path) as handle:
            handle.write("".join(line if line.endswith("\n") else line + "\n" for line in diff))
        added = sum(1 for line in diff if line.startswith("+") and not line.startswith("+++"))
        removed = sum(1 for line in diff if line.startswith("-") and not line.startswith("---"))
        items = [{"id": c.record.id, "decision": c.decision.decision, "origin": c.decision.proposal_origin
                  if c.decision.decision == "accept" else "edit", "change": c.describe()}
                 for c in sorted(source.changes, key=lambda c: c.record.index)]
        result.files.append(FileResult(source.path, target, diff_path, hashlib.sha256(source.raw).hexdigest(),
                                       hashlib.sha256(data).hexdigest(), items, added, removed))
    with atomic_writer(out / SUMMARY_NAME) as handle:
        handle.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")
    return result
