"""Parsed sentences on disk, keyed by (parser and its version, sha1 of the text): no text is parsed twice."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from assistant.answer.offline.parsed import ParsedDoc
from assistant.errors import StoreError

_SQL_CHUNK = 500  # keys per SELECT / rows per INSERT
_SCHEMA = """
CREATE TABLE IF NOT EXISTS parses (
    parser TEXT NOT NULL,
    hash TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (parser, hash)
) WITHOUT ROWID
"""
_FIX = "retry; if it persists, delete the file (it is rebuilt by parsing again)"


def text_hash(text: str) -> str:
    """The cache key of a text: hex sha1 of its UTF-8 bytes."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


class ParseCache:
    """Parsed docs as JSON in one SQLite file (WAL mode): several processes may read and write it."""

    def __init__(self, path: str | Path, timeout: float = 60.0) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(self.path), timeout=timeout, check_same_thread=False, isolation_level=None
            )
            self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(
                f"Cannot open the parse cache {self.path} ({exc}): check the folder's permissions, "
                "or delete the file to rebuild it"
            ) from exc

    def get_many(self, parser: str, texts: Sequence[str]) -> dict[str, ParsedDoc]:
        """The cached parses among texts, as {text: doc}; a row that does not read back is a miss."""
        by_hash = {text_hash(t): t for t in texts}
        keys = list(by_hash)
        found: dict[str, ParsedDoc] = {}
        for start in range(0, len(keys), _SQL_CHUNK):
            part = keys[start : start + _SQL_CHUNK]
            marks = ",".join("?" * len(part))
            sql = f"SELECT hash, doc FROM parses WHERE parser = ? AND hash IN ({marks})"
            for key, blob in self._run(sql, [parser, *part]):
                try:
                    doc = ParsedDoc.from_json(blob)
                except (ValueError, TypeError, KeyError, IndexError):
                    continue  # damaged or of another format: parsed again and replaced
                if doc.text == by_hash[key]:
                    found[doc.text] = doc
        return found

    def put_many(self, parser: str, docs: Iterable[ParsedDoc]) -> int:
        """Store the docs for `parser` in one transaction; returns how many were written."""
        rows = [(parser, text_hash(d.text), d.to_json()) for d in docs]
        if not rows:
            return 0
        sql = "INSERT OR REPLACE INTO parses (parser, hash, doc) VALUES (?, ?, ?)"
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    for start in range(0, len(rows), _SQL_CHUNK):
                        self._db.executemany(sql, rows[start : start + _SQL_CHUNK])
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise StoreError(f"Parse cache {self.path} failed ({exc}): {_FIX}") from exc
        return len(rows)

    def count(self, parser: str | None = None) -> int:
        """Cached parses, of one parser or of all."""
        if parser is None:
            return int(self._run("SELECT COUNT(*) FROM parses", [])[0][0])
        return int(self._run("SELECT COUNT(*) FROM parses WHERE parser = ?", [parser])[0][0])

    def _run(self, sql: str, params: list[str]) -> list[tuple[str, str]]:
        try:
            with self._lock:
                return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"Parse cache {self.path} failed ({exc}): {_FIX}") from exc

    def close(self) -> None:
        """Close the connection (the file stays)."""
        with self._lock:
            self._db.close()
