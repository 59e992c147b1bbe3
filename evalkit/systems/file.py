"""``file``: precomputed hypotheses of an external system (DeepL, an LLM run elsewhere, a vendor).

Options
-------
``path``            a JSONL or text file, or a folder of ``*.jsonl`` files (one per document).
``format``          ``auto`` (default: ``.jsonl``/``.json`` or a folder → jsonl, else text), ``jsonl``, ``text``.
``key``             JSONL only: ``auto`` (default: ``id`` if the records have one, else ``zh``), ``id``, ``zh``.
``field``           the hypothesis field of a JSONL record (default ``hyp``).
``allow_missing``   default false: a reference paragraph with no hypothesis is an error naming the
                    first few ids; true: it gets an empty hypothesis and a warning.

Keyed by ``zh``, the Chinese text is matched after removing ASCII spaces, full-width spaces and
tabs (the corpus does the same), line by line: a reference paragraph whose ``zh`` joins several
lines (``\\n``) gets their hypotheses joined in order. A text file has one line per reference
paragraph, in reference order. Entries the reference set does not use are reported as a warning;
duplicate ids are errors, the same Chinese line twice with different hypotheses a warning (the
first is used). Output is never cached: the file is the cache.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.config import SystemConfig
from evalkit.errors import ConfigError, InputError
from evalkit.jsonl import iter_jsonl
from evalkit.systems.base import checked_options, Segment, Translation, Translator

log = logging.getLogger("evalkit.systems")

OPTIONS = {"path", "format", "key", "field", "allow_missing", "batch_size"}
_STRIP = re.compile(r"[ \u3000\t\r\xa0]+")
SHOW = 5  # how many offending ids an error lists


def normalise_zh(text: str) -> str:
    """The corpus's normal form of a Chinese line: no ASCII/full-width spaces or tabs."""
    return _STRIP.sub("", text).strip()


@dataclass(frozen=True, slots=True)
class Entry:
    hyp: str
    where: str  # "file:line", for messages


def _list(items: Sequence[str]) -> str:
    shown = ", ".join(repr(x if len(x) <= 40 else x[:40] + "…") for x in items[:SHOW])
    more = f" and {len(items) - SHOW} more" if len(items) > SHOW else ""
    return shown + more


class FileTranslator(Translator):
    backend = "file"

    def __init__(self, config: SystemConfig):
        super().__init__(config)
        options = checked_options(config, OPTIONS)
        if not options.get("path"):
            raise ConfigError(f"system {self.name!r} (file): 'path' is required (a JSONL or text file of hypotheses)")
        self.path = Path(str(options["path"]))
        self.format = str(options.get("format", "auto"))
        self.key = str(options.get("key", "auto"))
        self.field = str(options.get("field", "hyp"))
        self.allow_missing = bool(options.get("allow_missing", False))
        if self.format not in {"auto", "jsonl", "text"}:
            raise ConfigError(f"system {self.name!r} (file): format must be auto, jsonl or text, got {self.format!r}")
        if self.key not in {"auto", "id", "zh"}:
            raise ConfigError(f"system {self.name!r} (file): key must be auto, id or zh, got {self.key!r}")
        if not self.path.exists():
            raise InputError(self.path, f"hypothesis file of system {self.name!r} not found")
        if self.format == "auto":
            self.format = "jsonl" if self.path.is_dir() or self.path.suffix in {".jsonl", ".json"} else "text"

    @property
    def cacheable(self) -> bool:
        return False

    def settings(self) -> dict[str, Any]:
        # The fingerprint follows the file's content, so a changed file is a different system output.
        import hashlib

        digest = hashlib.sha256()
        for file in self._files():
            digest.update(file.name.encode())
            digest.update(file.read_bytes())
        return {"content_sha256": digest.hexdigest(), "format": self.format, "key": self.key, "field": self.field}

    def _files(self) -> list[Path]:
        if self.path.is_dir():
            files = sorted(self.path.glob("*.jsonl"))
            if not files:
                raise InputError(self.path, "folder holds no *.jsonl hypothesis files")
            return files
        return [self.path]

    def translate(self, segments: Sequence[Segment]) -> list[Translation]:
        if self.format == "text":
            return self._from_text(segments)
        return self._from_jsonl(segments)

    # -- plain text: one line per reference paragraph --------------------------------------
    def _from_text(self, segments: Sequence[Segment]) -> list[Translation]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise InputError(self.path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        while lines and not lines[-1].strip():
            lines.pop()  # a trailing newline or blank tail is not an extra paragraph
        if len(lines) > len(segments):
            raise InputError(self.path, f"{len(lines)} lines for {len(segments)} reference paragraphs: "
                                        f"{len(lines) - len(segments)} extra line(s) from line {len(segments) + 1}; "
                                        "expected one line per reference paragraph, in order")
        if len(lines) < len(segments):
            missing = [s.id for s in segments[len(lines):]]
            if not self.allow_missing:
                raise InputError(self.path, f"{len(lines)} lines for {len(segments)} reference paragraphs; "
                                            f"no hypothesis for {len(missing)} paragraph(s): {_list(missing)} "
                                            "(set allow_missing: true to score them as empty)")
            log.warning("%s: %s: no hypothesis for %d paragraph(s): %s; scored as empty", self.name, self.path,
                        len(missing), _list(missing))
            lines += [""] * len(missing)
        return [Translation(hyp=line.strip()) for line in lines]

    # -- JSONL keyed by id or by Chinese text ----------------------------------------------
    def _load(self) -> tuple[str, dict[str, Entry]]:
        entries: dict[str, Entry] = {}
        key = self.key
        for file in self._files():
            for lineno, obj in iter_jsonl(file):
                if key == "auto":
                    key = "id" if "id" in obj else "zh" if "zh" in obj else ""
                    if not key:
                        raise InputError(file, "record has neither 'id' nor 'zh'; cannot match it to the reference", lineno)
                value, hyp = obj.get(key), obj.get(self.field)
                if not isinstance(value, str):
                    raise InputError(file, f"missing or non-string field {key!r}", lineno)
                if not isinstance(hyp, str):
                    raise InputError(file, f"missing or non-string field {self.field!r}", lineno)
                name = value if key == "id" else normalise_zh(value)
                where = f"{file}:{lineno}"
                if name in entries:
                    if key == "id":
                        raise InputError(file, f"duplicate id {value!r} (first at {entries[name].where})", lineno)
                    if entries[name].hyp != hyp:
                        log.warning("%s: %s: the same Chinese line has two hypotheses (first at %s); using the first",
                                    self.name, where, entries[name].where)
                    continue
                entries[name] = Entry(hyp.strip(), where)
        return key, entries

    def _from_jsonl(self, segments: Sequence[Segment]) -> list[Translation]:
        key, entries = self._load()
        used: set[str] = set()
        out: list[Translation] = []
        missing: list[str] = []
        for seg in segments:
            if key == "id":
                names = [seg.id]
            else:
                whole = normalise_zh(seg.zh.replace("\n", ""))
                # The file may hold the joined paragraph itself; otherwise look each line up.
                names = [whole] if whole in entries else [n for n in map(normalise_zh, seg.zh.split("\n")) if n]
            if not names:
                out.append(Translation(""))  # nothing to translate (a 1-0 bead)
                continue
            found = [entries.get(n) for n in names]
            if any(e is None for e in found):
                missing.append(seg.id)
                out.append(Translation(""))
                continue
            used.update(names)
            out.append(Translation(hyp=" ".join(e.hyp for e in found if e and e.hyp)))
        if missing:
            if not self.allow_missing:
                raise InputError(self.path, f"no hypothesis (keyed by {key!r}) for {len(missing)} of {len(segments)} "
                                            f"reference paragraph(s): {_list(missing)} "
                                            "(set allow_missing: true to score them as empty)")
            log.warning("%s: %s: no hypothesis for %d paragraph(s): %s; scored as empty", self.name, self.path,
                        len(missing), _list(missing))
        extra = [e.where for n, e in entries.items() if n not in used]
        if extra:
            log.warning("%s: %d entr%s in %s match no reference paragraph: %s", self.name, len(extra),
                        "y" if len(extra) == 1 else "ies", self.path, _list(extra))
        return out
