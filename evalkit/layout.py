"""Where a run's files live (DESIGN.md, "The data flow"). One place, so stages agree."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunLayout:
    root: Path

    @classmethod
    def at(cls, out: str | Path) -> RunLayout:
        return cls(Path(out))

    @property
    def reference(self) -> Path:
        """The reference set a run used (copied or ingested into the run folder)."""
        return self.root / "reference.jsonl"

    @property
    def hyps_dir(self) -> Path:
        return self.root / "hyps"

    def hyps(self, system_name: str) -> Path:
        return self.hyps_dir / f"{system_name}.jsonl"

    @property
    def scores(self) -> Path:
        return self.root / "scores.jsonl"

    @property
    def paragraphs(self) -> Path:
        return self.root / "paragraphs.jsonl"

    @property
    def paragraphs_csv(self) -> Path:
        return self.root / "paragraphs.csv"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def report_md(self) -> Path:
        return self.root / "report.md"

    @property
    def report_html(self) -> Path:
        return self.root / "report.html"

    @property
    def junit(self) -> Path:
        return self.root / "junit.xml"
