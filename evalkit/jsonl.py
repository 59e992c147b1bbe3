"""JSON Lines reading and atomic writing.

Readers report the file and line of any bad record; writers never leave a half-written
file behind (write to a temporary file in the same folder, then rename).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from evalkit.errors import InputError


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line; raise ``InputError`` on bad JSON."""
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    with handle:
        try:
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(path, f"not valid JSON ({exc.msg}); expected one JSON object per line", lineno) from None
                if not isinstance(obj, dict):
                    raise InputError(path, f"expected a JSON object, got {type(obj).__name__}", lineno)
                yield lineno, obj
        except UnicodeDecodeError as exc:
            raise InputError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    return [obj for _, obj in iter_jsonl(path)]


@contextmanager
def atomic_writer(path: str | Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; rename it over ``path`` only if the block succeeds.

    Text modes write UTF-8 with newlines as given; ``"wb"`` writes bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    text = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
    try:
        with os.fdopen(fd, mode, **text) as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dumps(obj: Any) -> str:
    """One JSONL line: UTF-8 kept readable (Chinese is not \\u-escaped)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ": "))


def write_jsonl(path: str | Path, records: Iterable[Any]) -> int:
    """Atomically write records (dicts, or objects with ``to_dict``); return how many were written."""
    count = 0
    with atomic_writer(path) as handle:
        for record in records:
            obj = record.to_dict() if hasattr(record, "to_dict") else record
            handle.write(dumps(obj) + "\n")
            count += 1
    return count
