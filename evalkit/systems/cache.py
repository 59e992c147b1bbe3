"""The translation cache: content-addressed SQLite keyed by (system fingerprint, sha256 of source).

A rerun translates only new or changed paragraphs; an interrupted run resumes because results
are committed batch by batch. WAL journaling plus a busy timeout let several processes (two
runs, Ray workers) read and write one file at once without corrupting it or failing on a lock.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from evalkit.errors import ConfigError
from evalkit.systems.base import Translation

DEFAULT_CACHE = Path(".evalkit-cache") / "translations.sqlite"
BUSY_TIMEOUT_MS = 60_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS translations (
    fingerprint TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    hyp TEXT NOT NULL,
    chunks INTEGER NOT NULL,
    truncated INTEGER NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (fingerprint, source_sha256)
) WITHOUT ROWID
"""


def source_key(text: str) -> str:
    """The content address of a source paragraph."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_path(configured: str | None = None) -> Path:
    """The cache file: the config's ``cache``, else ``$EVALKIT_CACHE``, else ``.evalkit-cache/translations.sqlite``."""
    return Path(configured or os.environ.get("EVALKIT_CACHE") or DEFAULT_CACHE)


def open_cache_db(path: Path, schema: str) -> sqlite3.Connection:
    """A connection to a cache file with WAL journaling, a busy timeout and ``schema`` created;
    shared by the translation cache and the neural score cache (``metrics.neural_cache``).
    Raises ``sqlite3.Error`` / ``OSError`` for the caller to name its cache.

    The set-up is retried while another process is setting up the same new file: SQLite answers
    "database is locked" at once, without waiting out the busy timeout, when a connection's view of
    a brand-new file went stale while another created the schema or switched the journal mode;
    seen about once in 2,000 concurrent first opens.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute(schema)
            return db
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                db.close()
                raise
            time.sleep(0.01)


class TranslationCache:
    """One connection to the cache file. Use from one thread (the runner's); open one per process."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self._db = open_cache_db(self.path, _SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise ConfigError(f"translation cache {self.path}: cannot open ({exc}); set 'cache' in the config "
                              "or EVALKIT_CACHE to a writable file") from None

    def get_many(self, fingerprint: str, sources: Iterable[str]) -> dict[str, Translation]:
        """Cached translations by source text, for the sources that have one."""
        by_key = {source_key(s): s for s in sources}
        found: dict[str, Translation] = {}
        keys = list(by_key)
        for start in range(0, len(keys), 500):  # stay under SQLite's bound-parameter limit
            part = keys[start:start + 500]
            rows = self._db.execute(
                "SELECT source_sha256, hyp, chunks, truncated FROM translations "
                f"WHERE fingerprint = ? AND source_sha256 IN ({','.join('?' * len(part))})",
                [fingerprint, *part],
            ).fetchall()
            for key, hyp, chunks, truncated in rows:
                found[by_key[key]] = Translation(hyp=hyp, chunks=int(chunks), truncated=bool(truncated))
        return found

    def put_many(self, fingerprint: str, items: Sequence[tuple[str, Translation]]) -> None:
        """Store translations (source text, translation) in one committed transaction."""
        if not items:
            return
        now = time.time()
        rows = [(fingerprint, source_key(src), t.hyp, t.chunks, int(t.truncated), now) for src, t in items]
        with self._db:  # BEGIN … COMMIT, rolled back on error
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT OR REPLACE INTO translations (fingerprint, source_sha256, hyp, chunks, truncated, created) "
                "VALUES (?, ?, ?, ?, ?, ?)", rows)

    def count(self, fingerprint: str | None = None) -> int:
        if fingerprint is None:
            return int(self._db.execute("SELECT COUNT(*) FROM translations").fetchone()[0])
        return int(self._db.execute("SELECT COUNT(*) FROM translations WHERE fingerprint = ?", [fingerprint]).fetchone()[0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> TranslationCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
