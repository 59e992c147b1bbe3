"""Read one archive article file (English half, ``<hr />``, Chinese half) into an ``Article``.

Every layout variant listed in ``tests/data/corpus/FORMATS.md`` is handled here. Body lines are
extracted by exactly the rule of the gold alignments' scripts (``gold/extract_en.py`` and
``gold/extract_zh.py``): each line is stripped of ASCII spaces, full-width spaces, tabs and
carriage returns, and blank lines are dropped. Keeping that rule means the 0-based indices of
``Article.en`` / ``Article.zh`` are the gold indices, so alignments can be checked line by line.

Anything that does not look like an article raises ``InputError`` naming the file, the line and
what was expected.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from evalkit.errors import InputError

# What the gold scripts strip from both ends of a line.
STRIP = " \u3000\t\r\n"
# Everything that counts as indentation (for the ``indent`` we keep as layout evidence).
_INDENT = re.compile(r"^[ \u3000\t]*")

# ``Title:`` … ``Edition:`` — tolerant of a missing space after the colon and of trailing spaces.
_HEADER_KEY = re.compile(r"^(Title|Author|Date|Page|Edition)\s*:\s*(.*)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NAMED_ENTITIES = "**Named Entities**"
_ZH_PAGE = re.compile(r"^第\s*(\S+?)\s*版")
_ZH_COLUMN = "专栏"
# Headline decks are separated by two or more ASCII spaces or by full-width spaces.
_DECK_SPLIT = re.compile(r"(?: {2,}|\u3000+)")
_GLOSSARY_SEP = re.compile(r"[ \t\u3000]+")

# How many bytes to inspect for NUL bytes: a text article never contains one.
_BINARY_PROBE = 8192


@dataclass(frozen=True, slots=True)
class Paragraph:
    """One non-blank body line.

    ``text`` is the stripped line (the gold extraction rule); ``line`` its 1-based line number in
    the file (for error messages and for users who open the file); ``indent`` the whitespace it
    started with (right-aligned signatures have long indents, subheads odd ones).
    ``break_before`` records a stanza break or blank line just before it.
    """

    text: str
    line: int
    indent: str = ""
    break_before: bool = False


@dataclass(frozen=True, slots=True)
class Article:
    """One parsed archive file. ``en`` / ``zh`` hold the body lines in gold-index order."""

    path: Path
    title_en: str
    author_en: str
    date: str
    page: str
    page_key: str  # "Page" or "Edition": which English header key gave ``page`` ("" if neither)
    title_zh: str
    author_zh: str
    date_zh: str
    page_zh: str
    column: str
    en: tuple[Paragraph, ...]
    zh: tuple[Paragraph, ...]
    glossary: dict[str, str] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return self.path.name

    @property
    def headline_decks(self) -> tuple[str, ...]:
        """The Chinese headline split into its decks (one per printed line)."""
        return tuple(d for d in (s.strip(STRIP) for s in _DECK_SPLIT.split(self.title_zh)) if d)


def read_text(path: Path) -> str:
    """The file as text, or ``InputError`` for a binary or non-UTF-8 file (with its line)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except IsADirectoryError:
        raise InputError(path, "is a folder, expected an article file") from None
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror})") from None
    nul = data.find(b"\x00", 0, _BINARY_PROBE)
    if nul >= 0:
        raise InputError(path, f"binary file (NUL byte at offset {nul}); expected a UTF-8 text article")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(path, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                               "expected a UTF-8 article file", line) from None
    # A BOM or Windows line ends were never seen in the archive, but cost nothing to accept.
    return text.removeprefix("\ufeff").replace("\r\n", "\n")


def parse_article(path: str | Path) -> Article:
    """Parse one archive file. Raises ``InputError`` for anything that is not an article."""
    path = Path(path)
    return parse_text(read_text(path), path)


def parse_text(text: str, path: Path) -> Article:
    lines = text.split("\n")
    hr = next((i for i, line in enumerate(lines) if line.startswith("<hr />")), None)
    if hr is None:
        raise InputError(path, "no '<hr />' line separating the English and the Chinese half; "
                               "expected an archive article (English, <hr />, 'Original:', Chinese)")
    header, body_start = _parse_en_header(lines[:hr], path)
    en, glossary = _parse_en_body(lines, body_start, hr)
    # An English that stops inside its own header (a title, cut off, and nothing else: seen in the
    # archive) is a translation cut short, not a malformed file: its paragraphs are all kept, with
    # no English, and the date comes from the Chinese half.
    cut_off = "Date" not in header and not en
    if "Date" not in header and not cut_off:
        raise InputError(path, "the English header has no 'Date:' line; expected 'Date: YYYY-MM-DD' "
                               "after 'Title:' and 'Author:'", body_start)
    if not en and not cut_off:
        raise InputError(path, "the English half has no body text before '<hr />'; expected at least one "
                               "translated paragraph", hr + 1)
    zh_head, zh = _parse_zh(lines, hr, path)
    if cut_off and not _DATE.match(zh_head["date"] or ""):
        raise InputError(path, "the English stops inside its header (no 'Date:' line, no body) and the Chinese "
                               "half has no YYYY-MM-DD date line either; expected a date in one of them", body_start)
    if not zh:
        raise InputError(path, "the Chinese half has no body text after its header (### headline … 专栏：); "
                               "expected at least one line", zh_head["last_line"])
    page, page_key = header.get("Page"), "Page"
    if page is None:
        page, page_key = header.get("Edition"), "Edition"
    if page is None:
        page, page_key = zh_head["page"], ""
    return Article(
        path=path,
        title_en=header.get("Title", ""),
        author_en=header.get("Author", ""),
        date=header.get("Date") or zh_head["date"],
        page=page or "",
        page_key=page_key,
        title_zh=zh_head["headline"],
        author_zh=zh_head["author"],
        date_zh=zh_head["date"],
        page_zh=zh_head["page"],
        column=zh_head["column"],
        en=tuple(en),
        zh=tuple(zh),
        glossary=glossary,
    )


def _parse_en_header(lines: list[str], path: Path) -> tuple[dict[str, str], int]:
    """The ``Key: value`` header: leading header-key or blank lines (the gold rule)."""
    header: dict[str, str] = {}
    i = 0
    while i < len(lines):
        stripped = lines[i].strip(STRIP)
        match = _HEADER_KEY.match(stripped)
        if match:
            key, value = match.group(1), match.group(2).strip(STRIP)
            if key in header:
                raise InputError(path, f"header key {key!r} given twice; expected Title, Author, Date, "
                                       "Page or Edition once each", i + 1)
            header[key] = value
        elif stripped:
            break
        i += 1
    if not header:
        raise InputError(path, "no English header; expected 'Title:', 'Author:', 'Date:', 'Page:' or "
                               "'Edition:' lines at the top", 1)
    if "Date" not in header:
        return header, i  # parse_text decides: an error, or an English cut off inside its header
    if not _DATE.match(header["Date"]):
        line = next(k + 1 for k in range(i) if lines[k].strip(STRIP).startswith("Date"))
        raise InputError(path, f"'Date:' is {header['Date']!r}; expected YYYY-MM-DD", line)
    return header, i


def _parse_en_body(lines: list[str], start: int, hr: int) -> tuple[list[Paragraph], dict[str, str]]:
    """Body lines up to ``**Named Entities**`` (or ``<hr />``), then the glossary entries."""
    body: list[Paragraph] = []
    glossary: dict[str, str] = {}
    gap = False
    in_glossary = False
    for i in range(start, hr):
        raw = lines[i]
        stripped = raw.strip(STRIP)
        if not stripped:
            gap = True
            continue
        if in_glossary:
            term, gloss = _glossary_entry(raw.strip(" \u3000\r\n"))
            if term:
                glossary[term] = gloss
            continue
        if stripped.startswith(_NAMED_ENTITIES):
            in_glossary = True
            continue
        body.append(Paragraph(stripped, i + 1, _INDENT.match(raw).group(0), gap))
        gap = False
    return body, glossary


def _glossary_entry(line: str) -> tuple[str, str]:
    """``<ZH term><TAB | 2 spaces | 1 space><English>`` → (term, English).

    A Chinese term never contains a space, so the first whitespace run is the separator.
    """
    parts = _GLOSSARY_SEP.split(line.strip(STRIP), maxsplit=1)
    return parts[0], (parts[1].strip(STRIP) if len(parts) > 1 else "")


def _parse_zh(lines: list[str], hr: int, path: Path) -> tuple[dict, list[Paragraph]]:
    """The Chinese header (``### headline``, author, date, ``第N版()``, ``专栏：``) and body lines."""
    after = range(hr + 1, len(lines))
    # The body starts after the first ``专栏`` line; without one, after the ``第N版`` line (the gold rule).
    end = next((i for i in after if lines[i].strip(STRIP).startswith(_ZH_COLUMN)), None)
    if end is None:
        end = next((i for i in after if _ZH_PAGE.match(lines[i].strip(STRIP))), None)
    if end is None:
        raise InputError(path, "the Chinese half has no header; expected '### <headline>', the author line, "
                               "the date, '第N版()' and '专栏：' after '<hr />'", hr + 1)
    head = {"headline": "", "author": "", "date": "", "page": "", "column": "", "last_line": end + 1}
    seen_headline = False
    for i in range(hr + 1, end + 1):
        stripped = lines[i].strip(STRIP)
        if not stripped or stripped.startswith("Original:"):
            continue
        if stripped.startswith("###"):
            head["headline"] = stripped.lstrip("#").strip(STRIP)
            seen_headline = True
        elif _DATE.match(stripped):
            head["date"] = stripped
        elif page := _ZH_PAGE.match(stripped):
            head["page"] = _page_number(page.group(1))
        elif stripped.startswith(_ZH_COLUMN):
            head["column"] = stripped[len(_ZH_COLUMN):].lstrip("：:").strip(STRIP)
        elif seen_headline and not head["author"] and not head["date"]:
            head["author"] = stripped
    body: list[Paragraph] = []
    gap = False
    for i in range(end + 1, len(lines)):
        raw = lines[i]
        stripped = raw.strip(STRIP)
        if not stripped:
            # A line of only full-width spaces is a stanza break in verse; blank lines separate too.
            gap = gap or bool(raw)
            continue
        body.append(Paragraph(stripped, i + 1, _INDENT.match(raw).group(0), gap))
        gap = False
    return head, body


_ZH_DIGITS = {c: str(k) for k, c in enumerate("〇一二三四五六七八九")} | {"○": "0", "零": "0"}


def _page_number(text: str) -> str:
    """``第2版`` → "2"; ``第十二版`` → "12" (the archive uses Arabic digits, but stay safe)."""
    text = unicodedata.normalize("NFKC", text)
    if text.isdigit():
        return text
    from evalkit.corpus.anchors import zh_number

    value = zh_number(text)
    return str(value) if value is not None else text
