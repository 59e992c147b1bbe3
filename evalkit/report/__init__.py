"""The run's reports: summary.json, paragraphs.jsonl/.csv, report.md, report.html, junit.xml."""

from evalkit.report.render import render_csv, render_html, render_junit, render_markdown
from evalkit.report.summary import Gate, RunResult, evaluate_gates, paragraph_rows, summary_of, top_divergent

__all__ = ["Gate", "RunResult", "evaluate_gates", "paragraph_rows", "render_csv", "render_html", "render_junit",
           "render_markdown", "summary_of", "top_divergent"]
