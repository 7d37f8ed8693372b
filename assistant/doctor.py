"""`assistant doctor`: check that the store opens, matches the manifest and finds its own chunks."""

from __future__ import annotations

import contextlib
import random
import shutil
import time
from dataclasses import dataclass, field

import numpy as np

from assistant.app import App

OUR_FILES = ("manifest.sqlite3", "embed_cache.sqlite3", "bm25", "write.lock", "chat_history")


@dataclass
class DoctorReport:
    """What the doctor found."""

    opened: bool = False
    error: str = ""
    manifest_chunks: int = 0
    store_chunks: int = 0
    missing: int = 0
    extra: int = 0
    sampled: int = 0
    found_self: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.opened and not self.missing and not self.extra and self.found_self == self.sampled

    def lines(self) -> list[str]:
        if not self.opened:
            return [f"store: does not open ({self.error})"]
        return [
            "store: opens",
            f"chunks: {self.store_chunks} in the store, {self.manifest_chunks} in the manifest "
            f"({self.missing} missing, {self.extra} unknown)",
            f"self-retrieval: {self.found_self}/{self.sampled} sampled chunks find themselves",
            *self.notes,
            "status: OK" if self.ok else "status: DAMAGED",
        ]


def check_store(app: App, sample: int = 50, seed: int = 0) -> DoctorReport:
    """Open the store, compare it with the manifest, and check a sample of chunks."""
    report = DoctorReport()
    try:
        store = app.store
        ids = store.all_ids()
    except Exception as exc:  # any failure to open is what the doctor reports
        report.error = f"{type(exc).__name__}: {str(exc)[:200]}"
        return report
    report.opened = True
    known = app.manifest.chunk_ids()
    report.manifest_chunks, report.store_chunks = len(known), len(ids)
    report.missing, report.extra = len(known - ids), len(ids - known)
    picked = random.Random(seed).sample(sorted(known & ids), min(sample, len(known & ids)))
    report.sampled = len(picked)
    if picked:
        stored = store.get(picked)
        for cid in picked:
            _doc, vec = stored[cid]
            hits = store.query(np.asarray(vec), 3, None)
            report.found_self += any(h.chunk_id == cid for h in hits)
    return report


def repair_store(app: App) -> str:
    """Rebuild the vector store from the indexed source files (embeddings come from the cache)."""
    from assistant.indexer import Indexer

    files = sorted(app.manifest.files())
    settings = app.settings
    app.close()
    if settings.chroma_url:
        import chromadb  # noqa: F401  (server: drop the collection, keep the server)

        from assistant.store import _client

        with contextlib.suppress(Exception):
            _client(settings).delete_collection(settings.collection)
    else:
        state = app.state_dir
        backup = state / f"damaged-{time.strftime('%Y%m%d-%H%M%S')}"
        backup.mkdir()
        for item in state.iterdir():
            if item.name.startswith(("damaged-", *OUR_FILES)):
                continue
            shutil.move(str(item), backup / item.name)
    for name in ("manifest.sqlite3", "manifest.sqlite3-wal", "manifest.sqlite3-shm"):
        (app.state_dir / name).unlink(missing_ok=True)
    shutil.rmtree(app.state_dir / "bm25", ignore_errors=True)
    fresh = type(app)(settings)
    with fresh.writer_lock():
        report = Indexer(fresh).run(files)
    return (f"{report.articles_indexed} articles, {report.chunks_added} chunks "
            f"({report.embedded} embeddings reused or computed)")
