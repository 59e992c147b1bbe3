"""Building the worklist: one item per flagged paragraph, with a proposed repair (pure functions).

Nothing here reads or writes files: ``document_items`` takes one document's reference records,
its ``paragraphs.jsonl`` rows, the parsed archive file (for line numbers) and the ranking of the
run's systems, and returns its work items. ``runfiles`` feeds it from a run folder.

Which paragraphs: those with at least one *reference-side* flag (a flag that is not about one
system's output: no ``system``, not ``truncated_hypothesis``) and ``suspicion ≥ min_suspicion``
(default 0.5, "more likely defective than not").

The proposal rule, in order:

1. *No Chinese* (a ``1-0`` bead) or a repeated headline: nothing to propose (``origin: none``);
   deleting an English line would renumber every later paragraph, so that is left to a person.
2. *No English* (a ``0-1`` bead, flag ``untranslated`` "no English"): the proposal system's
   hypothesis, inserted as a new English paragraph where the aligner pairs it with its Chinese
   (after the English of the paragraph before it) — ``edit:insert``.
3. Targeted edits, which keep the rest of the archive's English as it is:

   * *Chinese left in the English* (flag ``untranslated`` with Han characters in the English):
     each run of Chinese is replaced by the proposal system's text for it — the run must be
     whole sentences of the paragraph's Chinese and the hypothesis must have as many sentences
     as the Chinese, so that sentence k of the one translates sentence k of the other; a run
     that is the whole English takes the whole hypothesis — ``edit:untranslated``. When a run
     cannot be isolated so, the whole hypothesis is proposed instead (``system:<name>``).
   * *A dropped dateline* (flag ``dateline_missing``): the Chinese dateline (新华社延安三十日电)
     rendered in the archive's style for the paper's year (``dateline.py``) and put where the
     Chinese has it, at the head of the English — ``edit:dateline``.

   Both can apply to one paragraph (``edit:untranslated+dateline``).
4. Otherwise the proposal system's hypothesis replaces the English — ``system:<name>``.

Wherever a proposal replaces or inserts a whole hypothesis and the Chinese has a dateline the
hypothesis does not name, the dateline is added too (``+dateline``), so the repair does not drop it.

The *proposal system* of a paragraph is the run's system with the best corpus chrF in
``summary.json`` (chrF++, then BLEU, if the run computed no chrF; the config's order if none)
among those with a non-empty hypothesis and no system-side flag on that paragraph
(``truncated_hypothesis``, ``low_score`` or ``untranslated`` naming the system); ``--from SYSTEM``
forces one. Every proposal says which rule made it (``proposal.rule``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evalkit.corpus.parse import STRIP, Article
from evalkit.fixes.dateline import find_dateline, names_agency, render, with_dateline
from evalkit.fixes.items import NO_PROPOSAL, Insertion, Proposal, WorkItem
from evalkit.records import ReferenceRecord

DEFAULT_MIN_SUSPICION = 0.5
# What a ranking may use, best first; TER (lower is better) is not used.
RANKING_METRICS = ("chrf", "chrf++", "bleu")
METRIC_NAMES = {"chrf": "chrF", "chrf++": "chrF++", "bleu": "BLEU"}

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# A run of Chinese left in English: Han characters with the Chinese punctuation, full-width forms
# and digits between and after them, and an opening bracket or quote before.
_ZH_RUN = re.compile(r"[“‘《〈（【「『]?[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
                     r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef“”‘’《》〈〉…—·0-9]*")
_ZH_SENTENCE = re.compile(r".+?(?:[。！？!?]+[”’」』）)]*|$)", re.S)
_EN_BOUNDARY = re.compile(r"(?<=[.!?])[\"”’)]?\s+(?=[\"“‘(]?[A-Z])")
_EN_ABBREVIATION = re.compile(r"(?:\b[A-Z]|\b(?:Mr|Mrs|Ms|Dr|St|No|Nos|Gen|Col|Lt|Capt|Prof|Vol|vs|etc|Jr|Sr))\.[\"”’)]?$")


@dataclass(frozen=True, slots=True)
class SystemRanking:
    """The run's systems, best first, by ``metric`` (corpus score from summary.json)."""

    metric: str | None
    order: tuple[str, ...]
    scores: Mapping[str, float]

    
def rank_systems(summary: Mapping[str, Any], configured: Sequence[str]) -> SystemRanking:
    """Rank the systems of a run by corpus chrF (else chrF++, else BLEU; else the config's order)."""
    systems = summary.get("systems") or {}
    names = [n for n in configured if n in systems] or list(systems)
    for metric in RANKING_METRICS:
        scores = {}
        for name in names:
            score = ((systems.get(name) or {}).get("corpus") or {}).get(metric, {}) or {}
            if isinstance(score.get("score"), int | float):
                scores[name] = float(score["score"])
        if scores:
            order = sorted(scores, key=lambda n: (-scores[n], names.index(n)))
            order += [n for n in names if n not in scores]
            return SystemRanking(metric, tuple(order), scores)
    return SystemRanking(None, tuple(names), {})


def is_reference_flag(flag: Mapping[str, Any]) -> bool:
    return not flag.get("system") and flag.get("name") != "truncated_hypothesis"


def reference_flags(row: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [f for f in row.get("flags") or () if is_reference_flag(f)]


def is_flagged(row: Mapping[str, Any], min_suspicion: float = DEFAULT_MIN_SUSPICION) -> bool:
    """A paragraph for the worklist: a reference-side flag and suspicion ≥ ``min_suspicion``."""
    return bool(reference_flags(row)) and float(row.get("suspicion") or 0.0) >= min_suspicion


def _hyp(row: Mapping[str, Any], system: str) -> str:
    return str(((row.get("systems") or {}).get(system) or {}).get("hyp") or "")


def choose_system(row: Mapping[str, Any], ranking: SystemRanking, forced: str | None = None) -> tuple[str | None, str]:
    """The proposal system for a paragraph and why (see the module docstring): ``(name, reason)``,
    or ``(None, reason)`` when no system qualifies."""
    if forced:
        if not _hyp(row, forced).strip():
            return None, f"{forced} (--from) has no output for this paragraph"
        return forced, "chosen with --from"
    flagged = {f.get("system"): f.get("name") for f in row.get("flags") or () if f.get("system")}
    passed = []
    for name in ranking.order:
        if name in flagged:
            passed.append(f"{name} ({flagged[name]})")
            continue
        if not _hyp(row, name).strip():
            passed.append(f"{name} (no output)")
            continue
        if ranking.metric is None:
            return name, "the first configured system with an output here"
        where = f"of the systems usable here; skipped {', '.join(passed)}" if passed else "of the run"
        shown = METRIC_NAMES.get(ranking.metric, ranking.metric)
        return name, f"best corpus {shown} {ranking.scores[name]:.1f} {where}"
    return None, "no system has an unflagged, non-empty output for this paragraph" + (
        f" (skipped {', '.join(passed)})" if passed else "")


# --- sentences and untranslated runs ---------------------------------------------------------

def zh_sentences(zh: str) -> list[str]:
    """A Chinese paragraph's sentences (ending at 。！？ and any closing quote), whitespace removed."""
    squashed = "".join(zh.split())
    return [s for s in _ZH_SENTENCE.findall(squashed) if s]


def en_sentences(text: str) -> list[str]:
    """An English paragraph's sentences (a full stop, ! or ? before a capital; not after Mr. or U.S.)."""
    out, start = [], 0
    for m in _EN_BOUNDARY.finditer(text):
        piece = text[start:m.end()].rstrip()
        if _EN_ABBREVIATION.search(piece):
            continue
        out.append(piece)
        start = m.end()
    out.append(text[start:].strip())
    return [s.strip() for s in out if s.strip()]


def chinese_runs(en: str) -> list[tuple[int, int]]:
    """The spans of Chinese text left in an English paragraph."""
    return [(m.start(), m.end()) for m in _ZH_RUN.finditer(en)]


def translate_run(run: str, zh: str, hyp: str) -> str | None:
    """The hypothesis's text for a run of the Chinese, or None when it cannot be isolated: the
    run must be whole consecutive sentences of ``zh``, and ``hyp`` must have as many sentences
    as ``zh`` (sentence k translates sentence k)."""
    target = "".join(run.split())
    sentences = zh_sentences(zh)
    hyp_sentences = en_sentences(hyp)
    if not target or not sentences:
        return None
    if target == "".join(sentences):
        return hyp.strip() or None
    if len(hyp_sentences) != len(sentences):
        return None
    for i in range(len(sentences)):
        joined = ""
        for j in range(i, len(sentences)):
            joined += sentences[j]
            if joined == target:
                return " ".join(hyp_sentences[i:j + 1])
            if len(joined) >= len(target):
                break
    return None


def replace_untranslated(en: str, zh: str, hyp: str) -> str | None:
    """``en`` with every run of Chinese replaced by its translation from ``hyp`` (None if one
    cannot be isolated). Lines of a merged paragraph (``\\n``) stay lines."""
    if not hyp.strip():
        return None
    runs = chinese_runs(en)
    if not runs:
        return None
    if not re.search(r"[A-Za-z]", _outside(en, runs)):
        return hyp.strip()  # the whole English is Chinese: the whole hypothesis is its translation
    out = en
    for start, end in reversed(runs):
        translation = translate_run(en[start:end], zh, hyp)
        if translation is None:
            return None
        before, after = out[:start], out[end:]
        if before and not before[-1].isspace() and before[-1] not in "([“\"'":
            translation = " " + translation
        if after and (after[0].isalnum() or after[0] in "(“"):
            translation += " "
        out = before + translation + after
    return "\n".join(" ".join(line.split()) for line in out.split("\n"))


def _outside(en: str, runs: Sequence[tuple[int, int]]) -> str:
    parts, pos = [], 0
    for a, b in runs:
        parts.append(en[pos:a])
        pos = b
    parts.append(en[pos:])
    return "".join(parts)


# --- proposals -----------------------------------------------------------------------------------

def _also(flags: Sequence[Mapping[str, Any]], addressed: set[str]) -> str:
    rest = sorted({f["name"] for f in flags} - addressed)
    return f"; also flagged: {', '.join(rest)} (review)" if rest else ""


def propose(record: ReferenceRecord, row: Mapping[str, Any], ranking: SystemRanking,
            forced: str | None = None) -> Proposal:
    """The proposal for one flagged paragraph (the rule of the module docstring)."""
    flags = reference_flags(row)
    names = {f["name"] for f in flags}
    published = str(record.meta.get("date", ""))
    if record.kind == "headline_repeat":
        return Proposal(None, NO_PROPOSAL, "a Chinese line repeating the headline needs no English of its own")
    if not record.zh.strip():
        return Proposal(None, NO_PROPOSAL, "English with no Chinese counterpart: nothing to translate; remove it by "
                                           "hand if it is invented (later paragraphs would be renumbered)")
    system, why = choose_system(row, ranking, forced)
    hyp = _hyp(row, system) if system else ""
    dateline = find_dateline(record.zh)

    def add_dateline(text: str, parts: list[str]) -> str:
        if dateline is not None and not names_agency(text) and record.kind == "body":
            parts.append("dateline")
            return with_dateline(text, dateline, published)
        return text

    if not record.en.strip():
        if not hyp:
            return Proposal(None, NO_PROPOSAL, f"no English for this Chinese paragraph, and {why}")
        parts = ["insert"]
        text = add_dateline(hyp, parts)
        rule = (f"no English for this Chinese paragraph: {system}'s translation ({why}), inserted as a new "
                "English paragraph next to the English of its neighbours (see insert)")
        if "dateline" in parts:
            rule += f", with the dateline {dateline.text} in the archive's {published[:4]} style"  # type: ignore[union-attr]
        return Proposal(text, "edit:" + "+".join(parts), rule + _also(flags, {"untranslated", "alignment"}))

    parts: list[str] = []
    notes: list[str] = []
    text = record.en
    whole = False
    if "untranslated" in names and _HAN.search(record.en):
        replaced = replace_untranslated(record.en, record.zh, hyp) if hyp else None
        if replaced is not None:
            text = replaced
            parts.append("untranslated")
            notes.append(f"Chinese left in the English replaced by {system}'s translation of it ({why})")
        elif hyp:
            text, whole = hyp, True
            notes.append(f"Chinese left in the English that cannot be matched to whole sentences of {system}'s "
                         f"translation: its whole translation ({why})")
        else:
            notes.append(f"Chinese left in the English, but {why}")
    if not whole and "dateline_missing" in names and dateline is not None and not names_agency(text):
        text = with_dateline(text, dateline, published)
        parts.append("dateline")
        notes.append(f"the dateline {dateline.text} rendered in the archive's {published[:4]} style "
                     f"({render(dateline, published)!r}) and put {'at the head' if dateline.leading else 'at the end'}")
    if parts and not whole:
        addressed = {"untranslated" if p == "untranslated" else "dateline_missing" for p in parts}
        if "dateline" in parts:
            addressed.add("number_missing")  # the dateline's day
        return Proposal(text, "edit:" + "+".join(parts), "; ".join(notes) + _also(flags, addressed))
    if not hyp:
        return Proposal(None, NO_PROPOSAL, "; ".join([*notes, f"no targeted edit fits and {why}"]))
    extra: list[str] = []
    text = add_dateline(hyp, extra)
    rule = "; ".join(notes) if whole else f"{system}'s translation ({why}) replaces the English"
    if extra:
        rule += f", with the dateline {dateline.text} it left out"  # type: ignore[union-attr]
    return Proposal(text, f"system:{system}" + ("+dateline" if extra else ""), rule)


# --- line numbers and insertion points -------------------------------------------------------------

def title_line(lines: Sequence[str]) -> int | None:
    """The 1-based line of the English ``Title:`` header."""
    for k, line in enumerate(lines):
        if line.startswith("<hr />"):
            return None
        if re.match(r"^\ufeff?[ \t\u3000]*Title\s*:", line):
            return k + 1
    return None


def zh_headline_line(lines: Sequence[str]) -> int | None:
    """The 1-based line of the Chinese ``###`` headline."""
    seen_hr = False
    for k, line in enumerate(lines):
        if line.startswith("<hr />"):
            seen_hr = True
        elif seen_hr and line.strip(STRIP).startswith("###"):
            return k + 1
    return None


def line_spans(record: ReferenceRecord, article: Article, lines: Sequence[str]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(en_lines, zh_lines)``: [first, last] 1-based archive lines of the record, () for none."""
    if record.kind == "headline":
        t, h = title_line(lines), zh_headline_line(lines)
        return ((t, t) if t and record.en else ()), ((h, h) if h and record.zh else ())
    en = tuple(article.en[i].line for i in record.en_lines)
    zh = tuple(article.zh[j].line for j in record.zh_lines)
    return ((en[0], en[-1]) if en else ()), ((zh[0], zh[-1]) if zh else ())


def insertion_point(records: Sequence[ReferenceRecord], position: int, article: Article) -> Insertion | None:
    """Where the new English of ``records[position]`` (a record with no English) goes: after the
    last English line of the records before it, else in front of the first English line after it."""
    for r in reversed(records[:position]):
        if r.kind != "headline" and r.en_lines:
            return Insertion("after", article.en[r.en_lines[-1]].line)
    for r in records[position + 1:]:
        if r.kind != "headline" and r.en_lines:
            return Insertion("before", article.en[r.en_lines[0]].line)
    return None


@dataclass(frozen=True, slots=True)
class DocumentInputs:
    """One document of a run, as the builder needs it."""

    records: Sequence[ReferenceRecord]       # the run's reference records of the document, in order
    rows: Sequence[Mapping[str, Any]]        # its paragraphs.jsonl rows, in the same order
    article: Article                         # the archive file, parsed (line numbers)
    lines: Sequence[str]                     # the archive file's text split at "\n"
    source: str
    sha256: str
    run: str


def document_items(doc: DocumentInputs, ranking: SystemRanking, min_suspicion: float = DEFAULT_MIN_SUSPICION,
                   forced: str | None = None) -> list[WorkItem]:
    """The work items of one document: its flagged paragraphs, each with a proposal."""
    items = []
    for position, (record, row) in enumerate(zip(doc.records, doc.rows, strict=True)):
        if not is_flagged(row, min_suspicion):
            continue
        en_lines, zh_lines = line_spans(record, doc.article, doc.lines)
        insert = None
        if not record.en.strip() and record.kind == "body":
            insert = insertion_point(doc.records, position, doc.article)
        proposal = propose(record, row, ranking, forced)
        if insert is None and not record.en.strip() and proposal.text is not None:
            proposal = Proposal(None, NO_PROPOSAL, "no English line in this document to insert next to")
        items.append(WorkItem(
            id=record.id, doc_id=record.doc_id, title_en=str(record.meta.get("title_en", "")), index=record.index,
            kind=record.kind, bead=record.bead, source=doc.source, source_sha256=doc.sha256,
            en_lines=en_lines, zh_lines=zh_lines, insert=insert, flags=tuple(dict(f) for f in row.get("flags") or ()),
            suspicion=float(row.get("suspicion") or 0.0), fault=row.get("fault"), zh=record.zh, en=record.en,
            proposal=proposal, run=doc.run))
    return items
