"""The Chroma vector store behind a small protocol: a local folder or a `chroma run` server."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import numpy as np

from assistant.config import Settings
from assistant.errors import EmbedderMismatchError, StoreError
from assistant.models import Chunk

UPSERT_BATCH = 512


@dataclass(frozen=True)
class Hit:
    """One row returned by a vector query."""

    chunk_id: str
    text: str
    metadata: dict[str, Any]
    score: float


class VectorStore(Protocol):
    """What the rest of the code needs from a vector store."""

    embedder_name: str

    def count(self) -> int: ...
    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None: ...
    def delete(self, ids: Sequence[str]) -> None: ...
    def all_ids(self) -> set[str]: ...
    def query(self, vector: np.ndarray, k: int, where: dict[str, Any] | None) -> list[Hit]: ...


def day_number(iso_date: str | None) -> int:
    """Days since 1970-01-01 for an ISO date; -1 when unknown (Chroma metadata cannot hold None)."""
    if not iso_date:
        return -1
    import datetime as dt

    try:
        return (dt.date.fromisoformat(iso_date[:10]) - dt.date(1970, 1, 1)).days
    except ValueError:
        return -1


def chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    """Flat Chroma metadata for a chunk (strings, ints; no None)."""
    return {
        "article_id": chunk.article_id,
        "document_id": chunk.article_id,
        "chunk_index": chunk.index,
        "title": chunk.title,
        "source": chunk.source or "",
        "url": chunk.url or "",
        "author": chunk.author or "",
        "published_at": chunk.published_at or "",
        "published_day": day_number(chunk.published_at),
        "path": chunk.path,
    }


def _client(settings: Settings) -> Any:
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        headers: dict[str, str] = {}
        if settings.chroma_auth_token:
            token = settings.chroma_auth_token
            if settings.chroma_auth_header.lower() == "authorization":
                token = f"Bearer {token}"
            headers[settings.chroma_auth_header] = token
        try:
            return chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                headers=headers,
                settings=chroma_settings,
            )
        except Exception as exc:
            raise StoreError(
                f"Cannot reach the Chroma server at {settings.chroma_url} ({type(exc).__name__}): "
                "start it with `chroma run --path DIR --host 127.0.0.1 --port N` or fix "
                "ASSISTANT_CHROMA_URL"
            ) from None
    Path(settings.store).mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=settings.store, settings=chroma_settings)
    except Exception as exc:
        raise StoreError(
            f"Cannot open the store at {settings.store} ({exc}): run `assistant doctor --repair`"
        ) from None


class ChromaStore:
    """A Chroma collection that records which embedder (name, dimension) wrote it."""

    def __init__(self, settings: Settings, embedder_name: str, dim: int) -> None:
        self.embedder_name = embedder_name
        self.where = settings.chroma_url or settings.store
        self._client = _client(settings)
        meta = {"embedder": embedder_name, "dim": dim}
        try:
            self.collection = self._client.get_or_create_collection(
                settings.collection,
                embedding_function=None,
                metadata=meta,
                configuration={"hnsw": {"space": "cosine"}},
            )
        except Exception as exc:
            raise StoreError(
                f"Cannot open collection {settings.collection!r} in {self.where} ({exc}): "
                "run `assistant doctor` to check the store"
            ) from None
        found = self.collection.metadata or {}
        if found.get("embedder") != embedder_name or int(found.get("dim", dim)) != dim:
            raise EmbedderMismatchError(
                f"The store {self.where} was built with embedder {found.get('embedder')!r} "
                f"({found.get('dim')} dims), not {embedder_name!r} ({dim} dims): set "
                f"ASSISTANT_EMBED_MODEL={found.get('embedder')} or use another --store"
            )

    def count(self) -> int:
        return int(self.collection.count())

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        for start in range(0, len(chunks), UPSERT_BATCH):
            part = chunks[start : start + UPSERT_BATCH]
            self.collection.upsert(
                ids=[c.id for c in part],
                embeddings=np.asarray(vectors[start : start + len(part)], dtype=np.float32),
                documents=[c.text for c in part],
                metadatas=[chunk_metadata(c) for c in part],
            )

    def delete(self, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), UPSERT_BATCH):
            self.collection.delete(ids=list(ids[start : start + UPSERT_BATCH]))

    def all_ids(self) -> set[str]:
        ids: set[str] = set()
        offset, page = 0, 5000
        while True:
            got = self.collection.get(include=[], limit=page, offset=offset)
            ids.update(got["ids"])
            if len(got["ids"]) < page:
                return ids
            offset += page

    def get(self, ids: Iterable[str]) -> dict[str, tuple[str, np.ndarray]]:
        """id -> (document, embedding) for the given ids that exist."""
        got = self.collection.get(ids=list(ids), include=["documents", "embeddings"])
        return {
            i: (d, np.asarray(e, dtype=np.float32))
            for i, d, e in zip(got["ids"], got["documents"], got["embeddings"], strict=True)
        }

    def query(self, vector: np.ndarray, k: int, where: dict[str, Any] | None) -> list[Hit]:
        n = self.count()
        if n == 0:
            return []
        res = self.collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=min(k, n),
            where=where or None,
            include=["documents", "metadatas", "distances"],
        )
        return [
            Hit(i, d, dict(m or {}), 1.0 - float(dist))
            for i, d, m, dist in zip(
                res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0],
                strict=True,
            )
        ]

    def llama_vector_store(self) -> Any:
        """The same collection as a llama-index ChromaVectorStore."""
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=self.collection)
