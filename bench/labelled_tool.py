"""Helpers for labelling the real-defect set (reference/labelled/README.md has the rules).

    .venv/bin/python bench/labelled_tool.py zhlines  FILE   # the Chinese body lines, numbered (translate these)
    .venv/bin/python bench/labelled_tool.py view     FILE   # evalkit's reference records of FILE
    .venv/bin/python bench/labelled_tool.py skeleton FILE   # write labels/<stem>.json with every id, label "?"
    .venv/bin/python bench/labelled_tool.py validate FILE…  # check labels and hypotheses of FILEs (or all)
    .venv/bin/python bench/labelled_tool.py stats           # the set in numbers (the README's "In numbers")
    .venv/bin/python bench/labelled_tool.py carry FILE OLD.jsonl  # after an aligner change (below)

FILE is a copy under reference/labelled/articles/. The labels' ids are the ids ``evalkit ingest``
gives the file today; ``validate`` checks that they still name the same paragraphs.

When the aligner changes, a file's records may change and its labels stop matching. ``carry``
rewrites the file's labels for today's records: OLD.jsonl holds the records the labels were written
for (ingest FILE with the evalkit of before the change, e.g. from a ``git worktree`` of that
commit); each record of today whose kind, Chinese and English are those of an old record gets that
record's label, and every other record is left ``?`` for a person to label from the README's rules
(``validate`` fails until none is left). The file's summary is kept.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from evalkit.corpus import align_article, parse_article  # noqa: E402

SET = REPO / "reference" / "labelled"
LABELS = ("clean", "minor", "defect")
TYPES = ("omission", "truncation", "dateline", "number", "name", "meaning", "addition", "untranslated",
         "misalignment")
_STRIP = " \u3000\t\r\n"


def zh_lines(path: Path) -> list[str]:
    """The Chinese body lines as the shared corpus's hyps/ number them (gold/extract_zh.py)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    hr = next(i for i, line in enumerate(lines) if line.startswith("<hr />"))
    zh = lines[hr + 1:]
    start = next((i for i, line in enumerate(zh) if line.strip(_STRIP).startswith("专栏")), None)
    if start is None:
        import re
        start = next(i for i, line in enumerate(zh) if re.match(r"^第.+版", line.strip(_STRIP)))
    return [line.strip(_STRIP) for line in zh[start + 1:] if line.strip(_STRIP)]


def records(path: Path):
    return align_article(parse_article(path))


def _resolve(arg: str) -> Path:
    p = Path(arg)
    if not p.exists():
        p = SET / "articles" / arg
    if not p.exists():
        sys.exit(f"{arg}: no such file (give a path or a name under {SET / 'articles'})")
    return p


def label_path(path: Path) -> Path:
    return SET / "labels" / f"{path.stem}.json"


def hyps_path(path: Path) -> Path:
    return SET / "hyps" / f"{path.stem}.jsonl"


def validate(path: Path) -> list[str]:
    problems = []
    lp = label_path(path)
    if not lp.exists():
        return [f"{lp}: missing"]
    try:
        doc = json.loads(lp.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        return [f"{lp}: not JSON ({exc})"]
    for key in ("file", "repo_path", "format_notes", "summary", "paragraphs"):
        if key not in doc:
            problems.append(f"{lp}: missing key {key!r}")
    recs = records(path)
    paras = doc.get("paragraphs", [])
    if [p.get("id") for p in paras] != [r.id for r in recs]:
        problems.append(f"{lp}: ids differ from the ingested records ({len(paras)} labelled, {len(recs)} records)")
    for p, r in zip(paras, recs):
        where = f"{lp}: {p.get('id')}"
        if p.get("zh_start") != r.zh[:8]:
            problems.append(f"{where}: zh_start {p.get('zh_start')!r} but the record's zh starts {r.zh[:8]!r}")
        if p.get("label") not in LABELS:
            problems.append(f"{where}: label {p.get('label')!r} not one of {LABELS}")
        defects = p.get("defects", [])
        if (p.get("label") == "clean") != (not defects):
            problems.append(f"{where}: a clean paragraph has no defects, and only a clean one")
        for d in defects:
            if d.get("type") not in TYPES or not str(d.get("evidence", "")).strip():
                problems.append(f"{where}: each defect needs a type in {TYPES} and evidence, got {d}")
    hp = hyps_path(path)
    if not hp.exists():
        problems.append(f"{hp}: missing")
    else:
        lines = zh_lines(path)
        rows = [json.loads(x) for x in hp.read_text(encoding="utf-8").splitlines() if x.strip()]
        if [r.get("zh") for r in rows] != lines or [r.get("index") for r in rows] != list(range(len(lines))):
            problems.append(f"{hp}: must have one row per Chinese line, index 0..{len(lines) - 1}, zh as zhlines prints")
        if any(not str(r.get("hyp", "")).strip() for r in rows):
            problems.append(f"{hp}: an empty hyp")
    return problems


def stats() -> str:
    """Paragraphs by label, defects by type, files with a defect, ``aligner_error`` records."""
    from collections import Counter

    labels: Counter[str] = Counter()
    types: Counter[str] = Counter()
    files = defective = misaligned = 0
    for path in sorted((SET / "labels").glob("*.json")):
        paragraphs = json.loads(path.read_text(encoding="utf-8"))["paragraphs"]
        files += 1
        defective += any(p["label"] == "defect" for p in paragraphs)
        for p in paragraphs:
            labels[p["label"]] += 1
            misaligned += bool(p.get("aligner_error"))
            if p["label"] == "defect":
                types.update({d["type"] for d in p["defects"]})
    by_type = ", ".join(f"{t} {n}" for t, n in types.most_common())
    return (f"{files} files, {sum(labels.values()):,} paragraphs: {labels['clean']:,} clean, {labels['minor']} minor, "
            f"{labels['defect']} defective (by type: {by_type}); {defective} files with a defect; "
            f"{misaligned} paragraphs marked aligner_error")


def carry(path: Path, old_records: Path) -> tuple[int, list[str]]:
    """Rewrite ``path``'s labels for today's records (see the module docstring); returns the number
    of labels carried and the ids left to label."""
    from evalkit.records import read_references

    lp = label_path(path)
    doc = json.loads(lp.read_text(encoding="utf-8"))
    old = read_references(old_records)
    paras = doc["paragraphs"]
    if [p["id"] for p in paras] != [r.id for r in old] or any(p["zh_start"] != r.zh[:8] for p, r in zip(paras, old)):
        first = next((k for k, (p, r) in enumerate(zip(paras, old)) if p["id"] != r.id or p["zh_start"] != r.zh[:8]),
                     min(len(paras), len(old)))
        raise SystemExit(f"{old_records}: these are not the records {lp} labels (they first differ at record {first}: "
                         f"{len(paras)} labelled, {len(old)} given); ingest {path.name} with the evalkit the labels "
                         f"were written for")
    by_text: dict[tuple[str, str, str], list[dict]] = {}
    for p, r in zip(paras, old):
        by_text.setdefault((r.kind, r.zh, r.en), []).append(p)
    out, todo = [], []
    for r in records(path):
        same = by_text.get((r.kind, r.zh, r.en))
        if same:
            label = {k: v for k, v in same.pop(0).items() if k not in ("id", "zh_start")}
        else:
            label = {"label": "?", "defects": []}
            todo.append(r.id)
        out.append({"id": r.id, "zh_start": r.zh[:8], **label})
    doc["paragraphs"] = out
    lp.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return len(out) - len(todo), todo


def main(argv: list[str]) -> int:
    if argv[:1] == ["stats"]:
        print(stats())
        return 0
    if argv[:1] == ["carry"] and len(argv) == 3:
        carried, todo = carry(_resolve(argv[1]), Path(argv[2]))
        print(f"carried {carried} labels; {len(todo)} records to label" + "".join(f"\n  {i}" for i in todo))
        return 0
    if len(argv) < 1 or argv[0] not in ("zhlines", "view", "skeleton", "validate"):
        print(__doc__)
        return 2
    cmd, args = argv[0], argv[1:]
    if cmd == "validate":
        paths = [_resolve(a) for a in args] or sorted((SET / "articles").glob("*.md"))
        problems = [p for path in paths for p in validate(path)]
        print("\n".join(problems) or f"ok: {len(paths)} files")
        return 1 if problems else 0
    path = _resolve(args[0])
    if cmd == "zhlines":
        for i, line in enumerate(zh_lines(path)):
            print(f"[{i}] {line}")
    elif cmd == "view":
        for r in records(path):
            print(f"=== {r.id}  bead={r.bead} kind={r.kind} cost={r.align_cost}")
            print(f"ZH: {r.zh}")
            print(f"EN: {r.en}")
    else:
        out = label_path(path)
        if out.exists():
            sys.exit(f"{out} exists; edit it instead")
        out.parent.mkdir(parents=True, exist_ok=True)
        import csv
        repo_path = next((row["path"] for sample in sorted((SET / "sample").glob("*.tsv"))
                          for row in csv.DictReader(sample.open(encoding="utf-8"), delimiter="\t")
                          if row["file"] == path.name), path.name)
        doc = {"file": path.name, "repo_path": repo_path,
               "format_notes": "", "summary": "?",
               "paragraphs": [{"id": r.id, "zh_start": r.zh[:8], "label": "?", "defects": []} for r in records(path)]}
        out.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
