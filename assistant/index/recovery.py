"""Crash recovery: find a damaged or half-written store and make it match the manifest again."""

from __future__ import annotations

import random

from assistant.index.parts import IndexParts
from assistant.store.chroma import ChromaStore, StoreDamagedError

TIE = 0.9999  # a hit this similar is the same text (duplicate articles embed identically)


def finds_itself(store: ChromaStore, ids: list[str], k: int = 3) -> int:
    """How many of these stored chunks come back in the top k when queried with their own vector."""
    found = 0
    stored = store.vectors(ids)
    for cid in ids:
        if cid not in stored:
            continue
        hits = store.query(stored[cid], k, None)
        found += any(h.chunk_id == cid for h in hits) or bool(hits and hits[0].score >= TIE)
    return found


def probe(parts: IndexParts, sample: int) -> str:
    """'' when the store opens and a sample of its chunks find themselves; else what is wrong."""
    try:
        store = parts.store
        store.count()
        known = sorted(parts.manifest.chunk_ids())
        picked = random.Random().sample(known, min(sample, len(known)))
        present = sorted(store.vectors(picked)) if picked else []
        found = finds_itself(store, present) if present else 0
    except StoreDamagedError as exc:
        return str(exc)
    if len(present) - found > max(1, len(present) // 10):
        return f"only {found} of {len(present)} sampled chunks find themselves"
    return ""


def recover(parts: IndexParts, was_clean: bool) -> list[str]:
    """Before an ingest: rebuild a damaged store; after an interrupted one, make it match the
    manifest again (remove vectors it does not know, restore those it lacks). Returns notes."""
    problem = probe(parts, 3 if was_clean else 20)
    if problem:
        n, kept = rebuild_vectors(parts)
        where = f"; the damaged files are in {kept}" if kept else ""
        return [f"The store was damaged ({problem}): rebuilt {n} chunks from the manifest and the "
                f"embedding cache{where}"]
    if was_clean and parts.store.count() == parts.manifest.counts()["chunks"]:
        return []
    removed, restored = reconcile(parts)
    if not (removed or restored):
        return []
    return [f"Finished an interrupted ingest: removed {removed} chunk(s) the manifest does not "
            f"know and restored {restored} it lacked"]


def reconcile(parts: IndexParts) -> tuple[int, int]:
    """Delete store vectors the manifest does not know; re-store manifest chunks the store lacks."""
    store, manifest = parts.store, parts.manifest
    ids = store.all_ids()
    known = manifest.chunk_ids()
    orphans = sorted(ids - known)
    if orphans:
        store.delete(orphans)
    return len(orphans), _restore(parts, known - ids)


def _restore(parts: IndexParts, ids: set[str] | None) -> int:
    """Store these manifest chunks (None: all) with vectors from the embedding cache."""
    if ids is not None and not ids:
        return 0
    n = 0
    for chunks in parts.manifest.chunks(ids):
        parts.store.upsert(chunks, parts.embedder.embed([c.embed_text for c in chunks]))
        n += len(chunks)
    old = parts.manifest.unrestorable()
    if ids is not None:
        old &= {str(r["article_id"]) for r in parts.manifest.chunk_rows(sorted(ids)).values()}
    if old:  # written by an older version: the next ingest reads their files again
        parts.manifest.forget_articles(old)
    return n


def rebuild_vectors(parts: IndexParts) -> tuple[int, str]:
    """Replace the vector store by one rebuilt from the manifest and the embedding cache."""
    kept = parts.store.reset()
    return _restore(parts, None), kept
