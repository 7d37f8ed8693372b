"""A cache in one SQLite file (WAL mode) that several processes read and write at once: the
connection, its lock, batched reads and one-transaction writes, and errors that say how to recover.
The embedding cache and the parse cache are two tables of this kind."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

from assistant.errors import StoreError

SQL_CHUNK = 500  # keys per SELECT / rows per INSERT: memory stays bounded whatever the caller asks


def text_hash(text: str) -> str:
    """The cache key of a text: hex sha1 of its UTF-8 bytes."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


class SqliteCache:
    """One table of cached values. `what` names it in errors ("embedding cache"); `fix` says how to
    recover when a read or write fails."""

    def __init__(self, path: str | Path, schema: str, what: str, fix: str, timeout: float = 60.0) -> None:
        self.path = Path(path)
        self._what, self._fix = what, fix
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(self.path), timeout=timeout, check_same_thread=False, isolation_level=None
            )
            self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute(schema)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(
                f"Cannot open the {what} {self.path} ({exc}): check the folder's permissions, "
                "or delete the file to rebuild it"
            ) from exc

    def select_in(self, sql: str, first: str, keys: Sequence[str]) -> list[tuple[Any, ...]]:
        """Rows of `sql` (ending in "IN ({marks})") for `first` and the keys, SQL_CHUNK keys at a time."""
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(keys), SQL_CHUNK):
            part = list(keys[start : start + SQL_CHUNK])
            rows += self.query(sql.format(marks=",".join("?" * len(part))), [first, *part])
        return rows

    def query(self, sql: str, params: list[str]) -> list[tuple[Any, ...]]:
        try:
            with self._lock:
                return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"{self._what.capitalize()} {self.path} failed ({exc}): {self._fix}") from exc

    def insert(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> int:
        """Write the rows in one transaction (SQL_CHUNK at a time); returns how many."""
        if not rows:
            return 0
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    for start in range(0, len(rows), SQL_CHUNK):
                        self._db.executemany(sql, rows[start : start + SQL_CHUNK])
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise StoreError(f"{self._what.capitalize()} {self.path} failed ({exc}): {self._fix}") from exc
        return len(rows)

    def close(self) -> None:
        """Close the connection (the file stays)."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
