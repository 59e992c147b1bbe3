"""The neural score cache: SQLite keyed by (metric model fingerprint, hash of the scored texts).

Like the translation cache (``evalkit.systems.cache``), and by default in the same file (its own
table, ``neural_scores``): the config's ``scoring.neural.cache``, else the run's translation cache
file (``cache``, ``$EVALKIT_CACHE``, ``.evalkit-cache/translations.sqlite``). A value is the JSON
of what was computed (``{"score": float, "pieces": int}``, or a sentence localisation record);
JSON keeps a float's exact repr, so a rerun served from the cache gives the very same numbers.
WAL journaling and a busy timeout let several processes share the file.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from evalkit.errors import ConfigError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS neural_scores (
    fingerprint TEXT NOT NULL,
    texts_sha256 TEXT NOT NULL,
    value TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (fingerprint, texts_sha256)
) WITHOUT ROWID
"""


def texts_key(texts: Sequence[str]) -> str:
    """The content address of the texts one score depends on, in order (source, hypothesis,
    reference…): the sha256 of their own sha256s, so that no separator can be forged."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(hashlib.sha256(text.encode("utf-8")).digest())
    return digest.hexdigest()


def default_cache_path(configured: str | None, translation_cache: str | None) -> Path:
    """``scoring.neural.cache``, else the translation cache file (``systems.cache.cache_path``)."""
    if configured:
        return Path(configured)
    from evalkit.systems.cache import cache_path

    return cache_path(translation_cache)


class ScoreCache:
    """One connection to the cache file; use from one thread."""

    def __init__(self, path: str | Path):
        from evalkit.systems.cache import open_cache_db

        self.path = Path(path)
        try:
            self._db = open_cache_db(self.path, _SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise ConfigError(f"neural score cache {self.path}: cannot open ({exc}); set scoring.neural.cache, "
                              "'cache' or EVALKIT_CACHE to a writable file") from None

    def get_many(self, fingerprint: str, keys: Iterable[str]) -> dict[str, Any]:
        """Cached values by key (``texts_key``), for the keys that have one."""
        unique = list(dict.fromkeys(keys))
        found: dict[str, Any] = {}
        for start in range(0, len(unique), 500):  # under SQLite's bound-parameter limit
            part = unique[start:start + 500]
            rows = self._db.execute(
                "SELECT texts_sha256, value FROM neural_scores "
                f"WHERE fingerprint = ? AND texts_sha256 IN ({','.join('?' * len(part))})",
                [fingerprint, *part]).fetchall()
            for key, value in rows:
                found[key] = json.loads(value)
        return found

    def put_many(self, fingerprint: str, items: Sequence[tuple[str, Any]]) -> None:
        """Store (key, JSON-able value) pairs in one committed transaction."""
        if not items:
            return
        now = time.time()
        rows = [(fingerprint, key, json.dumps(value, ensure_ascii=False), now) for key, value in items]
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT OR REPLACE INTO neural_scores (fingerprint, texts_sha256, value, created) VALUES (?, ?, ?, ?)",
                rows)

    def count(self, fingerprint: str | None = None) -> int:
        if fingerprint is None:
            return int(self._db.execute("SELECT COUNT(*) FROM neural_scores").fetchone()[0])
        return int(self._db.execute("SELECT COUNT(*) FROM neural_scores WHERE fingerprint = ?",
                                    [fingerprint]).fetchone()[0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ScoreCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
