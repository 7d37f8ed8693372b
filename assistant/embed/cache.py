"""An embedding cache keyed by (embedder name, sha1 of the text) and the embedder that uses it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assistant.sqlite_cache import SqliteCache, text_hash

if TYPE_CHECKING:
    from assistant.embed import Embedder

__all__ = ["CachedEmbedder", "EmbedCache", "text_hash"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    embedder TEXT NOT NULL,
    hash TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (embedder, hash)
) WITHOUT ROWID
"""


class EmbedCache(SqliteCache):
    """Vectors in one SQLite file (WAL mode): several processes may read and write it at once."""

    def __init__(self, path: str | Path, timeout: float = 60.0) -> None:
        fix = "retry; if it persists, delete the cache file (it is rebuilt from the model)"
        super().__init__(path, _SCHEMA, "embedding cache", fix, timeout)

    def get_many(self, name: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors among hashes, as {hash: float32 vector}."""
        sql = "SELECT hash, vector FROM embeddings WHERE embedder = ? AND hash IN ({marks})"
        rows = self.select_in(sql, name, list(dict.fromkeys(hashes)))
        return {key: np.frombuffer(blob, dtype=np.float32).copy() for key, blob in rows}

    def put_many(self, name: str, items: Iterable[tuple[str, np.ndarray]]) -> int:
        """Store (hash, vector) pairs for the embedder `name` in one transaction; returns how many."""
        rows = [(name, key, np.asarray(vector, dtype=np.float32).tobytes()) for key, vector in items]
        sql = "INSERT OR REPLACE INTO embeddings (embedder, hash, vector) VALUES (?, ?, ?)"
        return self.insert(sql, rows)

    def count(self, name: str | None = None) -> int:
        """Cached vectors, of one embedder or of all."""
        if name is None:
            return int(self.query("SELECT COUNT(*) FROM embeddings", [])[0][0])
        return int(self.query("SELECT COUNT(*) FROM embeddings WHERE embedder = ?", [name])[0][0])


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
