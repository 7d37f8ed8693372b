"""Plain-text and Markdown readers, plus the shared helpers: dates, titles, ids, metadata lines."""

from __future__ import annotations

import hashlib
import os
import re
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from assistant.dates import MONTHS, month_pattern
from assistant.models import Article, Skipped
from assistant.text import first_sentence

_MONTH = rf"({month_pattern(abbreviated=True)})\.?"
_ISO = re.compile(r"\b(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?![\d])")
_MDY = re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I)
_DMY = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+(\d{{4}})\b", re.I)
_DATE_LINE = re.compile(
    r"^[\s*_]*(?P<key>published|updated|last updated|posted|date|first published"
    r"|originally published|publication date|published date)(?:\s+on)?[\s*_]*[:\-–—]?\s*"
    r"(?P<value>.{4,80}?)\s*$",
    re.I,
)
_META_LINE = re.compile(r"^(?P<key>title|source|url|author|by)\s*:\s*(?P<value>\S.{0,300})$", re.I)
TITLE_MAX = 300
# a title taken from the text itself: about a long headline's length (news headlines run 60-100)
TEXT_TITLE_MAX = 100


def stable_id(*parts: str) -> str:
    """16 hex chars of sha1 over the parts (resolved path, url, ...)."""
    return hashlib.sha1("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def file_id(path: str | Path) -> str:
    """Stable article id of a file: from its resolved absolute path."""
    return stable_id(os.path.realpath(path))


def _valid(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat() if 1800 <= year <= 2200 else None
    except ValueError:
        return None


def _from_number(value: float) -> str | None:
    seconds = value / 1000 if value > 1e11 else value  # epoch milliseconds
    if not 0 < seconds < 7.3e9:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC).date().isoformat()


def metadata_date(value: object) -> str | None:
    """YYYY-MM-DD from ISO dates/datetimes, 'July 4, 2024', '4 July 2024', RFC 2822; else None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _from_number(float(value))
    text = str(value).strip()[:120]
    if not text:
        return None
    match = _ISO.search(text)
    if match:
        return _valid(int(match[1]), int(match[2]), int(match[3]))
    match = _MDY.search(text)
    if match:
        return _valid(int(match[3]), MONTHS[match[1][:3].lower()], int(match[2]))
    match = _DMY.search(text)
    if match:
        return _valid(int(match[3]), MONTHS[match[2][:3].lower()], int(match[1]))
    try:
        return parsedate_to_datetime(text).date().isoformat()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def shorten(text: str, limit: int = TITLE_MAX) -> str:
    """`text` cut at a word boundary to at most `limit` characters (with an ellipsis)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] or text[: limit - 1]
    return cut.rstrip(" ,;:") + "…"


def title_from_line(line: str) -> str:
    """A title from a first line: the line itself, or its first sentence when it is a paragraph,
    cut to TEXT_TITLE_MAX characters (a sentence of text is no headline: Sources show a readable
    start of it with an ellipsis)."""
    line = line.strip()
    if len(line.split()) > 20 or len(line) > 150:
        line = first_sentence(line)
    return shorten(line, TEXT_TITLE_MAX)


def take_date_lines(lines: list[str]) -> tuple[list[str], str | None]:
    """Remove 'Published: ...'/'Updated: ...' lines; the publication date (else the update date)."""
    kept: list[str] = []
    published: str | None = None
    updated: str | None = None
    for line in lines:
        match = _DATE_LINE.match(line) if len(line) <= 120 else None
        found = metadata_date(match["value"]) if match else None
        if match is None or found is None:
            kept.append(line)
        elif "updated" in match["key"].lower():
            updated = updated or found
        else:
            published = published or found
    return kept, published or updated


def _take_meta(lines: list[str], meta: dict[str, str], reverse: bool) -> list[str]:
    """Strip a block of 'Key: value' lines (title/source/url/author) from one end of `lines`."""
    order = list(reversed(lines)) if reverse else list(lines)
    while order and (not order[0].strip() or _META_LINE.match(order[0].strip())):
        match = _META_LINE.match(order.pop(0).strip())
        if match:
            key = "author" if match["key"].lower() == "by" else match["key"].lower()
            meta.setdefault(key, match["value"].strip())
    return list(reversed(order)) if reverse else order


def _article(
    path: Path, shown: str, title: str, body: str, meta: dict[str, str | None]
) -> Article | Skipped:
    body = body.strip()
    title = shorten(title)
    if not body or not title:
        return Skipped(shown, "no text")
    return Article(
        id=file_id(path),
        title=title,
        source=meta.get("source") or None,
        url=meta.get("url") or None,
        author=meta.get("author") or None,
        published_at=meta.get("date"),
        path=shown,
        text=body,
    )


def read_txt(path: Path, shown: str, text: str) -> Article | Skipped:
    """A .txt article: the first line (or its first sentence) is the title; dates are metadata."""
    meta: dict[str, str] = {}
    lines, published = take_date_lines(text.split("\n"))
    lines = _take_meta(_take_meta(lines, meta, False), meta, True)
    body = "\n".join(lines).strip()
    first = next((line for line in lines if line.strip()), "")
    title = meta.get("title") or title_from_line(first)
    return _article(path, shown, title, body, {**meta, "date": published})


_FRONT = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(.*?)\s*$")
_H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.M)
_MD_KEYS = {
    "title": "title", "headline": "title", "date": "date", "published": "date",
    "published_at": "date", "pubdate": "date", "source": "source", "site": "source",
    "publisher": "source", "url": "url", "link": "url", "author": "author", "authors": "author",
    "byline": "author",
}  # fmt: skip


def front_matter(text: str) -> tuple[dict[str, str], str]:
    """Tiny YAML-ish front matter parser: `key: value` lines between --- fences."""
    match = _FRONT.match(text)
    if not match:
        return {}, text
    meta: dict[str, str] = {}
    for line in match[1].split("\n"):
        kv = _KEY.match(line)
        if kv and kv[1].lower() in _MD_KEYS and kv[2]:
            value = kv[2].strip().strip("[]").strip().strip("\"'").strip()
            meta.setdefault(_MD_KEYS[kv[1].lower()], value)
    return meta, text[match.end() :]


def read_md(path: Path, shown: str, text: str) -> Article | Skipped:
    """A Markdown article: front matter, else the first '# heading', else the first line."""
    meta, body = front_matter(text)
    lines, published = take_date_lines(body.split("\n"))
    body = "\n".join(lines).strip()
    title = meta.get("title")
    if not title:
        heading = _H1.search(body)
        first = next((line for line in lines if line.strip()), "")
        title = heading[1] if heading else title_from_line(first.lstrip("#").strip())
    date_value = metadata_date(meta["date"]) if meta.get("date") else published
    return _article(path, shown, title, body, {**meta, "date": date_value})
