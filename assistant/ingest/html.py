"""HTML reader: trafilatura main text and metadata; hidden, script and navigation text removed."""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from assistant.ingest.decode import bom_encoding, clean_text, decode_bytes
from assistant.ingest.readers import file_id, metadata_date, shorten, take_date_lines, title_from_line
from assistant.models import Article, Skipped

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_HIDDEN_CLASSES = {"hidden", "d-none", "hide", "is-hidden", "visually-hidden", "sr-only"}
_DROP_TAGS = ("script", "style", "noscript", "template", "nav", "iframe", "object", "svg")
_DATE_META = {
    "article:published_time", "og:published_time", "og:article:published_time", "published_time",
    "publish-date", "publish_date", "publishdate", "pubdate", "date", "dc.date", "dc.date.issued",
    "dcterms.created", "dcterms.date", "dcterms.issued", "sailthru.date", "parsely-pub-date",
    "datepublished", "citation_publication_date", "citation_date", "article.published",
}  # fmt: skip
_LD_DATE = re.compile(r'"datePublished"\s*:\s*"([^"]{4,40})"')


def decode_html(data: bytes) -> str | None:
    """BOM, then strict UTF-8, then the charset the page declares, then the generic fallback."""
    if bom_encoding(data[:4]) is None:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            declared = _CHARSET.search(data[:4096])
            if declared and b"\x00" not in data:
                try:
                    name = codecs.lookup(declared[1].decode("ascii")).name
                    return data.decode(name, errors="replace")
                except (LookupError, UnicodeDecodeError):
                    pass
    return decode_bytes(data)


def _drop_hidden(tree: Any) -> None:
    """Remove scripts, styles, navigation and text hidden by attribute, class or inline style."""
    doomed = []
    for element in tree.iter():
        if not isinstance(element.tag, str):
            doomed.append(element)  # comments and processing instructions
            continue
        classes = set((element.get("class") or "").lower().split())
        if (
            element.tag.lower() in _DROP_TAGS
            or element.get("hidden") is not None
            or (element.get("aria-hidden") or "").lower() == "true"
            or _HIDDEN_STYLE.search(element.get("style") or "")
            or classes & _HIDDEN_CLASSES
        ):
            doomed.append(element)
    for element in doomed:
        if element.getparent() is not None:
            element.drop_tree()


def _meta_date(tree: Any) -> str | None:
    """The publication date the page states in its metadata (never guessed from the text)."""
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if key in _DATE_META:
            found = metadata_date(meta.get("content"))
            if found:
                return found
    for element in tree.xpath("//*[@itemprop='datePublished'] | //time[@pubdate]"):
        found = metadata_date(element.get("datetime") or element.get("content") or element.text)
        if found:
            return found
    for script in tree.xpath("//script[@type='application/ld+json']"):
        match = _LD_DATE.search(script.text or "")
        if match and metadata_date(match[1]):
            return metadata_date(match[1])
    return None


def _extract(tree: Any) -> Any:
    import trafilatura

    return trafilatura.bare_extraction(
        tree,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )


def _optional(value: object) -> str | None:
    cleaned = clean_text(value).strip() if isinstance(value, str) else ""
    return cleaned or None


def read_html(path: Path, shown: str, data: bytes) -> Article | Skipped:
    """An .html/.htm article (trafilatura never fetches anything: it only gets the parsed tree)."""
    text = decode_html(data)
    if text is None:
        return Skipped(shown, "binary file")
    from trafilatura.utils import load_html

    tree = load_html(text)
    if tree is None:
        return Skipped(shown, "not parseable as HTML")
    stated_date = _meta_date(tree)
    _drop_hidden(tree)
    doc = _extract(tree)
    body = clean_text(getattr(doc, "text", None) or "").strip()
    if not body:
        return Skipped(shown, "no article text found in the HTML")
    lines, line_date = take_date_lines(body.split("\n"))
    body = "\n".join(lines).strip()
    first = next((line for line in lines if line.strip()), "")
    title = clean_text(doc.title or "").strip() or title_from_line(first)
    url = doc.url if isinstance(doc.url, str) and doc.url.startswith("http") else None
    source = doc.sitename or (urlparse(url).hostname if url else None)
    return Article(
        id=file_id(path),
        title=shorten(title),
        source=_optional(source),
        url=url,
        author=_optional(doc.author),
        published_at=stated_date or line_date,
        path=shown,
        text=body,
    )
