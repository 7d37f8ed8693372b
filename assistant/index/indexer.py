"""Ingest and sync: files -> articles -> chunks -> embeddings -> store, with a manifest and a lock."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.index.parts import IndexParts
from assistant.index.recovery import recover
from assistant.models import Article, Chunk, Skipped

FLUSH_CHUNKS = 256


@dataclass
class IngestReport:
    """What an ingest did; rendered by the CLI and checked by tests and benchmarks."""

    files_seen: int = 0
    files_unchanged: int = 0
    articles_new: int = 0
    articles_changed: int = 0
    articles_unchanged: int = 0
    articles_removed: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    embedded: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def articles_indexed(self) -> int:
        return self.articles_new + self.articles_changed


Progress = Callable[[int, int, int], None]  # (articles done, estimated total, chunks embedded)


@dataclass
class _Pending:
    article: Article
    file_path: str
    content_hash: str
    chunks: list[Chunk]
    added: int


def article_hash(a: Article) -> str:
    """A hash of everything indexed about an article."""
    h = hashlib.sha1()
    for part in (a.title, a.published_at, a.source, a.url, a.author, a.path, a.text):
        h.update((part or "").encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


def estimate_articles(files: Sequence[Path]) -> int:
    """Articles to expect: one per file, or one per non-empty line of a .jsonl file."""
    total = 0
    for f in files:
        if f.suffix.lower() == ".jsonl":
            with f.open("rb") as fh:
                total += sum(1 for line in fh if line.strip())
        else:
            total += 1
    return total


class Indexer:
    """One ingest run; the caller holds the store's writer lock (index/lock.py) while it runs.

    Crash safety: the manifest (SQLite) is the truth. Vectors are stored before the manifest
    records them and deleted after it forgets them, so an interrupted run only leaves vectors the
    manifest does not know; the `dirty` flag makes the next run remove them (recovery.recover).
    """

    def __init__(self, parts: IndexParts, progress: Progress | None = None) -> None:
        self.parts = parts
        self.manifest = parts.manifest
        self.progress = progress
        self.report = IngestReport()
        self._pending: list[_Pending] = []
        self._done_files: list[tuple[str, int, int]] = []
        self._n_pending_chunks = 0
        self._articles_done = 0
        self._total = 0
        self._calls_at_start = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        self._inflight: tuple[Future[np.ndarray], list[_Pending], list[Chunk],
                              list[tuple[str, int, int]]] | None = None

    def run(self, paths: Sequence[str | Path], prune: bool = False, force: bool = False) -> IngestReport:
        start = time.perf_counter()
        files = self._walk(paths)
        try:
            self._calls_at_start = self._embed_calls()
            was_clean = self.manifest.get_meta("dirty") != "1"
            self.manifest.set_meta("dirty", "1")
            self.report.notes.extend(recover(self.parts, was_clean))
            self._total = estimate_articles(files)
            seen_articles: set[str] = set()
            for f in files:
                self._ingest_file(f, force, prune, seen_articles)
            self._flush(final=True)
            if prune:
                self._prune(files, seen_articles)
            if self.report.articles_indexed or self.report.articles_removed or self.report.notes:
                self.manifest.bump_generation()
            self.manifest.set_meta("last_ingest", time.strftime("%Y-%m-%dT%H:%M:%S"))
            self.manifest.set_meta("dirty", "0")
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self.report.seconds = time.perf_counter() - start
        return self.report

    def _walk(self, paths: Sequence[str | Path]) -> list[Path]:
        from assistant.ingest import article_files

        files: list[Path] = []
        for item in article_files(paths, self.parts.settings):
            if isinstance(item, Skipped):
                self.report.skipped.append(item)
            else:
                files.append(item)
        return files

    def _embed_calls(self) -> int:
        return int(getattr(self.parts.embedder, "calls", 0))

    def _ingest_file(self, f: Path, force: bool, prune: bool, seen: set[str]) -> None:
        from assistant.ingest import read_file

        self.report.files_seen += 1
        key = str(f.resolve())
        st = f.stat()
        if not force and self.manifest.file_state(key) == (st.st_size, st.st_mtime_ns):
            known = self.manifest.article_ids_for_file(key)
            seen.update(known)
            self.report.files_unchanged += 1
            self.report.articles_unchanged += len(known)
            self._tick(len(known) if f.suffix.lower() == ".jsonl" else 1)
            return
        held = self.manifest.article_ids_for_file(key)
        read: set[str] = set()
        for item in read_file(f, self.parts.settings):
            if isinstance(item, Skipped):
                self.report.skipped.append(item)
                self._tick(1)
                continue
            read.add(item.id)
            self._add_article(item, key)
            self._tick(1)
        seen.update(read)
        if prune or held <= read:  # else the file stays "changed" until a prune removes the rest
            self._done_files.append((key, st.st_size, st.st_mtime_ns))

    def _add_article(self, article: Article, file_key: str) -> None:
        from assistant.ingest import chunk_article

        digest = article_hash(article)
        old = self.manifest.article_hash(article.id)
        if old == digest:
            self.report.articles_unchanged += 1
            return
        s = self.parts.settings
        chunks = chunk_article(article, s.chunk_tokens, s.chunk_overlap)
        if not chunks:
            self.report.skipped.append(Skipped(article.path, "no text to index"))
            return
        old_ids = self.manifest.chunk_ids(article.id) if old is not None else set()
        if old is None:
            self.report.articles_new += 1
        else:
            self.report.articles_changed += 1
        added = len({c.id for c in chunks} - old_ids)
        self._pending.append(_Pending(article, file_key, digest, chunks, added))
        self._n_pending_chunks += len(chunks)
        if self._n_pending_chunks >= FLUSH_CHUNKS:
            self._flush()

    def _flush(self, final: bool = False) -> None:
        """Embed the pending batch in the background; store the previous batch meanwhile.

        Every chunk of a new or changed article is stored again (unchanged texts come from the
        embedding cache), so the store's metadata always matches the manifest.
        """
        batch, self._pending = self._pending, []
        done_files, self._done_files = self._done_files, []
        self._n_pending_chunks = 0
        todo = list({c.id: c for p in batch for c in p.chunks}.values())
        future = self._pool.submit(self._embed, todo)
        self._commit_inflight()
        self._inflight = (future, batch, todo, done_files)
        if final:
            self._commit_inflight()

    def _embed(self, chunks: list[Chunk]) -> np.ndarray:
        if not chunks:
            return np.zeros((0, self.parts.embedder.dim), dtype=np.float32)
        return self.parts.embedder.embed([c.embed_text for c in chunks])

    def _commit_inflight(self) -> None:
        """Store vectors, then record them in the manifest, then delete what it no longer has."""
        if self._inflight is None:
            return
        future, batch, todo, done_files = self._inflight
        self._inflight = None
        vectors = future.result()
        if todo:
            self.parts.store.upsert(todo, vectors)
        with self.manifest.transaction():
            for p in batch:
                self.manifest.put_article(p.article, p.file_path, p.content_hash, p.chunks)
            for key, size, mtime in done_files:
                self.manifest.set_file_state(key, size, mtime)
        touched = {p.article.id for p in batch}
        stale = sorted(self.parts.store.ids_for_articles(touched) - self.manifest.chunk_ids_for(touched)
                       ) if touched else []
        if stale:
            self.parts.store.delete(stale)
        self.report.chunks_added += sum(p.added for p in batch)
        self.report.chunks_removed += len(stale)
        self.report.embedded = self._embed_calls() - self._calls_at_start

    def _prune(self, files: Sequence[Path], seen: set[str]) -> None:
        """Remove articles whose file is gone, or whose re-read file no longer holds them."""
        walked = {str(f.resolve()) for f in files}
        gone: list[str] = []
        for aid, fpath in self.manifest.article_files().items():
            if aid in seen:
                continue
            if not Path(fpath).exists() or fpath in walked:
                gone.append(aid)
        ids = self.manifest.chunk_ids_for(gone)
        with self.manifest.transaction():
            self.manifest.remove_articles(gone)
            for fpath in list(self.manifest.files()):
                if not Path(fpath).exists():
                    self.manifest.forget_file(fpath)
        if gone:
            ids |= self.parts.store.ids_for_articles(gone)
            self.parts.store.delete(sorted(ids))
        self.report.articles_removed += len(gone)
        self.report.chunks_removed += len(ids)

    def _tick(self, n: int) -> None:
        self._articles_done += n
        if self.progress:
            self.progress(self._articles_done, max(self._total, self._articles_done),
                          self.report.embedded)
