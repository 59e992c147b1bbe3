"""Test helpers for the translation systems: the seed's reference set and tiny offline models.

Every model here is built offline: random weights, tokenizers trained on the fly on the corpus
text, saved to a folder and then loaded by evalkit through exactly the path a hub id takes.
Each is tiny (a few hundred vocabulary entries, d_model 16–32) so a test translates the whole
seed in a second or two.
"""

from __future__ import annotations

import json
from pathlib import Path

from evalkit.records import ReferenceRecord, read_references

TESTS = Path(__file__).parent
REPO = TESTS.parent
SEED_HYPS = TESTS / "data" / "seed" / "hyps" / "000_53f484adf56f99c2.jsonl"
CORPUS_HYPS = TESTS / "data" / "corpus" / "hyps"
REAL_SEED_REFERENCE = REPO / "reference" / "seed.jsonl"


def seed_lines() -> list[dict]:
    """The seed's Chinese body lines with an independent English translation of each."""
    return [json.loads(line) for line in SEED_HYPS.read_text(encoding="utf-8").splitlines() if line.strip()]


def built_seed_references() -> list[ReferenceRecord]:
    """A reference set built from the seed's lines: one record per Chinese line, the independent
    translation as ``en``, and one ``1-2``-style record joining two lines with ``\\n`` (the
    shape the aligner produces), so that per-line lookups are exercised."""
    rows = seed_lines()
    records = []
    doc = "1958-08-07_p2_seed"
    i = 0
    index = 0
    while i < len(rows):
        if i == 5 and i + 1 < len(rows):
            zh = rows[i]["zh"] + "\n" + rows[i + 1]["zh"]
            en = rows[i]["hyp"] + " " + rows[i + 1]["hyp"]
            bead, step = "1-2", 2
        else:
            zh, en, bead, step = rows[i]["zh"], rows[i]["hyp"], "1-1", 1
        records.append(ReferenceRecord(id=f"{doc}#{index:04d}", doc_id=doc, index=index, zh=zh, en=en,
                                       bead=bead, align_cost=0.0))
        index += 1
        i += step
    return records


def seed_references() -> list[ReferenceRecord]:
    """The real seed reference set once the corpus stage has produced it, else the built one."""
    if REAL_SEED_REFERENCE.exists():
        return read_references(REAL_SEED_REFERENCE)
    return built_seed_references()
