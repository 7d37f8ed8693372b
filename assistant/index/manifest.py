"""The manifest: what is indexed (files, articles, chunk texts) in one SQLite file beside the store."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assistant.dates import day_number
from assistant.models import Article, Chunk

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
  path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, sha256 TEXT);
CREATE TABLE IF NOT EXISTS articles (
  article_id TEXT PRIMARY KEY, file_path TEXT NOT NULL, content_hash TEXT NOT NULL,
  title TEXT, source TEXT, url TEXT, published_at TEXT, path TEXT);
CREATE INDEX IF NOT EXISTS articles_file ON articles(file_path);
CREATE TABLE IF NOT EXISTS chunks (
  chunk_id TEXT PRIMARY KEY, article_id TEXT NOT NULL, idx INTEGER NOT NULL, text TEXT NOT NULL,
  title TEXT, source TEXT, url TEXT, author TEXT, path TEXT, published_at TEXT,
  published_day INTEGER NOT NULL, embed_prefix TEXT);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
"""
CHUNK_COLS = ("chunk_id", "article_id", "idx", "text", "title", "source", "url", "author", "path",
              "published_at", "published_day", "embed_prefix")


class Manifest:
    """SQLite (WAL) record of indexed files, articles and chunks; the source of truth for sync."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(str(path), timeout=60, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        cols = {str(r[1]) for r in self.db.execute("PRAGMA table_info(chunks)")}
        if "embed_prefix" not in cols:  # manifests written before the prefix was recorded
            self.db.execute("ALTER TABLE chunks ADD COLUMN embed_prefix TEXT")
        if "sha256" not in {str(r[1]) for r in self.db.execute("PRAGMA table_info(files)")}:
            self.db.execute("ALTER TABLE files ADD COLUMN sha256 TEXT")  # older manifests: NULL

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- meta -----------------------------------------------------------------------------
    def get_meta(self, key: str, default: str = "") -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return str(row[0]) if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def generation(self) -> int:
        return int(self.get_meta("generation", "0"))

    def bump_generation(self) -> None:
        self.set_meta("generation", str(self.generation() + 1))

    def state_id(self) -> str:
        """A random id of this manifest, recorded in the collection it indexes."""
        if found := self.get_meta("state"):
            return found
        self.db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('state', ?)",
                        (uuid.uuid4().hex,))
        return self.get_meta("state")

    # -- files ----------------------------------------------------------------------------
    def file_state(self, path: str) -> tuple[int, int] | None:
        row = self.db.execute("SELECT size, mtime_ns FROM files WHERE path=?", (path,)).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def file_sha256(self, path: str) -> str | None:
        """The sha256 of the file's bytes when it was last read (None: not recorded)."""
        row = self.db.execute("SELECT sha256 FROM files WHERE path=?", (path,)).fetchone()
        return str(row[0]) if row and row[0] else None

    def set_file_state(self, path: str, size: int, mtime_ns: int, sha256: str | None = None) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO files(path, size, mtime_ns, sha256) VALUES (?, ?, ?, ?)",
            (path, size, mtime_ns, sha256),
        )

    def files(self) -> dict[str, tuple[int, int]]:
        rows = self.db.execute("SELECT path, size, mtime_ns FROM files").fetchall()
        return {str(p): (int(s), int(m)) for p, s, m in rows}

    def file_digests(self) -> dict[str, tuple[int, int, str | None]]:
        """path -> (size, mtime_ns, sha256 or None) of every indexed file."""
        rows = self.db.execute("SELECT path, size, mtime_ns, sha256 FROM files").fetchall()
        return {str(p): (int(s), int(m), str(h) if h else None) for p, s, m, h in rows}

    def forget_file(self, path: str) -> None:
        self.db.execute("DELETE FROM files WHERE path=?", (path,))

    # -- articles and chunks --------------------------------------------------------------
    def article_hash(self, article_id: str) -> str | None:
        row = self.db.execute(
            "SELECT content_hash FROM articles WHERE article_id=?", (article_id,)
        ).fetchone()
        return str(row[0]) if row else None

    def article_ids_for_file(self, file_path: str) -> set[str]:
        rows = self.db.execute("SELECT article_id FROM articles WHERE file_path=?", (file_path,))
        return {str(r[0]) for r in rows}

    def article_files(self) -> dict[str, str]:
        rows = self.db.execute("SELECT article_id, file_path FROM articles").fetchall()
        return {str(a): str(f) for a, f in rows}

    def chunk_ids(self, article_id: str | None = None) -> set[str]:
        if article_id is None:
            rows = self.db.execute("SELECT chunk_id FROM chunks")
        else:
            rows = self.db.execute("SELECT chunk_id FROM chunks WHERE article_id=?", (article_id,))
        return {str(r[0]) for r in rows}

    def chunk_ids_for(self, article_ids: Iterable[str]) -> set[str]:
        """Chunk ids of these articles."""
        wanted = sorted(set(article_ids))
        out: set[str] = set()
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            marks = ",".join("?" * len(part))
            rows = self.db.execute(f"SELECT chunk_id FROM chunks WHERE article_id IN ({marks})", part)
            out.update(str(r[0]) for r in rows)
        return out

    def put_article(self, article: Article, file_path: str, content_hash: str,
                    chunks: Sequence[Chunk]) -> None:
        """Replace an article's row and chunk rows (call inside a transaction)."""
        self.db.execute("DELETE FROM chunks WHERE article_id=?", (article.id,))
        self.db.execute(
            "INSERT OR REPLACE INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (article.id, file_path, content_hash, article.title, article.source, article.url,
             article.published_at, article.path),
        )
        self.db.executemany(
            f"INSERT OR REPLACE INTO chunks ({', '.join(CHUNK_COLS)}) "
            f"VALUES ({', '.join('?' * len(CHUNK_COLS))})",
            [
                (c.id, c.article_id, c.index, c.text, c.title, c.source, c.url, c.author, c.path,
                 c.published_at, day_number(c.published_at), _prefix(c))
                for c in chunks
            ],
        )

    def remove_articles(self, article_ids: Iterable[str]) -> None:
        for aid in article_ids:
            self.db.execute("DELETE FROM chunks WHERE article_id=?", (aid,))
            self.db.execute("DELETE FROM articles WHERE article_id=?", (aid,))

    def counts(self) -> dict[str, int]:
        return {
            t: int(self.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])
            for t in ("files", "articles", "chunks")
        }

    def iter_chunks(self, batch: int = 2000) -> Iterator[list[tuple[Any, ...]]]:
        """(chunk_id, article_id, text, title, source, published_day) rows, in stable id order."""
        cur = self.db.execute(
            "SELECT chunk_id, article_id, text, title, source, published_day FROM chunks "
            "ORDER BY chunk_id"
        )
        while rows := cur.fetchmany(batch):
            yield rows

    def sources(self) -> list[str]:
        """Every outlet that has indexed chunks."""
        rows = self.db.execute("SELECT DISTINCT source FROM chunks WHERE source IS NOT NULL AND source != ''")
        return sorted(str(r[0]) for r in rows)

    def _rows_where(self, column: str, values: Sequence[str], also: str = "") -> Iterator[dict[str, Any]]:
        """Full chunk rows whose `column` is one of `values` (and `also`, an extra SQL condition)."""
        for start in range(0, len(values), 500):
            part = list(values[start : start + 500])
            marks = ",".join("?" * len(part))
            sql = f"SELECT {', '.join(CHUNK_COLS)} FROM chunks WHERE {column} IN ({marks}){also}"
            for row in self.db.execute(sql, part):
                yield dict(zip(CHUNK_COLS, row, strict=True))

    def chunk_rows(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Full rows for the given chunk ids."""
        return {str(r["chunk_id"]): r for r in self._rows_where("chunk_id", ids)}

    def lead_rows(self, article_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Full rows of the first chunk of each given article, by article id."""
        return {str(r["article_id"]): r for r in self._rows_where("article_id", article_ids, " AND idx = 0")}

    def chunks(self, ids: Iterable[str] | None = None, batch: int = 512) -> Iterator[list[Chunk]]:
        """Indexed chunks as Chunk objects (to re-store them), in batches; ids=None: all of them.

        Rows written before the embedded text was recorded are left out (see `unrestorable`).
        """
        sql = f"SELECT {', '.join(CHUNK_COLS)} FROM chunks WHERE embed_prefix IS NOT NULL"
        if ids is None:
            cur = self.db.execute(sql + " ORDER BY chunk_id")
            while rows := cur.fetchmany(batch):
                yield [_chunk(r) for r in rows]
            return
        wanted = sorted(set(ids))
        for start in range(0, len(wanted), batch):
            part = wanted[start : start + batch]
            marks = ",".join("?" * len(part))
            rows = self.db.execute(sql + f" AND chunk_id IN ({marks})", part).fetchall()
            if rows:
                yield [_chunk(r) for r in rows]

    def unrestorable(self) -> set[str]:
        """Articles whose chunk rows lack the embedded text (written by an older version)."""
        rows = self.db.execute("SELECT DISTINCT article_id FROM chunks WHERE embed_prefix IS NULL")
        return {str(r[0]) for r in rows}

    def forget_articles(self, article_ids: Iterable[str]) -> None:
        """Remove articles and the file states of their files, so the next ingest reads them again."""
        ids = sorted(set(article_ids))
        files = {f for a, f in self.article_files().items() if a in set(ids)}
        with self.transaction():
            self.remove_articles(ids)
            for f in files:
                self.forget_file(f)


def _prefix(c: Chunk) -> str | None:
    """What the embedder saw before the chunk text (header and blank line)."""
    return c.embed_text[: len(c.embed_text) - len(c.text)] if c.embed_text.endswith(c.text) else None


def _chunk(row: Sequence[Any]) -> Chunk:
    r = dict(zip(CHUNK_COLS, row, strict=True))
    return Chunk(id=r["chunk_id"], article_id=r["article_id"], index=int(r["idx"]), text=r["text"],
                 embed_text=f"{r['embed_prefix']}{r['text']}", title=r["title"] or "",
                 source=r["source"], url=r["url"], author=r["author"], path=r["path"] or "",
                 published_at=r["published_at"])
