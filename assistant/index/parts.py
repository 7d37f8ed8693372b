"""The parts indexing works on, passed in together: settings, manifest, embedder, vector store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from assistant.config import Settings
from assistant.embed import Embedder
from assistant.index.manifest import Manifest
from assistant.store.chroma import ChromaStore


@dataclass(frozen=True)
class IndexParts:
    """One store's manifest, embedder and vector store (made by app.py, used by ingest and doctor)."""

    settings: Settings
    manifest: Manifest
    embedder: Embedder
    store: ChromaStore

    @property
    def folder(self) -> Path:
        """The local state folder (manifest, BM25 index, embedding cache, locks)."""
        return Path(self.settings.store)

    @property
    def lexical_folder(self) -> Path:
        """Where the BM25 index beside the store lives."""
        from assistant.store.lexical import LEXICAL_DIR

        return self.folder / LEXICAL_DIR

    @property
    def vectors_folder(self) -> Path:
        """Where the exact dense index beside the store lives."""
        from assistant.store.vectors import VECTORS_DIR

        return self.folder / VECTORS_DIR
