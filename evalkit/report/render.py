"""Writers for the run's reports: Markdown, HTML (one self-contained file), CSV and JUnit XML.

All of them render from ``summary`` (summary.json) and ``paragraphs`` (paragraphs.jsonl rows). The
report stage streams: it writes CSV rows (``CsvWriter``) and JUnit test cases (``junit_case``,
``junit_frame``) as paragraphs are judged, and renders report.md / report.html from the few rows
it keeps (``summary.TopRows``) and an ``HtmlDigest`` of the rest; ``render_csv``, ``render_junit``,
``render_markdown`` and ``render_html`` over a list of rows give the same files.
Corpus text is data: HTML goes through Jinja2 with autoescape on (never ``|safe`` on corpus
strings), Markdown cells escape ``& < > |``, and XML is built with ElementTree.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

from evalkit.report.summary import html_order, top_divergent

FLAG_HELP: dict[str, str] = {
    "untranslated": "Chinese characters left in the English, or no English at all for a body paragraph "
                    "(with a system named: that system's output is mostly Chinese).",
    "omission": "The English is much shorter than the Chinese and the systems' outputs predict "
                "(robust z-score of the length ratio learnt on this corpus).",
    "addition": "The English is much longer than predicted: text with no Chinese source, or a merged paragraph.",
    "number_mismatch": "A quantity or date of the Chinese has another value in the English (the same unit, the "
                       "same digits at another scale, the same month with another day); both sides are named.",
    "number_missing": "A quantity or date of the Chinese is not stated in the English at all (weak evidence: "
                      "translators drop redundant counts and dates).",
    "dateline_missing": "The Chinese names a news-agency dateline (新华社…电/讯) or the paper's source line (本报讯) "
                        "and the English names no agency or source.",
    "cut_short": "The English stops mid-sentence where the Chinese closes its sentence, or is a broken-off fragment.",
    "document_short": "The whole document's English is far shorter than its Chinese predicts on this corpus: the "
                      "translation may stop early, leaving the later paragraphs unmatched or misaligned.",
    "name_mismatch": "A pinyin person name in the English that no run of the Chinese characters reads like "
                     "(foreign names and contexts are not judged).",
    "sentence_addition": "An English sentence few of whose words are in any dictionary sense of the Chinese, far "
                         "below this corpus: possibly invented content.",
    "sentence_omission": "A Chinese sentence few of whose dictionary words the English renders, far below this "
                         "corpus: possibly an omitted sentence.",
    "alignment": "The paragraph is not aligned one-to-one, or its alignment cost is far above the corpus's.",
    "truncated_hypothesis": "A system cut a sentence to fit its input limit: its score here is not comparable.",
    "low_score": "A system's chrF on this paragraph is an outlier for that system; all systems low at once "
                 "points at the reference.",
    "consensus": "The systems agree with each other far better than with the reference.",
    "low_qe": "Only with reference QE (cometkiwi or labse configured): the reference-free quality estimate of the "
              "archive's English against its Chinese (CometKiwi, else LaBSE; no MT system involved) is far below "
              "this corpus (robust z-score), or LaBSE finds no counterpart for one of its sentences on the other "
              "side; the weakest sentence is named. A free but faithful translation can score low too.",
    "COMET, CometKiwi, LaBSE": "Neural metric columns, when configured: COMET compares a system's output with "
                               "the reference and the Chinese, CometKiwi judges the output against the Chinese "
                               "alone, LaBSE is the cosine of their sentence embeddings; each is the mean of the "
                               "paragraph scores on its own 0–1 scale (not ×100), with a 95% bootstrap CI.",
}
SUSPICION_HELP = ("Suspicion is the probability that the archive's English of the paragraph is defective, "
                  "fitted on hand-labelled archive files (evalkit/judge/suspicion.py): 0.5 means as likely "
                  "defective as not.")
FAULT_HELP = {
    "reference": "the archive's English translation is likely weak here",
    "alignment": "the English and Chinese paragraphs are likely misaligned",
    "system": "the MT system, not the reference, is likely at fault",
    "unclear": "the evidence does not point at one side",
}
METRIC_LABELS = {"chrf": "chrF", "chrf++": "chrF++", "bleu": "BLEU", "ter": "TER", "comet": "COMET",
                 "cometkiwi": "CometKiwi", "labse": "LaBSE"}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# Neural metrics score in [0, 1] (or about it): shown to three decimals, sacrebleu's to one.
_THREE_DECIMALS = frozenset({"comet", "cometkiwi", "labse"})


def fmt_metric(value: float | None, metric: str) -> str:
    """A score as the report shows it for its metric."""
    return _fmt(value, 3 if metric in _THREE_DECIMALS else 1)


def _fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def leaderboard(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Systems sorted by corpus chrF (or the first metric), best first."""
    metrics = summary["metrics"]
    key_metric = "chrf" if "chrf" in metrics else (metrics[0] if metrics else None)
    rows = []
    for name, info in summary["systems"].items():
        corpus = info.get("corpus") or {}
        cells = {}
        for m in metrics:
            c = corpus.get(m)
            cells[m] = {"score": c["score"] if c else None, "ci": c["ci"] if c else None}
        rows.append({"name": name, "fingerprint": info.get("fingerprint"), "cells": cells,
                     "paragraphs": info.get("paragraphs"), "flagged": info.get("flagged")})
    if key_metric:
        sign = -1 if summary.get("higher_is_better", {}).get(key_metric, True) else 1
        rows.sort(key=lambda r: (r["cells"][key_metric]["score"] is None, sign * (r["cells"][key_metric]["score"] or 0)))
    return rows


# --- Markdown ----------------------------------------------------------------------------------

def md_cell(text: Any, limit: int | None = None) -> str:
    """Corpus text made safe for a Markdown table cell (and for GitHub's HTML-aware renderer)."""
    s = "" if text is None else str(text)
    s = re.sub(r"\s+", " ", s).strip()
    if limit is not None and len(s) > limit:
        s = s[:limit - 1] + "…"
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = s.replace("|", "\\|").replace("`", "\\`").replace("*", "\\*").replace("_", "\\_").replace("[", "\\[")
    return s


def md_message(text: Any) -> str:
    """One of evalkit's own messages for Markdown: kept as written (its `code` spans render),
    only made one line and safe inside a table or list."""
    s = re.sub(r"\s+", " ", "" if text is None else str(text)).strip()
    return s.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def paragraph_label(p: Mapping[str, Any]) -> str:
    """A paragraph as a reader knows it: its document's English title and its index (¶ 4), the id
    being for machines."""
    title = str((p.get("meta") or {}).get("title_en") or p.get("doc_id") or "")
    return f"{title} ¶ {p.get('index', '?')}"


def render_markdown(summary: Mapping[str, Any], paragraphs: Sequence[Mapping[str, Any]], top: int = 10,
                    divergent: Sequence[Mapping[str, Any]] | None = None) -> str:
    """report.md. ``divergent``: the ``top`` most suspicious flagged rows when the caller kept them
    while streaming (``paragraphs`` is then not read)."""
    metrics = summary["metrics"]
    neural = set((summary.get("neural") or {}).get("metrics", []))

    def digits(m: str, sacrebleu: int = 1) -> int:
        return 3 if m in neural else sacrebleu  # the neural metrics are on a 0-1 scale

    out = ["# evalkit report", ""]
    ref = summary["reference"]
    passed = summary.get("passed", True)
    out.append(f"**{'PASSED' if passed else 'FAILED'}** · {ref['paragraphs']} paragraphs in {ref['documents']} "
               f"document(s), {ref['scored']} scored · {summary['flags']['paragraphs_flagged']} flagged · "
               f"{summary['flags']['suspicious']} with suspicion ≥ {summary['flags']['suspicion_threshold']}")
    out.append("")
    out.append("## Leaderboard")
    out.append("")
    out.append("| system | " + " | ".join(f"{METRIC_LABELS[m]} [95% CI]" for m in metrics) + " | flagged |")
    out.append("|---|" + "---|" * len(metrics) + "---|")
    for row in leaderboard(summary):
        cells = []
        for m in metrics:
            c = row["cells"][m]
            d = digits(m)
            ci = f" [{c['ci'][0]:.{d}f}, {c['ci'][1]:.{d}f}]" if c["ci"] else ""
            cells.append(_fmt(c["score"], d) + ci)
        out.append(f"| {md_cell(row['name'])} | " + " | ".join(cells) + f" | {row['flagged']} / {row['paragraphs']} |")
    out.append("")
    for m, reason in summary.get("skipped", {}).items():
        out.append(f"- {METRIC_LABELS.get(m, m)}: {md_message(reason)}")
    if summary.get("skipped"):
        out.append("")
    out.append("Signatures: " + "; ".join(f"{METRIC_LABELS[m]} `{sig}`" for m, sig in summary["signatures"].items()))
    out.append("")
    if summary["significance"]:
        out.append("## Significance (paired tests)")
        out.append("")
        out.append("| A | B | metric | test | A | B | Δ (B−A) | p |")
        out.append("|---|---|---|---|---|---|---|---|")
        for s in summary["significance"]:
            d = digits(s["metric"], 2)
            out.append(f"| {md_cell(s['a'])} | {md_cell(s['b'])} | {METRIC_LABELS[s['metric']]} | {s['test']} | "
                       f"{s['score_a']:.{d}f} | {s['score_b']:.{d}f} | {s['delta']:+.{d}f} | {s['p_value']:.4f} |")
        out.append("")
    qe = summary.get("reference_qe")
    if qe:
        out.append("## Reference QE (the archive's English against its Chinese)")
        out.append("")
        out.append("| metric | score [95% CI] | paragraphs | split to fit |")
        out.append("|---|---|---|---|")
        for m, c in qe["corpus"].items():
            ci = f" [{c['ci'][0]:.3f}, {c['ci'][1]:.3f}]" if c and c.get("ci") else ""
            out.append(f"| {METRIC_LABELS.get(m, m)} | {_fmt(c['score'] if c else None, 3)}{ci} | "
                       f"{c['n'] if c else 0} | {qe['split_segments'].get(m, 0)} |")
        out.append("")
        judged = qe.get("judge") or {}
        used = judged.get("metric")
        model = (judged.get("scores") or {}).get(used) if used else None
        if model:
            out.append(f"The judge compares each paragraph's {METRIC_LABELS.get(used, used)} with the corpus median "
                       f"{model['median']:.3f} (robust scale {model['scale']:.3f}): {qe['low_qe']} paragraph(s) "
                       f"flagged `low_qe`. Per paragraph: `{md_message(qe['file'])}`.")
        else:
            out.append(f"Too few paragraphs to learn the corpus's QE from: the judge did not use it. Per paragraph: "
                       f"`{md_message(qe['file'])}`.")
        out.append("")
    if summary["gates"]:
        out.append("## Gates")
        out.append("")
        out.append("| gate | result | value | limit | detail |")
        out.append("|---|---|---|---|---|")
        for g in summary["gates"]:
            value = g["value"] if not isinstance(g["value"], float) else f"{g['value']:.4g}"
            out.append(f"| {md_cell(g['name'])} | {'✅ pass' if g['passed'] else '❌ FAIL'} | {value} | {g['limit']} | "
                       f"{md_cell(g.get('detail', ''))} |")
        out.append("")
    divergent = top_divergent(paragraphs, top) if divergent is None else list(divergent)[:top]
    out.append(f"## Top {len(divergent)} divergent paragraphs")
    out.append("")
    if not divergent:
        out.append("No paragraph was flagged.")
    else:
        out.append("| # | paragraph | suspicion | fault | reasons | English (reference) |")
        out.append("|---|---|---|---|---|---|")
        for k, p in enumerate(divergent, 1):
            reasons = "<br>".join(f"**{md_cell(f['name'])}**" + (f" ({md_cell(f['system'])})" if f.get("system") else "")
                                  + f": {md_cell(f['evidence'], 160)}" for f in p["flags"])
            out.append(f"| {k} | {md_cell(paragraph_label(p), 70)}<br>{md_cell(p['id'])} | {p['suspicion']:.2f} | "
                       f"{p['fault'] or '–'} | {reasons} | "
                       f"{md_cell(p['en'], 140) or '*(empty)*'} |")
    out.append("")
    by_name = summary["flags"]["by_name"]
    if by_name:
        out.append("Flags: " + ", ".join(f"{md_cell(k)} {v}" for k, v in by_name.items()) +
                   ". The full table is in `paragraphs.csv` / `paragraphs.jsonl`.")
        out.append("")
    return "\n".join(out)


# --- CSV ---------------------------------------------------------------------------------------

class CsvWriter:
    """paragraphs.csv, one row at a time (the header needs only the systems and metrics)."""

    def __init__(self, handle: Any, systems: Sequence[str], metrics: Sequence[str]):
        self._systems = list(systems)
        self._metrics = list(metrics)
        self._writer = csv.writer(handle, lineterminator="\n")
        self._writer.writerow(["id", "doc_id", "index", "kind", "bead", "align_cost",
                               *[f"{s}:{m}" for s in self._systems for m in self._metrics],
                               "flags", "evidence", "suspicion", "fault"])

    def write(self, p: Mapping[str, Any]) -> None:
        scores = []
        for s in self._systems:
            entry = p["systems"].get(s, {})
            scores += ["" if entry.get(m) is None else f"{entry[m]:.4f}" for m in self._metrics]
        self._writer.writerow([p["id"], p["doc_id"], p["index"], p["kind"], p["bead"], p["align_cost"], *scores,
                               ";".join(f["name"] + (f"[{f['system']}]" if f.get("system") else "") for f in p["flags"]),
                               " | ".join(f["evidence"] for f in p["flags"]),
                               f"{p['suspicion']:.4f}", p["fault"] or ""])


def render_csv(summary: Mapping[str, Any], paragraphs: Sequence[Mapping[str, Any]]) -> str:
    buf = io.StringIO()
    writer = CsvWriter(buf, list(summary["systems"]), summary["metrics"])
    for p in paragraphs:
        writer.write(p)
    return buf.getvalue()


# --- JUnit -------------------------------------------------------------------------------------

def _xml_text(text: Any) -> str:
    # XML 1.0 cannot carry most control characters, even escaped.
    return _CONTROL.sub("\ufffd", "" if text is None else str(text))


def junit_case(p: Mapping[str, Any], threshold: float) -> str | None:
    """One flagged paragraph's ``<testcase>``, serialised as it appears inside junit.xml (None:
    the paragraph is not flagged). ElementTree builds and escapes it; the indentation is what
    ``ET.indent`` gives a test case at depth 2."""
    if not p["flags"]:
        return None
    case = ET.Element("testcase", classname=_xml_text(f"evalkit.paragraphs.{p['doc_id']}"), name=_xml_text(p["id"]),
                      time="0")
    reasons = "; ".join(f"{f['name']}: {f['evidence']}" for f in p["flags"])
    text = f"suspicion {p['suspicion']:.2f}, fault {p['fault']}: {reasons}"
    if p["suspicion"] >= threshold:
        ET.SubElement(case, "failure", message=_xml_text(text[:500]), type=_xml_text(p["fault"] or "unclear")).text = \
            _xml_text(text)
    else:
        ET.SubElement(case, "system-out").text = _xml_text(text)
    ET.indent(case, level=2)
    return ET.tostring(case, encoding="unicode")


_SPOOL = "evalkit-paragraph-cases"


def junit_frame(summary: Mapping[str, Any], flagged: int, failures: int) -> tuple[str, str]:
    """junit.xml around its paragraph test cases: (text before the first case, text after the
    last). The cases go in between, joined by ``JUNIT_CASE_SEPARATOR``; with no flagged paragraph
    the two parts together are the whole document."""
    root = ET.Element("testsuites", name="evalkit")
    gates = summary["gates"]
    suite = ET.SubElement(root, "testsuite", name="evalkit.gates", tests=str(len(gates)),
                          failures=str(sum(1 for g in gates if not g["passed"])), errors="0", skipped="0")
    for g in gates:
        case = ET.SubElement(suite, "testcase", classname="evalkit.gates", name=_xml_text(g["name"]), time="0")
        text = f"value {g['value']} limit {g['limit']}" + (f": {g['detail']}" if g.get("detail") else "")
        if not g["passed"]:
            ET.SubElement(case, "failure", message=_xml_text(text), type="gate").text = _xml_text(text)
        else:
            ET.SubElement(case, "system-out").text = _xml_text(text)
    suite = ET.SubElement(root, "testsuite", name="evalkit.paragraphs", tests=str(flagged),
                          failures=str(failures), errors="0", skipped="0")
    if flagged:
        # A placeholder element where the streamed cases go (no escaped corpus text can contain its tag).
        ET.SubElement(suite, _SPOOL)
    root.set("tests", str(len(gates) + flagged))
    root.set("failures", str(sum(1 for g in gates if not g["passed"]) + failures))
    ET.indent(root)
    text = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
    if not flagged:
        return text, ""
    before, after = text.split(f"<{_SPOOL} />")
    return before, after


JUNIT_CASE_SEPARATOR = "\n    "


def render_junit(summary: Mapping[str, Any], paragraphs: Sequence[Mapping[str, Any]]) -> str:
    """A test case per gate, and one per flagged paragraph.

    A flagged paragraph fails when its suspicion reaches ``gates.suspicion_threshold``;
    below it, the case passes and carries its flags in ``system-out`` (for the dashboard).
    """
    threshold = summary["flags"]["suspicion_threshold"]
    cases = [c for p in paragraphs if (c := junit_case(p, threshold)) is not None]
    failures = sum(1 for p in paragraphs if p["flags"] and p["suspicion"] >= threshold)
    before, after = junit_frame(summary, len(cases), failures)
    return before + JUNIT_CASE_SEPARATOR.join(cases) + after


# --- HTML --------------------------------------------------------------------------------------

def word_diff(ref: str, hyp: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Word-level differences: (kind, text) runs for the reference (kind ``del`` = not in the
    hypothesis) and for the hypothesis (kind ``ins`` = not in the reference)."""
    a, b = ref.split(), hyp.split()
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    left: list[tuple[str, str]] = []
    right: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            left.append(("eq", " ".join(a[i1:i2])))
            right.append(("eq", " ".join(b[j1:j2])))
        else:
            if i2 > i1:
                left.append(("del", " ".join(a[i1:i2])))
            if j2 > j1:
                right.append(("ins", " ".join(b[j1:j2])))
    return left, right


class Histogram:
    """Bin counts of a value stream, for the report's SVG plots (no values kept)."""

    def __init__(self, lo: float, hi: float, bins: int):
        self.lo, self.hi, self.bins = lo, hi, bins
        self.counts = [0] * bins
        self.n = 0

    def add(self, v: float) -> None:
        k = min(self.bins - 1, max(0, int((v - self.lo) / (self.hi - self.lo) * self.bins)))
        self.counts[k] += 1
        self.n += 1

    def as_plot(self, width: int = 320, height: int = 110) -> dict[str, Any]:
        lo, hi, bins, counts = self.lo, self.hi, self.bins, self.counts
        top = max(counts) if counts and max(counts) > 0 else 1
        bar_w = width / bins
        bars = []
        for k, c in enumerate(counts):
            h = (height - 20) * c / top
            bars.append({"x": round(k * bar_w + 1, 2), "y": round(height - 15 - h, 2), "w": round(bar_w - 2, 2),
                         "h": round(h, 2), "count": c,
                         "label": f"{lo + k * (hi - lo) / bins:g}–{lo + (k + 1) * (hi - lo) / bins:g}: {c}"})
        return {"bars": bars, "width": width, "height": height, "lo": lo, "hi": hi, "n": self.n}


class HtmlDigest:
    """What report.html needs from every paragraph row, gathered while the rows stream past:
    the histograms, the flag names and the count; the shown rows are kept by the caller."""

    def __init__(self, systems: Sequence[str], metrics: Sequence[str]):
        self.systems = list(systems)
        self.chrf = {s: Histogram(0, 100, 20) for s in systems} if "chrf" in metrics else {}
        self.suspicion = Histogram(0, 1, 20)
        self.flag_names: set[str] = set()
        self.total = 0

    def add(self, p: Mapping[str, Any]) -> None:
        self.total += 1
        for s, hist in self.chrf.items():
            value = p["systems"].get(s, {}).get("chrf")
            if value is not None:
                hist.add(value)
        self.suspicion.add(p["suspicion"])
        self.flag_names.update(f["name"] for f in p["flags"])


def render_html(summary: Mapping[str, Any], paragraphs: Sequence[Mapping[str, Any]], limit: int = 300,
                digest: HtmlDigest | None = None, review: Any = None) -> str:
    """report.html: leaderboard, distributions, sortable/filterable table, side-by-side views.

    Shows the ``limit`` most suspicious paragraphs (flagged first); the page says when more
    exist and points to paragraphs.csv / paragraphs.jsonl for the full table. With ``digest``
    (gathered while streaming), ``paragraphs`` holds only the shown rows, already in order.
    With ``review`` (``evalkit.report.review.build_review``), the page has a review mode for
    the run's worklist items.
    """
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("evalkit.report", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    metrics = summary["metrics"]
    systems = list(summary["systems"])
    if digest is None:
        digest = HtmlDigest(systems, metrics)
        for p in paragraphs:
            digest.add(p)
        paragraphs = sorted(paragraphs, key=html_order)
    shown = list(paragraphs)[:limit]
    rows = []
    for p in shown:
        views = []
        for s in systems:
            hyp = p["systems"].get(s, {}).get("hyp")
            if hyp is None:
                continue
            ref_runs, hyp_runs = word_diff(p["en"], hyp)
            views.append({"system": s, "ref": ref_runs, "hyp": hyp_runs,
                          "scores": {m: p["systems"][s].get(m) for m in metrics}})
        rows.append({"p": p, "views": views, "label": paragraph_label(p),
                     "flag_names": sorted({f["name"] for f in p["flags"]}),
                     "scores": {s: p["systems"].get(s, {}).get(metrics[0]) if metrics else None for s in systems}})
    plots = [{"title": f"{s}: paragraph chrF", "hist": hist.as_plot()} for s, hist in digest.chrf.items()]
    plots.append({"title": "reference suspicion", "hist": digest.suspicion.as_plot()})
    return env.get_template("report.html.j2").render(
        summary=summary, board=leaderboard(summary), metrics=metrics, labels=METRIC_LABELS, systems=systems,
        rows=rows, total=digest.total, limit=limit, plots=plots, flag_help=FLAG_HELP, fault_help=FAULT_HELP, suspicion_help=SUSPICION_HELP,
        flag_names=sorted(digest.flag_names), fmt=_fmt, fmt_metric=fmt_metric, review=review,
    )
