"""Parsed sentences on disk, keyed by (parser and its version, sha1 of the text): no text is parsed twice."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from assistant.answer.offline.parsed import ParsedDoc
from assistant.sqlite_cache import SqliteCache, text_hash

_SCHEMA = """
CREATE TABLE IF NOT EXISTS parses (
    parser TEXT NOT NULL,
    hash TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (parser, hash)
) WITHOUT ROWID
"""


class ParseCache(SqliteCache):
    """Parsed docs as JSON in one SQLite file (WAL mode): several processes may read and write it."""

    def __init__(self, path: str | Path, timeout: float = 60.0) -> None:
        super().__init__(path, _SCHEMA, "parse cache",
                         "retry; if it persists, delete the file (it is rebuilt by parsing again)", timeout)

    def get_many(self, parser: str, texts: Sequence[str]) -> dict[str, ParsedDoc]:
        """The cached parses among texts, as {text: doc}; a row that does not read back is a miss."""
        by_hash = {text_hash(t): t for t in texts}
        sql = "SELECT hash, doc FROM parses WHERE parser = ? AND hash IN ({marks})"
        found: dict[str, ParsedDoc] = {}
        for key, blob in self.select_in(sql, parser, list(by_hash)):
            try:
                doc = ParsedDoc.from_json(blob)
            except (ValueError, TypeError, KeyError, IndexError):
                continue  # damaged or of another format: parsed again and replaced
            if doc.text == by_hash[key]:
                found[doc.text] = doc
        return found

    def put_many(self, parser: str, docs: Iterable[ParsedDoc]) -> int:
        """Store the docs for `parser` in one transaction; returns how many were written."""
        rows = [(parser, text_hash(d.text), d.to_json()) for d in docs]
        return self.insert("INSERT OR REPLACE INTO parses (parser, hash, doc) VALUES (?, ?, ?)", rows)

    def count(self, parser: str | None = None) -> int:
        """Cached parses, of one parser or of all."""
        if parser is None:
            return int(self.query("SELECT COUNT(*) FROM parses", [])[0][0])
        return int(self.query("SELECT COUNT(*) FROM parses WHERE parser = ?", [parser])[0][0])
