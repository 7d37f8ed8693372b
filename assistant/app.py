"""build_app(settings): the ONE place where the store, embedder, manifest and LLM client are made."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.config import Settings, offline_environment

if TYPE_CHECKING:
    from assistant.answer.llm.client import ChatClient
    from assistant.answer.offline.nlp import SentenceParser
    from assistant.embed import Embedder
    from assistant.index.indexer import Indexer, Progress
    from assistant.index.manifest import Manifest
    from assistant.index.parts import IndexParts
    from assistant.retrieve.hybrid import Retriever
    from assistant.store.chroma import ChromaStore
    from assistant.store.lexical import LexicalIndex
    from assistant.store.vectors import VectorIndex


@dataclass
class App:
    """Lazily built collaborators for one settings object."""

    settings: Settings
    _cache: dict[str, Any] = field(default_factory=dict)

    @property
    def state_dir(self) -> Path:
        return Path(self.settings.store)

    @property
    def embedder(self) -> Embedder:
        if "embedder" not in self._cache:
            from assistant.embed import make_embedder
            from assistant.embed.cache import CachedEmbedder, EmbedCache

            raw = make_embedder(self.settings)
            self.state_dir.mkdir(parents=True, exist_ok=True)
            cache = EmbedCache(self.state_dir / "embed_cache.sqlite3")
            self._cache["embedder"] = CachedEmbedder(raw, cache)
        return self._cache["embedder"]  # type: ignore[no-any-return]

    @property
    def store(self) -> ChromaStore:
        if "store" not in self._cache:
            from assistant.store.chroma import ChromaStore

            emb = self.embedder
            self._cache["store"] = ChromaStore(self.settings, emb.name, emb.dim,
                                               state_id=self.manifest.state_id())
        return self._cache["store"]  # type: ignore[no-any-return]

    def drop_store(self) -> None:
        """Release the open store's client (the next use reopens it)."""
        store = self._cache.get("store")
        if store is not None:
            store.close()

    @property
    def manifest(self) -> Manifest:
        if "manifest" not in self._cache:
            from assistant.index.manifest import Manifest

            self._cache["manifest"] = Manifest(self.state_dir / "manifest.sqlite3")
        return self._cache["manifest"]  # type: ignore[no-any-return]

    def lexical(self) -> LexicalIndex:
        from assistant.store.lexical import LEXICAL_DIR, load_lexical

        current = self._cache.get("lexical")
        if current is None or current.generation != self.manifest.generation():
            self._cache["lexical"] = load_lexical(self.manifest, self.state_dir / LEXICAL_DIR)
        return self._cache["lexical"]  # type: ignore[no-any-return]

    def vectors(self) -> VectorIndex:
        """The exact dense index beside the store (rebuilt from it when the manifest moved on)."""
        from assistant.store.vectors import VECTORS_DIR, load_vectors

        if self.settings.chroma_url:  # a server's collection may belong to another state folder
            self.store.ensure_open()
        current = self._cache.get("vectors")
        if current is None or current.generation != self.manifest.generation():
            self._cache["vectors"] = load_vectors(self.manifest, self.store,
                                                  self.state_dir / VECTORS_DIR)
        return self._cache["vectors"]  # type: ignore[no-any-return]

    @property
    def retriever(self) -> Retriever:
        if "retriever" not in self._cache:
            from assistant.retrieve.hybrid import Retriever

            self._cache["retriever"] = Retriever(self.vectors, self.embedder, self.manifest,
                                                 self.lexical)
        return self._cache["retriever"]  # type: ignore[no-any-return]

    @property
    def parser(self) -> SentenceParser | None:
        """The packaged sentence parser for short answers (None when it is not installed)."""
        if "parser" not in self._cache:
            from assistant.answer.offline.nlp import PARSE_CACHE, load_parser

            self._cache["parser"] = load_parser(self.state_dir / PARSE_CACHE)
        return self._cache["parser"]  # type: ignore[no-any-return]

    @property
    def chat_client(self) -> ChatClient | None:
        if not self.settings.llm_enabled:
            return None
        if "chat" not in self._cache:
            from assistant.answer.llm.client import make_chat_client

            self._cache["chat"] = make_chat_client(self.settings)
        return self._cache["chat"]  # type: ignore[no-any-return]

    def is_empty(self) -> bool:
        """True when nothing was ever ingested into this store."""
        return self.manifest.counts()["articles"] == 0 and self.store.count() == 0

    def index_parts(self) -> IndexParts:
        """The manifest, embedder and store, as indexing and the doctor take them."""
        from assistant.index.parts import IndexParts

        return IndexParts(self.settings, self.manifest, self.embedder, self.store)

    def indexer(self, progress: Progress | None = None) -> Indexer:
        """An ingest run over this store (hold writer_lock() while it runs)."""
        from assistant.index.indexer import Indexer

        return Indexer(self.index_parts(), progress)

    @contextmanager
    def writer_lock(self, wait: bool = True,
                    on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        """One ingest per store across processes (see index/lock.py)."""
        from assistant.index.lock import writer_lock

        with writer_lock(self.state_dir, wait, on_wait):
            yield

    def close(self) -> None:
        self.drop_store()
        parser = self._cache.get("parser")
        if parser is not None:
            parser.close()
        manifest = self._cache.pop("manifest", None)
        if manifest is not None:
            manifest.close()


def build_app(settings: Settings) -> App:
    """Make the app for these settings (nothing heavy is loaded until used)."""
    offline_environment()
    return App(settings)
