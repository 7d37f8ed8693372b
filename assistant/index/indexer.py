"""Ingest and sync: files -> articles -> chunks -> embeddings -> store, with a manifest and a lock."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.index.parts import IndexParts
from assistant.index.pipeline import Pipeline, StageClock
from assistant.index.recovery import recover
from assistant.models import Article, Chunk, Skipped

FLUSH_CHUNKS = 256  # chunks per batch through the pipeline (one embedding call, one Chroma upsert)
FIRST_FLUSH = 16  # the first batches are smaller (doubling up to FLUSH_CHUNKS): the embedder starts at once


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
    stage_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def articles_indexed(self) -> int:
        return self.articles_new + self.articles_changed

    @property
    def outcome(self) -> str:
        """'complete' (nothing skipped), 'partial' (some files or lines skipped, the rest indexed)
        or 'nothing' (files were found but not one article could be indexed)."""
        if not self.skipped:
            return "complete"
        return "partial" if self.articles_indexed or self.articles_unchanged else "nothing"


Progress = Callable[[int, int, int], None]  # (articles done, estimated total, chunks embedded)


@dataclass
class _Pending:
    article: Article
    file_path: str
    content_hash: str
    chunks: list[Chunk]
    added: int
    is_new: bool
    check_stale: bool  # the store may hold older chunks of this article


@dataclass
class _Batch:
    """Articles on their way through the pipeline, and the files they complete."""

    items: list[_Pending]
    done_files: list[tuple[str, int, int, str | None]]  # path, size, mtime, sha256 of the bytes
    chunks: list[Chunk] = field(default_factory=list)
    vectors: np.ndarray | None = None


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


def _reason(exc: BaseException) -> str:
    """An unexpected exception as a one-line skip reason."""
    text = " ".join(str(exc).split())[:200]
    return f"could not be read ({type(exc).__name__}{': ' + text if text else ''})"


class Indexer:
    """One ingest run; the caller holds the store's writer lock (index/lock.py) while it runs.

    Crash safety: the manifest (SQLite) is the truth. Vectors are stored before the manifest
    records them and deleted after it forgets them, so an interrupted run only leaves vectors the
    manifest does not know; the `dirty` flag makes the next run remove them (recovery.recover).
    A file that fails to read or chunk is skipped whole (a JSONL file: from the failing line on)
    before any of it is queued, so it never leaves part of an article in the store.
    """

    def __init__(self, parts: IndexParts, progress: Progress | None = None) -> None:
        self.parts = parts
        self.manifest = parts.manifest
        self.progress = progress
        self.report = IngestReport()
        self.clock = StageClock()
        self._pending: list[_Pending] = []
        self._done_files: list[tuple[str, int, int, str | None]] = []
        self._n_pending_chunks = 0
        self._queued: set[str] = set()  # article ids queued in this run
        self._articles_done = 0
        self._total = 0
        self._calls_at_start = 0
        self._flush_at = FIRST_FLUSH
        self._pipe: Pipeline[_Batch] | None = None

    def run(self, paths: Sequence[str | Path], prune: bool = False, force: bool = False) -> IngestReport:
        start = time.perf_counter()
        files = self._walk(paths)
        self._calls_at_start = self._embed_calls()
        was_clean = self.manifest.get_meta("dirty") != "1"
        self.manifest.set_meta("dirty", "1")
        self.report.notes.extend(recover(self.parts, was_clean))  # also what rebuilds damaged files
        self._total = estimate_articles(files)
        seen_articles: set[str] = set()
        self._pipe = Pipeline(self._embed, self._store, clock=self.clock)
        try:
            for f in files:
                self._ingest_file(f, force, prune, seen_articles)
                self._commit(self._pipe.stored())
            self._submit()
            self._commit(self._pipe.finish())
        finally:
            self._pipe.close()
        if prune:
            self._prune(files, seen_articles)
        if self.report.articles_indexed or self.report.articles_removed or self.report.notes:
            self.manifest.bump_generation()
        self._build_indexes()
        self.manifest.set_meta("last_ingest", time.strftime("%Y-%m-%dT%H:%M:%S"))
        self.manifest.set_meta("dirty", "0")
        self.report.seconds = time.perf_counter() - start
        self.report.stage_seconds = {k: round(v, 2) for k, v in self.clock.busy.items()}
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
        from assistant.ingest.walk import display_path

        self.report.files_seen += 1
        t0 = time.perf_counter()
        key = str(f.resolve())
        try:
            st = f.stat()
        except OSError as exc:
            self.report.skipped.append(Skipped(display_path(f), _reason(exc)))
            return
        if not force and self._unchanged(f, key, st.st_size, st.st_mtime_ns):
            known = self.manifest.article_ids_for_file(key)
            seen.update(known)
            self.report.files_unchanged += 1
            self.report.articles_unchanged += len(known)
            self._tick(len(known) if f.suffix.lower() == ".jsonl" else 1)
            return
        held = self.manifest.article_ids_for_file(key)
        sha = _sha256_or_none(f)  # before reading: bytes that change during the read differ next time
        read, failed, incomplete = self._read(f, key)
        self.clock.add("read+chunk", time.perf_counter() - t0)
        seen.update(read)
        if failed is not None:
            self.report.skipped.append(failed)
        if incomplete:  # what could not be read keeps its last version (even with --prune), and
            seen.update(held)  # the file is read again next time
        elif prune or held <= read:  # else the file stays "changed" until a prune removes the rest
            self._done_files.append((key, st.st_size, st.st_mtime_ns, sha))

    def _unchanged(self, f: Path, key: str, size: int, mtime_ns: int) -> bool:
        """Same size and mtime as recorded; or only the mtime moved and the bytes are the same
        (a remounted folder): then the new mtime is recorded and nothing is read again."""
        from assistant.index.freshness import same_bytes

        state = self.manifest.file_state(key)
        if state is None:
            return False
        if state == (size, mtime_ns):
            return True
        sha = self.manifest.file_sha256(key)
        if not same_bytes(f, size, state[0], sha):
            return False
        self._done_files.append((key, size, mtime_ns, sha))
        return True

    def _read(self, f: Path, key: str) -> tuple[set[str], Skipped | None, bool]:
        """Read and chunk one file and queue its articles: (ids read, why the file was skipped,
        whether an article of it was skipped). A JSONL file streams: each article is queued as it
        is read, one that fails to chunk is skipped alone, a reader failure skips the rest of the
        file. Any other file is queued only once all of it is read and chunked, or skipped whole."""
        from assistant.ingest import read_file
        from assistant.ingest.walk import display_path

        stream = f.suffix.lower() == ".jsonl"
        staged: list[_Pending] = []
        read: set[str] = set()
        incomplete = False
        items = read_file(f, self.parts.settings)
        while True:
            try:
                item = next(items, None)
            except Exception as exc:  # noqa: BLE001 - the reader failed: the rest is unread
                where = f" after {len(read)} articles" if stream and read else ""
                return (read if stream else set()), Skipped(display_path(f), _reason(exc) + where), True
            if item is None:
                break
            self._tick(1)
            if isinstance(item, Skipped):
                self.report.skipped.append(item)
                continue
            try:
                pending = self._prepare(item, key)
            except Exception as exc:  # noqa: BLE001 - chunking this article failed
                if not stream:
                    return set(), Skipped(display_path(f), _reason(exc)), True
                self.report.skipped.append(Skipped(f"{item.path} (article {item.id})", _reason(exc)))
                incomplete = True
                continue
            read.add(item.id)
            if pending is None:
                continue
            if stream:
                self._queue(pending)
            else:
                staged.append(pending)
        for pending in staged:
            self._queue(pending)
        return read, None, incomplete

    def _prepare(self, article: Article, file_key: str) -> _Pending | None:
        """Chunk a new or changed article (None when unchanged; a Skipped when it has no text)."""
        from assistant.ingest import chunk_article

        digest = article_hash(article)
        old = self.manifest.article_hash(article.id)
        if old == digest:
            self.report.articles_unchanged += 1
            return None
        s = self.parts.settings
        chunks = chunk_article(article, s.chunk_tokens, s.chunk_overlap)
        if not chunks:
            self.report.skipped.append(Skipped(article.path, "no text to index"))
            return None
        old_ids = self.manifest.chunk_ids(article.id) if old is not None else set()
        added = len({c.id for c in chunks} - old_ids)
        return _Pending(article, file_key, digest, chunks, added, is_new=old is None,
                        check_stale=old is not None or article.id in self._queued)

    def _queue(self, p: _Pending) -> None:
        if p.is_new:
            self.report.articles_new += 1
        else:
            self.report.articles_changed += 1
        self._queued.add(p.article.id)
        self._pending.append(p)
        self._n_pending_chunks += len(p.chunks)
        if self._n_pending_chunks >= self._flush_at:
            self._flush_at = min(FLUSH_CHUNKS, self._flush_at * 2)
            self._submit()

    def _submit(self) -> None:
        """Send the pending articles (and the files they complete) down the pipeline."""
        if not (self._pending or self._done_files) or self._pipe is None:
            return
        batch = _Batch(self._pending, self._done_files)
        self._pending, self._done_files, self._n_pending_chunks = [], [], 0
        self._pipe.put(batch)
        self._commit(self._pipe.stored())  # also inside a long file (one JSONL holds a corpus)

    def _embed(self, batch: _Batch) -> None:
        """Pipeline stage (embedding thread). Every chunk of a new or changed article is stored
        again (unchanged texts come from the embedding cache), so the store's metadata always
        matches the manifest."""
        batch.chunks = list({c.id: c for p in batch.items for c in p.chunks}.values())
        if batch.chunks:
            batch.vectors = self.parts.embedder.embed([c.embed_text for c in batch.chunks])

    def _store(self, batch: _Batch) -> None:
        """Pipeline stage (store thread): the vectors go into Chroma before the manifest knows them."""
        if batch.chunks and batch.vectors is not None:
            self.parts.store.upsert(batch.chunks, batch.vectors)

    def _commit(self, batches: list[_Batch]) -> None:
        """Record stored batches in the manifest, then delete vectors it no longer has."""
        for batch in batches:
            t0 = time.perf_counter()
            with self.manifest.transaction():
                for p in batch.items:
                    self.manifest.put_article(p.article, p.file_path, p.content_hash, p.chunks)
                for key, size, mtime, sha in batch.done_files:
                    self.manifest.set_file_state(key, size, mtime, sha)
            touched = {p.article.id for p in batch.items if p.check_stale}
            stale = sorted(self.parts.store.ids_for_articles(touched)
                           - self.manifest.chunk_ids_for(touched)) if touched else []
            if stale:
                self.parts.store.delete(stale)
            self.report.chunks_added += sum(p.added for p in batch.items)
            self.report.chunks_removed += len(stale)
            self.report.embedded = self._embed_calls() - self._calls_at_start
            self.clock.add("manifest", time.perf_counter() - t0)

    def _build_indexes(self) -> None:
        """Build the BM25 and dense indexes now (once, at the end) rather than on the first question."""
        from assistant.store.lexical import ensure_lexical
        from assistant.store.vectors import ensure_vectors

        t0 = time.perf_counter()
        ensure_lexical(self.manifest, self.parts.lexical_folder)
        t1 = time.perf_counter()
        ensure_vectors(self.manifest, self.parts.store, self.parts.vectors_folder)
        self.clock.add("bm25", t1 - t0)
        self.clock.add("vector index", time.perf_counter() - t1)

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


def _sha256_or_none(f: Path) -> str | None:
    from assistant.index.freshness import file_sha256

    try:
        return file_sha256(f)
    except OSError:  # vanished since it was read: the next ingest reads it again
        return None
