"""JSON and JSON Lines readers: one Article per object (common field names); JSONL is streamed."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from assistant.config import Settings
from assistant.ingest.decode import bom_encoding, clean_text, decode_bytes, looks_binary
from assistant.ingest.readers import file_id, metadata_date, shorten, stable_id, title_from_line
from assistant.ingest.walk import MB, FileSkip, open_regular
from assistant.models import Article, Skipped

TITLE_KEYS = ("title", "headline")
TEXT_KEYS = ("body", "text", "content", "article")
DATE_KEYS = ("published_at", "date", "published", "publish_date", "pubdate", "datepublished")
URL_KEYS = ("url", "link")
SOURCE_KEYS = ("source", "site", "outlet", "publisher", "sitename")
AUTHOR_KEYS = ("author", "byline", "authors")
LIST_KEYS = ("articles", "items", "data", "results")


def _string(value: Any) -> str | None:
    """A display string from a JSON value: strings, {"name": ...} objects, lists of those."""
    if isinstance(value, str):
        return clean_text(value).strip() or None
    if isinstance(value, dict):
        return _string(value.get("name") or value.get("title"))
    if isinstance(value, list):
        names = [name for name in (_string(v) for v in value[:20]) if name]
        return ", ".join(names) or None
    return None


def _pick(fields: dict[str, Any], keys: Iterable[str]) -> Any:
    for key in keys:
        value = fields.get(key)
        if value not in (None, "", [], {}):
            return value
    return None


def _object_id(fields: dict[str, Any], url: str | None, fallback: str) -> str:
    raw = fields.get("id")
    if isinstance(raw, str | int) and not isinstance(raw, bool):
        cleaned = clean_text(str(raw)).strip()
        if cleaned:
            return cleaned
    return stable_id("url", url) if url else fallback


def article_from_object(obj: Any, where: str, shown: str, fallback_id: str) -> Article | Skipped:
    """An Article from one JSON object; `where` names it in a Skipped (file:line)."""
    if not isinstance(obj, dict):
        return Skipped(where, f"not a JSON object (found {type(obj).__name__})")
    fields = {str(k).lower(): v for k, v in obj.items()}
    body = _pick(fields, TEXT_KEYS)
    text = clean_text(body).strip() if isinstance(body, str) else ""
    if not text:
        return Skipped(where, f"no article text (expected a string field: {', '.join(TEXT_KEYS)})")
    url = _pick(fields, URL_KEYS)
    url = clean_text(url).strip() or None if isinstance(url, str) else None
    title = _string(_pick(fields, TITLE_KEYS))
    if not title:
        title = title_from_line(next(line for line in text.split("\n") if line.strip()))
    domain = urlparse(url).hostname if url and "://" in url else None
    return Article(
        id=_object_id(fields, url, fallback_id),
        title=shorten(title),
        source=_string(_pick(fields, SOURCE_KEYS)) or domain,
        url=url,
        author=_string(_pick(fields, AUTHOR_KEYS)),
        published_at=metadata_date(_pick(fields, DATE_KEYS)),
        path=shown,
        text=text,
    )


def read_json(path: Path, shown: str, data: bytes) -> Iterator[Article | Skipped]:
    """A .json file holding one article object or a list of them."""
    text = decode_bytes(data)
    if text is None:
        yield Skipped(shown, "binary file")
        return
    try:
        value = json.loads(text.lstrip("\ufeff"))
    except ValueError as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        yield Skipped(shown, f"invalid JSON{where}: {str(exc).split(':')[0]}")
        return
    except RecursionError:
        yield Skipped(shown, "invalid JSON: nested too deeply")
        return
    if isinstance(value, dict) and not _pick(value, TEXT_KEYS):
        nested = _pick(value, LIST_KEYS)
        value = nested if isinstance(nested, list) else value
    if not isinstance(value, list):
        yield article_from_object(value, shown, shown, file_id(path))
        return
    real = os.path.realpath(path)
    for index, obj in enumerate(value, 1):
        yield article_from_object(obj, f"{shown}:{index}", shown, stable_id(real, str(index)))


def _lines(handle: io.BufferedReader, max_line: int) -> Iterator[bytes | None]:
    """Raw lines; None for a line longer than `max_line` (its bytes are skipped, not kept)."""
    while True:
        line = handle.readline(max_line + 1)
        if not line:
            return
        if len(line) > max_line and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = handle.readline(MB)
            yield None
            continue
        yield line


def _decoded_lines(handle: io.BufferedReader, max_line: int, codec: str) -> Iterator[str | None]:
    if codec != "utf-8":
        for text_line in io.TextIOWrapper(handle, encoding=codec, errors="replace"):
            yield text_line.lstrip("\ufeff")
        return
    for raw in _lines(handle, max_line):
        if raw is None:
            yield None
            continue
        try:
            yield raw.decode("utf-8").lstrip("\ufeff")
        except UnicodeDecodeError:
            yield decode_bytes(raw.rstrip(b"\r\n")) or ""


def _parse_line(line: str, where: str) -> Any:
    try:
        return json.loads(line)
    except ValueError as exc:
        return Skipped(where, f"malformed JSON line: {str(exc).split(':')[0]}")
    except RecursionError:
        return Skipped(where, "malformed JSON line: nested too deeply")


def read_jsonl(path: Path, shown: str, settings: Settings) -> Iterator[Article | Skipped]:
    """A .jsonl file, one article per line, streamed line by line (bounded memory)."""
    try:
        handle = open_regular(path, settings)
    except FileSkip as exc:
        yield Skipped(shown, str(exc))
        return
    real = os.path.realpath(path)
    max_line = int(settings.max_file_mb * MB)
    with handle:
        head = handle.peek(8192)[:8192]
        bom = bom_encoding(head[:4])
        if bom is None and looks_binary(head):
            yield Skipped(shown, "binary file")
            return
        codec = bom[0] if bom else "utf-8"
        for number, line in enumerate(_decoded_lines(handle, max_line, codec), 1):
            where = f"{shown}:{number}"
            if line is None:
                yield Skipped(
                    where, f"line longer than {settings.max_file_mb:g} MB (ASSISTANT_MAX_FILE_MB)"
                )
                continue
            if not line.strip():
                continue
            value = _parse_line(line, where)
            if isinstance(value, Skipped):
                yield value
                continue
            yield article_from_object(value, where, shown, stable_id(real, str(number)))
