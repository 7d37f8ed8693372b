"""The Chroma vector store behind a small protocol: a local folder or a `chroma run` server.

Chroma holds each chunk's vector and metadata, not its text: the manifest is the source of truth for
texts (retrieval, answers and recovery read them there), and a chunk's id is a hash of its text. A
document sent to local Chroma 1.5 is also indexed for full-text search, which nothing here uses: it
cost 1.4 of the 1.6 ms per chunk an upsert took and most of the store's size on disk (measured here;
README, "Ingest")."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant.config import Settings
from assistant.dates import day_number
from assistant.errors import AssistantError, EmbedderMismatchError, StoreError
from assistant.models import Chunk
from assistant.store.access import LocalAccess, RemoteAccess, StoreDamagedError, brief

__all__ = ["ChromaStore", "Hit", "StoreDamagedError", "VectorStore", "chunk_metadata"]

UPSERT_BATCH = 512
_WRITES = frozenset({"add", "upsert", "update", "delete", "modify"})
_DAMAGE_WORDS = ("hnsw", "segment", "compactor", "backfill", "apply logs", "purging logs",
                 "finding id", "getting embedding")


@dataclass(frozen=True)
class Hit:
    """One row returned by a vector query."""

    chunk_id: str
    metadata: dict[str, Any]
    score: float


class VectorStore(Protocol):
    """What the rest of the code needs from a vector store."""

    embedder_name: str

    def count(self) -> int: ...
    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None: ...
    def delete(self, ids: Sequence[str]) -> None: ...
    def all_ids(self) -> set[str]: ...
    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]: ...
    def query(self, vector: np.ndarray, k: int, where: dict[str, Any] | None) -> list[Hit]: ...


def chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    """Flat Chroma metadata for a chunk: what queries of the collection filter on (the article, for
    sync and llama-index's ref-doc deletes; the publication day). Titles, outlets, urls and paths
    live in the manifest, which shows them: Chroma indexes each metadata field on every write, and
    the six display fields made writing 61,440 chunks cost 71.4 s of CPU instead of 60.1, 0.97 ms a
    chunk instead of 0.75 at the end (`python benchmarks/chroma_writes.py`), growing with the
    collection."""
    return {
        "article_id": chunk.article_id,
        "document_id": chunk.article_id,
        "chunk_index": chunk.index,
        "published_day": day_number(chunk.published_at),
    }



def _is_connection_error(exc: BaseException) -> bool:
    names = {t.__name__ for t in type(exc).__mro__}
    return bool(names & {"ConnectError", "ConnectTimeout", "ReadTimeout", "RemoteProtocolError",
                         "ConnectionError", "TimeoutException", "NetworkError"})


class _GuardedCollection:
    """The collection as llama-index sees it: every call goes through the store's session."""

    def __init__(self, store: ChromaStore) -> None:
        self._store = store

    def __bool__(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        from chromadb.api.models.Collection import Collection

        if name.startswith("__") or not hasattr(Collection, name):
            raise AttributeError(name)
        if not callable(getattr(Collection, name)):
            with self._store.session() as coll:
                return getattr(coll, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._store.session(write=name in _WRITES) as current:
                return getattr(current, name)(*args, **kwargs)

        return call


class ChromaStore:
    """A Chroma collection that records which embedder (name, dimension) and manifest wrote it."""

    def __init__(self, settings: Settings, embedder_name: str, dim: int, state_id: str = "") -> None:
        self.embedder_name = embedder_name
        self.name = settings.collection
        self.remote = bool(settings.chroma_url)
        self.where = settings.chroma_url or settings.store
        self._access: LocalAccess | RemoteAccess = (
            RemoteAccess(settings) if self.remote else LocalAccess.of(Path(settings.store))
        )
        self._coll: tuple[Any, Any] | None = None
        self.collection = _GuardedCollection(self)
        self._dim, self._state_id = dim, state_id
        self._opened = False  # the collection is found or created on first use (and after reset)

    @contextlib.contextmanager
    def session(self, write: bool = False) -> Iterator[Any]:
        """The live collection, under the inter-process lock (local) with Chroma errors mapped."""
        self.ensure_open()
        try:
            with self._access.session(write) as client:
                if self._coll is None or self._coll[0] is not client:
                    self._coll = (client, client.get_collection(self.name, embedding_function=None))
                yield self._coll[1]
        except AssistantError:
            raise
        except Exception as exc:
            raise self._error(exc) from exc

    def _error(self, exc: Exception) -> StoreError:
        if self.remote and _is_connection_error(exc):
            return StoreError(f"Cannot reach the Chroma server at {self.where} ({brief(exc)}): "
                              "start it or fix ASSISTANT_CHROMA_URL")
        names = {t.__name__ for t in type(exc).__mro__}
        if names & {"InvalidArgumentError", "ValueError", "TypeError", "AttributeError"}:
            return StoreError(f"Chroma rejected a request to {self.where} ({brief(exc)})")
        if "NotFoundError" in names:
            return StoreError(f"The collection {self.name!r} is gone from {self.where} "
                              f"({brief(exc)}): run `assistant doctor --repair` to rebuild it")
        kind: type[StoreError] = StoreDamagedError  # a local folder's files are kept aside when it is rebuilt
        if self.remote and not any(w in str(exc).lower() for w in _DAMAGE_WORDS):
            kind = StoreError  # a server's collection is only rebuilt when asked (doctor --repair)
        return kind(f"The store {self.where} failed ({brief(exc)}): run "
                    "`assistant doctor --repair` to rebuild it")

    def _open(self, dim: int, state_id: str) -> None:
        meta = {"embedder": self.embedder_name, "dim": dim, "state": state_id}
        try:
            with self._access.session(write=False) as client:
                found = client.get_collection(self.name, embedding_function=None)
        except AssistantError:
            raise
        except Exception as exc:
            if type(exc).__name__ != "NotFoundError":
                raise self._error(exc) from exc
            with self._access.session(write=True) as client:
                found = client.get_or_create_collection(
                    self.name, embedding_function=None, metadata=meta,
                    configuration={"hnsw": {"space": "cosine"}})
        have = dict(found.metadata or {})
        if have.get("embedder") != self.embedder_name or int(have.get("dim", dim)) != dim:
            raise EmbedderMismatchError(
                f"The store {self.where} was built with embedder {have.get('embedder')!r} "
                f"({have.get('dim')} dims), not {self.embedder_name!r} ({dim} dims): set "
                f"ASSISTANT_EMBED_MODEL={have.get('embedder')} or use another --store"
            )
        self._opened = True  # (_adopt below goes through session(), which must not reopen)
        if state_id and have.get("state") != state_id:
            try:
                self._adopt(meta, have, state_id)
            except BaseException:
                self._opened = False  # refused: every later call asks again, and is refused again
                raise

    def _adopt(self, meta: dict[str, Any], have: dict[str, Any], state_id: str) -> None:
        """Claim the collection for this manifest, unless a server's collection belongs to another."""
        if self.remote and have.get("state") and self.count() > 0:
            raise StoreError(
                f"The collection {self.name!r} on {self.where} was indexed from another state "
                "folder (its manifest is not in --store): use that folder as --store, set "
                "ASSISTANT_COLLECTION to another name, or run `assistant doctor --repair` to "
                "rebuild the collection from this folder"
            )
        with self.session(write=True) as coll:
            coll.modify(metadata={**have, **meta})

    def ensure_open(self) -> None:
        """Find (or create) the collection now: the embedder and ownership checks run here."""
        if not self._opened:
            self._open(self._dim, self._state_id)

    def close(self) -> None:
        """Release the client (a later call reopens it)."""
        self._coll = None
        self._access.close()

    def reset(self) -> str:
        """Drop all vectors (a server's collection is deleted, a local folder's Chroma files are
        moved into damaged-<time>/); the next call creates an empty collection. Returns where the
        old local files were kept ("" for a server)."""
        self.close()
        self._opened = False
        if isinstance(self._access, RemoteAccess):
            with contextlib.suppress(Exception):
                self._access.client.delete_collection(self.name)
            return ""
        return self._access.wipe()

    def count(self) -> int:
        with self.session() as coll:
            return int(coll.count())

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        for start in range(0, len(chunks), UPSERT_BATCH):
            part = chunks[start : start + UPSERT_BATCH]
            with self.session(write=True) as coll:
                coll.upsert(
                    ids=[c.id for c in part],
                    embeddings=np.asarray(vectors[start : start + len(part)], dtype=np.float32),
                    metadatas=[chunk_metadata(c) for c in part],
                )

    def delete(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        for start in range(0, len(ids), UPSERT_BATCH):
            with self.session(write=True) as coll:
                coll.delete(ids=ids[start : start + UPSERT_BATCH])

    def all_ids(self) -> set[str]:
        return set(self.records(include_metadata=False))

    def records(self, include_metadata: bool = True) -> dict[str, dict[str, Any]]:
        """Every id with its metadata (one consistent snapshot)."""
        out: dict[str, dict[str, Any]] = {}
        offset, page = 0, 5000
        with self.session() as coll:
            while True:
                got = coll.get(include=["metadatas"] if include_metadata else [], limit=page,
                               offset=offset)
                metas = got.get("metadatas") or [{}] * len(got["ids"])
                out.update((i, dict(m or {})) for i, m in zip(got["ids"], metas, strict=True))
                if len(got["ids"]) < page:
                    return out
                offset += page

    def ids_for_articles(self, article_ids: Iterable[str]) -> set[str]:
        """Chunk ids stored for these articles (whatever the manifest says)."""
        wanted = sorted(set(article_ids))
        found: set[str] = set()
        for start in range(0, len(wanted), UPSERT_BATCH):
            part = wanted[start : start + UPSERT_BATCH]
            with self.session() as coll:
                found.update(coll.get(where={"article_id": {"$in": part}}, include=[])["ids"])
        return found

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """id -> stored vector, for the given ids that exist."""
        with self.session() as coll:
            got = coll.get(ids=list(ids), include=["embeddings"])
        return {i: np.asarray(e, dtype=np.float32)
                for i, e in zip(got["ids"], got["embeddings"], strict=True)}

    def query(self, vector: np.ndarray, k: int, where: dict[str, Any] | None) -> list[Hit]:
        with self.session() as coll:
            n = int(coll.count())
            if n == 0:
                return []
            res = coll.query(
                query_embeddings=[np.asarray(vector, dtype=np.float32)],
                n_results=min(k, n),
                where=where or None,
                include=["metadatas", "distances"],
            )
        return [
            Hit(i, dict(m or {}), 1.0 - float(dist))
            for i, m, dist in zip(res["ids"][0], res["metadatas"][0], res["distances"][0], strict=True)
        ]
