"""Paragraph alignment against the hand-made gold alignments.

    .venv/bin/python bench/bench_gold.py [--quick]

For each of the 25 gold files (tests/data/corpus/gold: the 24 corpus articles and the seed) the
article is ingested with ``evalkit.corpus.align_article`` and compared with the gold groups:

* ``pair`` groups that come back exactly as one reference record (same ``en_lines`` and
  ``zh_lines``, kind ``body``), overall and by shape;
* ``headline_repeat`` groups that come back as ``headline_repeat`` ``0-1`` records;
* lines lost or duplicated (every English and Chinese body line must be in exactly one record).

It also re-measures the length model's constants on the gold pairs (English characters per
Chinese character), which ``evalkit/corpus/align.py`` uses. ``--quick`` is accepted for the
``bench/run_all.py`` convention; the run is the same (it takes about a second).

Writes bench/results/gold.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from _results import machine, write_section  # bench/_results.py: the script's own folder is on sys.path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

GOLD = REPO / "tests/data/corpus/gold"
FILES = sorted((REPO / "tests/data/corpus/articles").glob("*.md")) + [REPO / "tests/data/seed/000_53f484adf56f99c2.txt"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="accepted for run_all.py; same run")
    args = parser.parse_args(argv)

    from evalkit.corpus import align_article, parse_article
    from evalkit.corpus.align import RATIO, SIGMA, SMOOTH

    shapes_total: Counter[str] = Counter()
    shapes_exact: Counter[str] = Counter()
    repeats = repeats_ok = 0
    lost_files: list[str] = []
    missed: list[str] = []
    lengths: list[tuple[int, int]] = []
    t = time.perf_counter()
    for path in FILES:
        gold = json.loads((GOLD / f"{path.stem}.json").read_text(encoding="utf-8"))
        article = parse_article(path)
        records = [r for r in align_article(article) if r.kind != "headline"]
        got = {(r.en_lines, r.zh_lines): r for r in records}
        for group in gold["groups"]:
            key = (tuple(group["en"]), tuple(group["zh"]))
            shape = f"{len(group['en'])}-{len(group['zh'])}"
            if group["kind"] == "pair":
                shapes_total[shape] += 1
                if key in got and got[key].kind == "body":
                    shapes_exact[shape] += 1
                else:
                    missed.append(f"{path.name}: EN {group['en']} ZH {group['zh']}")
                en = "\n".join(article.en[i].text for i in group["en"])
                zh = "\n".join(article.zh[j].text for j in group["zh"])
                lengths.append((len(en), len(zh)))
            elif group["kind"] == "headline_repeat":
                repeats += 1
                record = got.get(key)
                repeats_ok += bool(record and record.kind == "headline_repeat" and record.bead == "0-1")
        en_cover = sorted(i for r in records for i in r.en_lines)
        zh_cover = sorted(j for r in records for j in r.zh_lines)
        if en_cover != list(range(gold["en_lines"])) or zh_cover != list(range(gold["zh_lines"])):
            lost_files.append(path.name)
    elapsed = time.perf_counter() - t

    total, exact = sum(shapes_total.values()), sum(shapes_exact.values())
    char_ratio = sum(e for e, _ in lengths) / sum(z for _, z in lengths)
    logs = [math.log(e / z) for e, z in lengths]
    long_logs = [math.log(e / z) for e, z in lengths if z >= 40]
    smoothed = [math.log((e + SMOOTH) / (RATIO * z + SMOOTH)) for e, z in lengths]

    command = "bench/bench_gold.py" + (" --quick" if args.quick else "")
    report = [
        "## Alignment against the gold set",
        "",
        f"- Machine: {machine()}",
        f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- Command: `.venv/bin/python {command}`",
        f"- Gold: {len(FILES)} hand-aligned files (tests/data/corpus/gold), aligned in {elapsed:.2f} s.",
        "",
        f"**Pairs exact: {exact} / {total}** (a gold `pair` group comes back as exactly one `body` record "
        f"with the same English and Chinese lines). Headline repeats: {repeats_ok} / {repeats} as "
        f"`headline_repeat` 0-1 records. Lines lost or duplicated: "
        f"{'none' if not lost_files else ', '.join(lost_files)}.",
        "",
        "This is an in-sample figure: the aligner's bead priors and anchor weights were set while looking at "
        "these same files, so it shows that nothing is lost and the known hard cases (verse, glued OCR "
        "lines, restated headlines, dropped datelines) are handled, not how well unseen archive files "
        "will align.",
        "",
        "| gold shape | pairs | exact |",
        "| --- | --- | --- |",
    ]
    report += [f"| {s} | {shapes_total[s]} | {shapes_exact[s]} |" for s in sorted(shapes_total)]
    if missed:
        report += ["", "Missed pairs:", *[f"- {m}" for m in missed]]
    report += [
        "",
        "Length model, measured on the gold pairs (English characters / Chinese characters; merged lines "
        "joined with one newline):",
        "",
        f"- character-weighted ratio {char_ratio:.2f}; per pair: geometric mean "
        f"{math.exp(statistics.mean(logs)):.2f}, s.d. of the log ratio {statistics.stdev(logs):.2f}",
        f"- pairs with ≥ 40 Chinese characters ({len(long_logs)}): geometric mean "
        f"{math.exp(statistics.mean(long_logs)):.2f}, s.d. {statistics.stdev(long_logs):.2f}",
        f"- the aligner's smoothed statistic log((en + {SMOOTH:g}) / ({RATIO:g}·zh + {SMOOTH:g})): mean "
        f"{statistics.mean(smoothed):+.3f}, s.d. {statistics.stdev(smoothed):.3f} (σ used: {SIGMA:g})",
    ]
    print("\n".join(report))
    write_section("gold", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
