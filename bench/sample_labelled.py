"""Draw the labelled real-defect set's sample of archive files (reference/labelled/).

    .venv/bin/python bench/sample_labelled.py months [--years 1946 1947 …]
    .venv/bin/python bench/sample_labelled.py draw   [--years 1946 1947 …]
    .venv/bin/python bench/sample_labelled.py check

The archive is GitHub ``yeoksayeou/baokan-files``, folders ``rmrb/YYYY.MM/`` (People's Daily,
1946-05 to 1968-12). This script cannot reach it; the folder listings it draws from were read with
the search tool's ``find_files`` and saved, one file per month folder, as
``reference/labelled/listings/YYYY.MM.tsv`` (``path<TAB>commit`` per line, exactly what the
listing returned: its first 100 files in path order, i.e. the first days of the month; an empty
file records a month the index does not hold). The draw is a pure function of those listings and
the seed:

1. ``months``: for every year, its months in a seeded random order. List them in that order
   until ``MONTHS_PER_YEAR`` non-empty ones are found (earlier empty ones must be saved too, so
   the draw can check that it used the first non-empty months of the order).
2. ``draw``: from each year's first ``MONTHS_PER_YEAR`` non-empty months, ``FILES_PER_YEAR``
   files in all, spread over page types guessed from the title (photo, verse, list, telegram,
   document, news): from each month one file of every type it lists (types in a seeded order, up
   to the month's quota), then the rest at random from the remaining files, so rare types are
   represented without outweighing the archive's mix.
   Files already in the shared corpus or the seed are excluded. Each year's files are then
   shuffled and alternate between the ``calibration`` and the ``test`` fold: a fixed split by
   document, balanced over the years. Then ``EXTRA_PER_YEAR`` more files at random from the
   months' remaining files (the index lacks some years, 1961–1963 among them, and the set should
   still reach ten times the shared corpus), their folds alternating too; they leave the first
   draw unchanged. Writes ``reference/labelled/sample/YYYY.tsv``.
3. ``check``: every drawn file has a copy under ``reference/labelled/articles/``, a label file
   under ``labels/`` and hypotheses under ``hyps/`` — except those ``DEVIATIONS.tsv`` lists as
   excluded, with the reason —, and the per-year samples are what ``draw`` gives.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import random
import re
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SET = REPO_ROOT / "reference" / "labelled"
REPO = "yeoksayeou/baokan-files"
SEED = 20261202
YEARS = range(1946, 1969)
MONTHS_PER_YEAR = 2
FILES_PER_YEAR = 10
# The index holds no files for some years (1961–1963 at least): each year it does hold gets this
# many more files, drawn after the first FILES_PER_YEAR (which they leave unchanged).
EXTRA_PER_YEAR = 3
FIELDS = ("repo", "path", "commit", "year", "month", "kind", "fold", "file")

# Already in ../shared/corpus/articles (and the seed, 1958-08-07 赫鲁晓夫给艾森豪威尔的信): never drawn again.
EXCLUDED = {
    "rmrb/1946.05/1946-05-15_新华书店将出三种期刊.md", "rmrb/1946.05/1946-05-17_济宁日报创刊.md",
    "rmrb/1946.06/1946-06-04_越暹边境发生冲突.md", "rmrb/1946.06/1946-06-04_边区成立邮政学校.md",
    "rmrb/1947.09/1947-09-03_上海美海军枪杀我同胞.md", "rmrb/1947.09/1947-09-03_松树坪合作社备麦籽十九石.md",
    "rmrb/1948.10/1948-10-02_美国侵华零讯.md", "rmrb/1949.05/1949-05-01_北平市军管会通告（通字第二号）.md",
    "rmrb/1949.05/1949-05-01_常州军管会成立.md", "rmrb/1950.11/1950-11-01_一般地图中东北铁路线正误.md",
    "rmrb/1950.11/1950-11-02_瑞典国王古斯塔夫五世病逝_毛主席致电吊唁.md", "rmrb/1953.03/1953-03-02_中央人民政府命令.md",
    "rmrb/1956.06/1956-06-02_友好往来.md", "rmrb/1958.08/1958-08-01_对话.md", "rmrb/1958.08/1958-08-01_打夯姑娘（图片）.md",
    "rmrb/1958.08/1958-08-01_毛主席电贺瑞士国庆.md", "rmrb/1960.05/1960-05-01_国际简讯.md",
    "rmrb/1966.10/1966-10-01_刚果（布）客人到京.md", "rmrb/1966.10/1966-10-01_红树绿.md",
    "rmrb/1967.04/1967-04-01_日中友协（正统）妇女代表团到京.md", "rmrb/1967.04/1967-04-03_台湾人民在反抗.md",
    "rmrb/1968.07/1968-07-03_我有关机关宣布驱逐两名英国间谍.md", "rmrb/1968.07/1968-07-04_智利职工不断展开罢工斗争.md",
    "rmrb/1968.12/1968-12-01_邓宝珊病逝.md", "rmrb/1958.08/1958-08-07_赫鲁晓夫给艾森豪威尔的信.md",
}

# Page types guessed from the title (first match wins); the labels record what the file really is.
KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("photo", re.compile(r"图片|照片|（图）|漫画|木刻")),
    ("verse", re.compile(r"诗|歌谣|民歌|快板|顺口溜|鼓词|唱词|小调")),
    ("list", re.compile(r"简讯|零讯|一束|集锦|汇志|短讯|动态|要闻|一览|名单|简报|杂记|拾零")),
    ("telegram", re.compile(r"电|来信|函|书信|致.{0,12}信")),
    ("document", re.compile(r"命令|通告|公告|布告|决定|决议|条例|办法|声明|公报|协定|规定|指示|社论|宣言|通知")),
)


def local_name(month: str, path: str) -> str:
    """The copy's file name: ``<YYYY.MM>__<archive name>``, shortened to fit file systems' 255-byte
    names (a long multi-deck headline) by cutting the title and adding a hash of the path."""
    name = f"{month}__{path.rsplit('/', 1)[-1]}"
    if len(name.encode("utf-8")) <= 200:
        return name
    digest = hashlib.sha1(path.encode("utf-8")).hexdigest()[:8]
    stem = name[:-3]
    while len(f"{stem}~{digest}.md".encode("utf-8")) > 200:
        stem = stem[:-1]
    return f"{stem}~{digest}.md"


def kind_of(path: str) -> str:
    title = path.rsplit("/", 1)[-1].split("_", 1)[-1]
    for name, pattern in KINDS:
        if pattern.search(title):
            return name
    return "news"


def month_order(year: int) -> list[str]:
    first = 5 if year == 1946 else 1
    months = [f"{year}.{m:02d}" for m in range(first, 13)]
    random.Random(f"{SEED}:months:{year}").shuffle(months)
    return months


def read_listing(month: str) -> list[tuple[str, str]] | None:
    """The saved listing of ``rmrb/<month>/`` (None: not listed yet)."""
    path = SET / "listings" / f"{month}.tsv"
    if not path.exists():
        return None
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0].startswith(f"rmrb/{month}/") or not re.fullmatch(r"[0-9a-f]{40}", parts[1]):
            sys.exit(f"{path}:{n}: expected 'rmrb/{month}/<file>.md<TAB><40-hex commit>', got {line!r}")
        rows.append((parts[0], parts[1]))
    return rows


def year_months(year: int) -> list[tuple[str, list[tuple[str, str]]]]:
    """The year's first MONTHS_PER_YEAR non-empty months in the seeded order, with their listings."""
    chosen = []
    for month in month_order(year):
        listing = read_listing(month)
        if listing is None:
            sys.exit(f"{year}: month {month} is not listed yet (save listings/{month}.tsv; "
                     f"order: {' '.join(month_order(year))})")
        if listing:
            chosen.append((month, listing))
        if len(chosen) == MONTHS_PER_YEAR:
            break
    return chosen


def draw_year(year: int) -> list[dict[str, str]]:
    months = year_months(year)
    rng = random.Random(f"{SEED}:draw:{year}")
    quotas = [FILES_PER_YEAR // len(months) + (1 if k < FILES_PER_YEAR % len(months) else 0)
              for k in range(len(months))] if months else []
    rows = []
    for (month, listing), quota in zip(months, quotas):
        groups: dict[str, list[tuple[str, str]]] = {}
        for path, commit in sorted(listing):
            if path not in EXCLUDED:
                groups.setdefault(kind_of(path), []).append((path, commit))
        for members in groups.values():
            rng.shuffle(members)
        order = sorted(groups)
        rng.shuffle(order)
        # One file of each page type first (rare types are not crowded out), then the rest at random
        # from what is left, so the sample stays close to the archive's mix.
        picks = [groups[kind].pop() for kind in order][:quota]
        rest = sorted(c for members in groups.values() for c in members)
        rng.shuffle(rest)
        picks += rest[:quota - len(picks)]
        for path, commit in picks:
            rows.append({"repo": REPO, "path": path, "commit": commit, "year": str(year), "month": month,
                         "kind": kind_of(path), "file": local_name(month, path)})
    rng.shuffle(rows)
    for k, row in enumerate(rows):
        row["fold"] = "calibration" if k % 2 == 0 else "test"
    # The extra files: the chosen months' remaining files at random, their folds alternating too.
    drawn = {r["path"] for r in rows}
    rest = sorted((path, commit, month) for month, listing in months for path, commit in listing
                  if path not in EXCLUDED and path not in drawn)
    extra_rng = random.Random(f"{SEED}:extra:{year}")
    extra_rng.shuffle(rest)
    for k, (path, commit, month) in enumerate(rest[:EXTRA_PER_YEAR]):
        rows.append({"repo": REPO, "path": path, "commit": commit, "year": str(year), "month": month,
                     "kind": kind_of(path), "file": local_name(month, path),
                     "fold": "test" if k % 2 == 0 else "calibration"})
    return sorted(rows, key=lambda r: r["path"])


def write_year(year: int, rows: list[dict[str, str]]) -> Path:
    out = SET / "sample" / f"{year}.tsv"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, FIELDS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return out


def read_deviations() -> list[dict[str, str]]:
    """DEVIATIONS.tsv: drawn files left out (``excluded``) or kept with a known difference from the
    archive (``inexact``), each with its reason."""
    path = SET / "DEVIATIONS.tsv"
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    for n, row in enumerate(rows, 2):
        if row.get("status") not in ("excluded", "inexact") or not (row.get("reason") or "").strip():
            sys.exit(f"{path}:{n}: expected a status 'excluded' or 'inexact' and a reason")
    return rows


def read_sample() -> list[dict[str, str]]:
    """Every drawn file, in path order (the union of sample/YYYY.tsv)."""
    rows = []
    for path in sorted((SET / "sample").glob("*.tsv")):
        with path.open(encoding="utf-8", newline="") as fh:
            rows += list(csv.DictReader(fh, delimiter="\t"))
    return sorted(rows, key=lambda r: r["path"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("step", choices=("months", "draw", "check"))
    ap.add_argument("--years", type=int, nargs="*", default=list(YEARS))
    args = ap.parse_args(argv)
    if args.step == "months":
        for year in args.years:
            print(year, " ".join(month_order(year)))
        return 0
    if args.step == "draw":
        for year in args.years:
            rows = draw_year(year)
            print(f"{write_year(year, rows)}: {len(rows)} files")
        return 0
    problems = []
    for year in YEARS:
        written = SET / "sample" / f"{year}.tsv"
        if not written.exists():
            problems.append(f"{written}: missing")
            continue
        with written.open(encoding="utf-8", newline="") as fh:
            if list(csv.DictReader(fh, delimiter="\t")) != draw_year(year):
                problems.append(f"{written}: differs from what 'draw' gives for {year}")
    excluded = {row["file"] for row in read_deviations() if row["status"] == "excluded"}
    for row in read_sample():
        if row["file"] in excluded:
            continue
        stem = row["file"].rsplit(".", 1)[0]
        for need in (SET / "articles" / row["file"], SET / "labels" / f"{stem}.json", SET / "hyps" / f"{stem}.jsonl"):
            if not need.exists():
                problems.append(f"{row['path']}: {need.relative_to(REPO_ROOT)} missing")
    print("\n".join(problems) or f"ok: {len(read_sample())} files")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
