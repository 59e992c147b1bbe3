"""report.html's review mode (issue 11, item 2): the run's worklist decided in the browser.

On the damaged corpus of test_fixes_worklist.py: the page holds exactly the items ``evalkit
worklist`` writes; in headless Chromium (Playwright, the distribution's /usr/bin/chromium) two
items are accepted and one edited with the keyboard, the decisions survive a reload
(localStorage), the exported file is the worklist with those decisions, byte for byte, and
``evalkit apply`` turns it into corrected files. A run from a reference set says its items have
no archive file, and corpus markup stays text in the cards and in the embedded data.
"""

from __future__ import annotations

import html as html_lib
import json
import re
import shutil
import struct
import zlib
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from evalkit.cli import main
from evalkit.fixes.command import build_worklist
from evalkit.jsonl import dumps
from evalkit.report.review import DECIDED, build_items, build_review
from test_fixes_worklist import (  # noqa: F401  (damaged_run is a fixture)
    damaged_run,
    item_for,
    read_items,
)

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PAYLOAD = "<script>alert(1)</script>"


def embedded_lines(report: Path) -> tuple[str, list[str]]:
    """The review data of a report.html: its identity and the worklist lines it would export
    with every item pending."""
    page = report.read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="review-data">(.*?)</script>', page, re.S)
    assert found, "no review data in report.html"
    data = json.loads(found.group(1))
    assert data["decided"] == list(DECIDED)
    pending = [f"{head}{DECIDED[0]}\"pending\"{DECIDED[1]}null{DECIDED[2]}{tail}" for head, tail in data["items"]]
    return data["identity"], pending


def worklist_line(item: dict, decision: str, edited: str | None = None) -> str:
    return dumps({**item, "decision": decision, "edited": edited})


# --- without a browser -----------------------------------------------------------------------------------

def test_the_page_holds_exactly_the_worklist(damaged_run):
    identity, lines = embedded_lines(damaged_run["run"] / "report.html")
    worklist = damaged_run["worklist"].read_text(encoding="utf-8").splitlines()
    assert lines == worklist and len(lines) >= 5
    assert re.fullmatch(r"[0-9a-f]{24}", identity)
    items, total, traced, notices = build_items(damaged_run["run"])
    assert [i.to_dict() for i in items] == [i.to_dict() for i in build_worklist(damaged_run["run"])]
    assert total == len(items) and traced and notices == []
    page = (damaged_run["run"] / "report.html").read_text(encoding="utf-8")
    assert f"Review the worklist ({len(lines)} items)" in page


def test_a_page_limit_and_untraceable_sources_are_said(damaged_run):
    run = damaged_run["run"]
    review = build_review(run, limit=2)
    assert len(review.items) == 2 and review.total == len(read_items(damaged_run["worklist"])) and review.limited
    assert any(f"first 2 of the run's {review.total} work items" in n for n in review.notices)
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    summary["config"]["sources"] = [str(damaged_run["tmp"] / "moved-away")]
    moved = build_review(run, summary)
    assert not moved.traced and len(moved.items) == review.total
    assert "could not be traced to the archive files" in moved.notices[0] and "moved-away" in moved.notices[0]
    assert all(v["rec"]["source"] == "" and v["rec"]["en_lines"] == [] for v in moved.items)
    assert moved.identity != build_review(run).identity


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory) -> Path:
    """A run from a reference set (no archive files): the seed with a paragraph left in Chinese
    and markup in its English."""
    tmp = tmp_path_factory.mktemp("review-reference")
    seed = REPO / "reference" / "seed.jsonl"
    records = [json.loads(line) for line in seed.read_text(encoding="utf-8").splitlines()]
    target = next(r for r in records if r["zh"].startswith("我还同意你的这种说法"))
    target["en"] = f"{target['zh']} {PAYLOAD} <img src=x onerror=\"alert(2)\">"
    ref = tmp / "ref.jsonl"
    ref.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    data = yaml.safe_load((REPO / "configs" / "default.yaml").read_text(encoding="utf-8"))
    data.update(reference=str(ref), out=str(tmp / "run"), gates={"min_chrf": {}},
                scoring={"metrics": ["chrf"], "bootstrap": 20, "workers": 1})
    config = tmp / "config.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert main(["run", "--config", str(config)]) == 0
    return tmp / "run"


def test_a_reference_set_run_has_untraced_items_and_says_so(reference_run):
    page = (reference_run / "report.html").read_text(encoding="utf-8")
    assert "made from a reference set, not from archive files" in page
    assert PAYLOAD not in page and "<img" not in page and page.count("<script>") == 1
    _identity, lines = embedded_lines(reference_run / "report.html")
    items = [json.loads(line) for line in lines]
    assert items and all(i["source"] == "" and i["source_sha256"] == "" and i["en_lines"] == [] for i in items)
    assert any(PAYLOAD in i["en"] for i in items)
    assert html_lib.escape(PAYLOAD, quote=False) in page


# --- in Chromium -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed (pip install playwright; the test extra has it)")
    executable = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")
    if executable is None:
        pytest.skip("no chromium binary (/usr/bin/chromium; install with `apt-get install -y chromium`)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(accept_downloads=True, viewport={"width": 1300, "height": 900})
    tab = context.new_page()
    tab.problems = []  # console errors, page errors and dialogs: none may happen
    tab.on("console", lambda m: tab.problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning")
           else None)
    tab.on("pageerror", lambda e: tab.problems.append(f"page error: {e}"))
    tab.on("dialog", lambda d: (tab.problems.append(f"dialog: {d.message}"), d.dismiss()))
    yield tab
    context.close()


def open_review(page, report: Path) -> None:
    page.goto(report.resolve().as_uri())
    assert page.is_hidden("#review-view")
    page.click("#show-review")
    assert page.is_visible("#review-view") and page.is_hidden("#report-view")


def go_to(page, k: int) -> None:
    """Select item ``k`` with the j / k keys."""
    current = int(page.get_attribute("li.witem.current", "data-k"))
    for _ in range(abs(k - current)):
        page.keyboard.press("j" if k > current else "k")
    assert page.get_attribute("li.witem.current", "data-k") == str(k)


def png_is_a_page(path: Path, width: int, height: int) -> None:
    """A real screenshot: the PNG's size and enough non-white pixels."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 40_000, len(data)
    w, h = struct.unpack(">II", data[16:24])
    assert (w, h) == (width, height)
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    pixels = zlib.decompress(idat)
    assert sum(1 for b in pixels[::7] if b < 200) > len(pixels[::7]) * 0.01  # text and marks, not a blank page


def test_accept_edit_export_and_apply(damaged_run, page, tmp_path):
    worklist = damaged_run["worklist"]
    items = read_items(worklist)
    lines = worklist.read_text(encoding="utf-8").splitlines()
    ids = [i["id"] for i in items]
    accept = [ids.index(item_for(items, key)["id"]) for key in ("dateline", "dropped")]
    target = item_for(items, "zh_tail")
    edit = ids.index(target["id"])
    reject = ids.index(item_for(items, "title")["id"])
    # Typed into the text box: letters that are shortcuts (a r e j k) must stay text.
    edited = (target["en"].split("这个")[0]
              + "That demonstration was a natural expression of sympathy for the victims.")

    report = damaged_run["run"] / "report.html"
    open_review(page, report)
    assert page.inner_text("#review-count") == f"0 of {len(items)} reviewed"
    assert page.locator("li.witem").count() == len(items)
    card = page.locator(f"#wi-{edit}")
    assert card.locator(".current-en del").count() >= 1 and card.locator(".proposal ins").count() >= 1
    assert "这个示威运动" in card.locator(".zh").inner_text()

    for k in accept:
        go_to(page, k)
        page.keyboard.press("a")
    go_to(page, reject)
    page.keyboard.press("r")
    go_to(page, edit)
    page.keyboard.press("e")
    area = page.locator(f"#wi-{edit} textarea")
    assert area.is_visible() and area.input_value() == target["proposal"]["text"]  # prefilled with the proposal
    area.press("Control+a")
    page.keyboard.type(edited)
    area.press("Control+Enter")
    assert area.is_hidden()
    assert page.inner_text("#review-count") == f"4 of {len(items)} reviewed"
    assert page.get_attribute(f"#wi-{edit}", "data-decision") == "edit"
    assert page.inner_text(f"#wi-{edit} .edited-text") == edited
    assert [page.get_attribute(f"#wi-{k}", "data-decision") for k in accept] == ["accept", "accept"]
    assert page.get_attribute(f"#wi-{reject}", "data-decision") == "reject"

    # Kept in this browser: a reload shows the same decisions.
    page.reload()
    page.click("#show-review")
    assert page.inner_text("#review-count") == f"4 of {len(items)} reviewed"
    assert "4 decision(s) restored" in page.inner_text("#review-store")
    assert page.inner_text(f"#wi-{edit} .edited-text") == edited

    shot = tmp_path / "review.png"
    page.locator(f"#wi-{edit}").scroll_into_view_if_needed()
    page.screenshot(path=str(shot))
    png_is_a_page(shot, 1300, 900)

    with page.expect_download() as download:
        page.click("#review-export")
    assert download.value.suggested_filename == "worklist.jsonl"
    exported = tmp_path / "worklist.jsonl"
    download.value.save_as(str(exported))
    expected = list(lines)
    for k in accept:
        expected[k] = worklist_line(items[k], "accept")
    expected[reject] = worklist_line(items[reject], "reject")
    expected[edit] = worklist_line(items[edit], "edit", edited)
    assert exported.read_text(encoding="utf-8") == "".join(line + "\n" for line in expected)

    out = tmp_path / "fixed"
    assert main(["apply", str(exported), "--out", str(out)]) == 0
    summary = json.loads((out / "apply-summary.json").read_text(encoding="utf-8"))
    assert summary["decisions"] == {"pending": len(items) - 4, "accept": 2, "reject": 1, "edit": 1}
    seed = (out / Path(target["source"]).name).read_text(encoding="utf-8").split("\n")
    # (the inserted paragraph comes earlier in the file, so the edited line moved down)
    assert edited in seed and target["en"] not in seed
    assert any(line.strip() == items[accept[1]]["proposal"]["text"] for line in seed)  # the inserted paragraph
    changzhou = (out / Path(items[accept[0]]["source"]).name).read_text(encoding="utf-8")
    assert items[accept[0]]["proposal"]["text"] in changzhou
    assert page.problems == []


def test_two_reports_keep_their_decisions_apart(damaged_run, reference_run, page):
    open_review(page, damaged_run["run"] / "report.html")
    page.keyboard.press("r")
    assert page.inner_text("#review-count").startswith("1 of ")
    open_review(page, reference_run / "report.html")
    assert page.inner_text("#review-count").startswith("0 of ")
    assert "reference set" in page.inner_text("#review-view")
    keys = page.evaluate("Object.keys(localStorage)")
    assert keys == ["evalkit-review:" + embedded_lines(damaged_run["run"] / "report.html")[0]]
    # Corpus markup is text: the payload shows as written, nothing ran, no element was injected.
    cards = page.inner_text("#witems")
    assert PAYLOAD in cards
    assert page.locator("#review-view img").count() == 0 and page.locator("script").count() == 2
    # Shortcuts do nothing while typing in the report's filter (and outside review mode).
    page.click("#show-report")
    page.locator("#filter").press_sequentially("ra")
    page.click("#show-review")
    assert page.inner_text("#review-count").startswith("0 of ")
    assert page.problems == []
