"""An embedding cache keyed by (embedder name, sha1 of the text) and the embedder that uses it."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assistant.errors import StoreError

if TYPE_CHECKING:
    from assistant.embed import Embedder

_SQL_CHUNK = 500  # keys per SELECT / rows per INSERT: memory stays bounded whatever the caller asks
_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    embedder TEXT NOT NULL,
    hash TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (embedder, hash)
) WITHOUT ROWID
"""


def text_hash(text: str) -> str:
    """The cache key of a text: hex sha1 of its UTF-8 bytes."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


class EmbedCache:
    """Vectors in one SQLite file (WAL mode): several processes may read and write it at once."""

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
        except sqlite3.Error as exc:
            raise StoreError(
                f"Cannot open the embedding cache {self.path} ({exc}): check the folder's "
                "permissions, or delete the file to rebuild it"
            ) from exc

    def get_many(self, name: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors among hashes, as {hash: float32 vector}."""
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        for start in range(0, len(unique), _SQL_CHUNK):
            part = unique[start : start + _SQL_CHUNK]
            marks = ",".join("?" * len(part))
            sql = f"SELECT hash, vector FROM embeddings WHERE embedder = ? AND hash IN ({marks})"
            for key, blob in self._query(sql, [name, *part]):
                found[key] = np.frombuffer(blob, dtype=np.float32).copy()
        return found

    def put_many(self, name: str, items: Iterable[tuple[str, np.ndarray]]) -> int:
        """Store (hash, vector) pairs for the embedder `name`; returns how many were written."""
        written = 0
        batch: list[tuple[str, str, bytes]] = []
        for key, vector in items:
            batch.append((name, key, np.asarray(vector, dtype=np.float32).tobytes()))
            if len(batch) >= _SQL_CHUNK:
                written += self._insert(batch)
                batch = []
        if batch:
            written += self._insert(batch)
        return written

    def count(self, name: str | None = None) -> int:
        """Cached vectors, of one embedder or of all."""
        if name is None:
            rows = self._query("SELECT COUNT(*) FROM embeddings", [])
        else:
            rows = self._query("SELECT COUNT(*) FROM embeddings WHERE embedder = ?", [name])
        return int(rows[0][0])

    def _query(self, sql: str, params: list[str]) -> list[tuple[str, bytes]]:
        try:
            with self._lock:
                return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"Embedding cache {self.path} failed ({exc}): {_FIX}") from exc

    def _insert(self, rows: list[tuple[str, str, bytes]]) -> int:
        sql = "INSERT OR REPLACE INTO embeddings (embedder, hash, vector) VALUES (?, ?, ?)"
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._db.executemany(sql, rows)
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise StoreError(f"Embedding cache {self.path} failed ({exc}): {_FIX}") from exc
        return len(rows)

    def close(self) -> None:
        """Close the connection (the file stays)."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> EmbedCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_FIX = "retry; if it persists, delete the cache file (it is rebuilt from the model)"


class CachedEmbedder:
    """An Embedder that asks its cache first and sends only unseen texts to the model."""

    def __init__(self, inner: Embedder, cache: EmbedCache) -> None:
        self.inner = inner
        self.cache = cache
        self.name: str = inner.name
        self.calls = 0  # texts actually sent to the model

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32 rows: cached where known, each distinct missing text embedded once."""
        keys = [text_hash(t) for t in texts]
        found = self.cache.get_many(self.name, keys)
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in found:
                missing.setdefault(key, text)
        if missing:
            vectors = self.inner.embed(list(missing.values()))
            self.calls += len(missing)
            fresh = dict(zip(missing, vectors, strict=True))
            self.cache.put_many(self.name, fresh.items())
            found.update(fresh)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)

    def embed_query(self, text: str) -> np.ndarray:
        """(dim,) vector of one text, through the cache."""
        row: np.ndarray = self.embed([text])[0]
        return row
