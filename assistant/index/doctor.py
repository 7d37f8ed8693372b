"""`assistant doctor`: check the store against the manifest; repair it from the manifest and cache."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import StoreError
from assistant.index.indexer import Indexer
from assistant.index.lock import writer_lock
from assistant.index.parts import IndexParts
from assistant.index.recovery import finds_itself, rebuild_vectors


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


def check_store(parts: IndexParts, sample: int = 50, seed: int = 0,
                on_wait: Callable[[], None] | None = None) -> DoctorReport:
    """Open the store, compare it with the manifest, and check a sample of chunks (waits for an
    ingest in progress to finish, so that what it compares is not moving)."""
    report = DoctorReport()
    with writer_lock(parts.folder, on_wait=on_wait):
        if parts.manifest.get_meta("dirty") == "1":
            report.notes.append("the last ingest was interrupted: the next `assistant ingest` "
                                "finishes its cleanup")
        try:
            store = parts.store
            ids = store.all_ids()
        except StoreError as exc:
            report.error = str(exc)
            return report
        report.opened = True
        known = parts.manifest.chunk_ids()
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


def repair_store(parts: IndexParts, on_wait: Callable[[], None] | None = None) -> str:
    """Rebuild the store from the manifest, then re-read the indexed files that changed."""
    with writer_lock(parts.folder, on_wait=on_wait):
        manifest = parts.manifest
        if parts.settings.chroma_url and manifest.counts()["chunks"] == 0:
            raise StoreError(
                f"Nothing to rebuild the collection from: {parts.folder} has indexed nothing. "
                "Use the --store folder that built it, or run `assistant ingest PATH`"
            )
        manifest.set_meta("dirty", "1")
        n, kept = rebuild_vectors(parts)
        files = [f for f in sorted(manifest.files()) if Path(f).is_file()]
        report = Indexer(parts).run(files) if files else None
        manifest.set_meta("dirty", "0")
    where = f" (damaged files kept in {kept})" if kept else ""
    changed = report.articles_indexed if report else 0
    return f"{n} chunks restored from the manifest{where}; {changed} changed article(s) re-read"


def self_retrieval(parts: IndexParts, sample: int, seed: int = 0) -> tuple[int, int]:
    """(found, sampled): chunks of the manifest that find themselves (for tests and benchmarks)."""
    known = sorted(parts.manifest.chunk_ids())
    picked = random.Random(seed).sample(known, min(sample, len(known)))
    return (finds_itself(parts.store, picked) if picked else 0), len(picked)
