"""`assistant doctor` and crash recovery: check the store against the manifest, repair or rebuild it."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.app import App
from assistant.errors import StoreError
from assistant.store import ChromaStore, StoreDamagedError, wipe_store

TIE = 0.9999  # a hit this similar is the same text (duplicate articles embed identically)


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
        return (self.opened and not self.error and not self.missing and not self.extra
                and self.found_self == self.sampled)

    def lines(self) -> list[str]:
        if not self.opened:
            return [f"store: does not open ({self.error})", *self.notes, "status: DAMAGED"]
        return [
            "store: opens",
            f"chunks: {self.store_chunks} in the store, {self.manifest_chunks} in the manifest "
            f"({self.missing} missing, {self.extra} unknown)",
            f"self-retrieval: {self.found_self}/{self.sampled} sampled chunks find themselves"
            if not self.error else f"self-retrieval: failed ({self.error})",
            *self.notes,
            "status: OK" if self.ok else "status: DAMAGED",
        ]


def finds_itself(store: ChromaStore, ids: list[str], k: int = 3) -> int:
    """How many of these stored chunks come back in the top k when queried with their own vector."""
    found = 0
    stored = store.get(ids)
    for cid in ids:
        if cid not in stored:
            continue
        hits = store.query(stored[cid][1], k, None)
        found += any(h.chunk_id == cid for h in hits) or bool(hits and hits[0].score >= TIE)
    return found


def check_store(app: App, sample: int = 50, seed: int = 0,
                on_wait: Callable[[], None] | None = None) -> DoctorReport:
    """Open the store, compare it with the manifest, and check a sample of chunks (waits for an
    ingest in progress to finish, so that what it compares is not moving)."""
    report = DoctorReport()
    with app.writer_lock(on_wait=on_wait):
        if app.manifest.get_meta("dirty") == "1":
            report.notes.append("the last ingest was interrupted: the next `assistant ingest` "
                                "finishes its cleanup")
        try:
            store = app.store
            ids = store.all_ids()
        except StoreError as exc:
            report.error = str(exc)
            return report
        report.opened = True
        known = app.manifest.chunk_ids()
        report.manifest_chunks, report.store_chunks = len(known), len(ids)
        report.missing, report.extra = len(known - ids), len(ids - known)
        both = sorted(known & ids)
        picked = random.Random(seed).sample(both, min(sample, len(both)))
        report.sampled = len(picked)
        try:
            report.found_self = finds_itself(store, picked) if picked else 0
        except StoreError as exc:
            report.error = str(exc)
    return report


def probe(app: App, sample: int) -> str:
    """'' when the store opens and a sample of its chunks find themselves; else what is wrong."""
    try:
        store = app.store
        store.count()
        known = sorted(app.manifest.chunk_ids())
        picked = random.Random().sample(known, min(sample, len(known)))
        present = sorted(store.get(picked)) if picked else []
        found = finds_itself(store, present) if present else 0
    except StoreDamagedError as exc:
        return str(exc)
    if len(present) - found > max(1, len(present) // 10):
        return f"only {found} of {len(present)} sampled chunks find themselves"
    return ""


def recover(app: App, was_clean: bool) -> list[str]:
    """Before an ingest: rebuild a damaged store; after an interrupted one, make it match the
    manifest again (remove vectors it does not know, restore those it lacks). Returns notes."""
    problem = probe(app, 3 if was_clean else 20)
    if problem:
        n, kept = rebuild_vectors(app)
        where = f"; the damaged files are in {kept}" if kept else ""
        return [f"The store was damaged ({problem}): rebuilt {n} chunks from the manifest and the "
                f"embedding cache{where}"]
    if was_clean and app.store.count() == app.manifest.counts()["chunks"]:
        return []
    removed, restored = reconcile(app)
    if not (removed or restored):
        return []
    return [f"Finished an interrupted ingest: removed {removed} chunk(s) the manifest does not "
            f"know and restored {restored} it lacked"]


def reconcile(app: App) -> tuple[int, int]:
    """Delete store vectors the manifest does not know; re-store manifest chunks the store lacks."""
    store, manifest = app.store, app.manifest
    ids = store.all_ids()
    known = manifest.chunk_ids()
    orphans = sorted(ids - known)
    if orphans:
        store.delete(orphans)
    return len(orphans), _restore(app, known - ids)


def _restore(app: App, ids: set[str] | None) -> int:
    """Store these manifest chunks (None: all) with vectors from the embedding cache."""
    if ids is not None and not ids:
        return 0
    n = 0
    for chunks in app.manifest.chunks(ids):
        app.store.upsert(chunks, app.embedder.embed([c.embed_text for c in chunks]))
        n += len(chunks)
    old = app.manifest.unrestorable()
    if ids is not None:
        old &= {str(r["article_id"]) for r in app.manifest.chunk_rows(sorted(ids)).values()}
    if old:  # written by an older version: the next ingest reads their files again
        app.manifest.forget_articles(old)
    return n


def rebuild_vectors(app: App) -> tuple[int, str]:
    """Replace the vector store by one rebuilt from the manifest and the embedding cache."""
    app.drop_store()
    kept = wipe_store(app.settings)
    return _restore(app, None), kept


def repair_store(app: App, on_wait: Callable[[], None] | None = None) -> str:
    """Rebuild the store from the manifest, then re-read the indexed files that changed."""
    from assistant.indexer import Indexer

    with app.writer_lock(on_wait=on_wait):
        manifest = app.manifest
        if app.settings.chroma_url and manifest.counts()["chunks"] == 0:
            raise StoreError(
                f"Nothing to rebuild the collection from: {app.state_dir} has indexed nothing. "
                "Use the --store folder that built it, or run `assistant ingest PATH`"
            )
        manifest.set_meta("dirty", "1")
        n, kept = rebuild_vectors(app)
        files = [f for f in sorted(manifest.files()) if Path(f).is_file()]
        report = Indexer(app).run(files) if files else None
        manifest.set_meta("dirty", "0")
    where = f" (damaged files kept in {kept})" if kept else ""
    changed = report.articles_indexed if report else 0
    return f"{n} chunks restored from the manifest{where}; {changed} changed article(s) re-read"


def self_retrieval(app: App, sample: int, seed: int = 0) -> tuple[int, int]:
    """(found, sampled): chunks of the manifest that find themselves (for tests and benchmarks)."""
    known = sorted(app.manifest.chunk_ids())
    picked = random.Random(seed).sample(known, min(sample, len(known)))
    return (finds_itself(app.store, picked) if picked else 0), len(picked)
