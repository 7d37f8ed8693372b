"""Ingest: walk the given paths safely, read articles (txt, md, html, json, jsonl), chunk them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from assistant.config import Settings
from assistant.ingest.chunking import chunk_article
from assistant.ingest.decode import clean_text, decode_bytes
from assistant.ingest.walk import FileSkip, article_files, display_path, read_limited
from assistant.models import Article, Skipped

__all__ = ["article_files", "chunk_article", "iter_articles", "read_file"]


def read_file(path: Path, settings: Settings) -> Iterator[Article | Skipped]:
    """The articles of one file (several for JSON lists and JSONL), or why it was skipped."""
    shown = display_path(path)
    ext = path.suffix.lower()
    if ext == ".jsonl":
        from assistant.ingest.jsonfiles import read_jsonl

        yield from read_jsonl(path, shown, settings)
        return
    try:
        data = read_limited(path, settings)
    except FileSkip as exc:
        yield Skipped(shown, str(exc))
        return
    if ext == ".json":
        from assistant.ingest.jsonfiles import read_json

        yield from read_json(path, shown, data)
    elif ext in (".html", ".htm"):
        from assistant.ingest.html import read_html

        yield read_html(path, shown, data)
    else:
        yield _read_text(path, shown, data, markdown=ext in (".md", ".markdown"))


def _read_text(path: Path, shown: str, data: bytes, markdown: bool) -> Article | Skipped:
    from assistant.ingest.readers import read_md, read_txt

    text = decode_bytes(data)
    if text is None:
        return Skipped(shown, "binary file")
    text = clean_text(text)
    return read_md(path, shown, text) if markdown else read_txt(path, shown, text)


def _read_all(files: Iterator[Path | Skipped], settings: Settings) -> Iterator[Article | Skipped]:
    for item in files:
        if isinstance(item, Skipped):
            yield item
        else:
            yield from read_file(item, settings)


def iter_articles(
    paths: Sequence[str | Path] | str | Path, settings: Settings
) -> Iterator[Article | Skipped]:
    """Stream Articles (and Skipped notes) from files and folders; one JSONL line -> one Article.

    Raises InputError immediately when a given path does not exist. Never reads outside `paths`.
    """
    return _read_all(article_files(paths, settings), settings)
