"""Terminal rendering of answers and reports; every string from articles or models is sanitised."""

from __future__ import annotations

import re
import unicodedata

from assistant.models import Answer, Passage

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]*)[^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)[^)]*\)")


def sanitize(text: str, keep_newlines: bool = True) -> str:
    """Remove terminal escape sequences and control characters (newline and tab kept)."""
    text = _ANSI.sub("", text)
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return text if keep_newlines else text.replace("\n", " ")


def char_cells(ch: str) -> int:
    """Terminal cells one character occupies: wide (CJK) characters two, combining marks none."""
    if unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def cells(text: str) -> int:
    """Terminal cells a text occupies."""
    return sum(char_cells(ch) for ch in text)


def wrap(text: str, width: int | None, hanging: int | None = None) -> str:
    """Each line of `text` wrapped at word boundaries to `width` terminal cells, continuation lines
    indented by `hanging` cells (default: the line's own leading spaces). None: unchanged (piped
    output). A word longer than the line stays whole on a line of its own."""
    if not width:
        return text
    return "\n".join(_wrap_line(line, width, hanging) for line in text.split("\n"))


def _wrap_line(line: str, width: int, hanging: int | None) -> str:
    lead = line[: len(line) - len(line.lstrip(" "))]
    words = line.split()
    if not words or cells(line) <= width:
        return line
    indent = " " * (len(lead) if hanging is None else hanging)
    if cells(indent) >= width // 2:  # too narrow for the indent: no hanging indent
        indent = ""
    rows, row = [], lead + words[0]
    for word in words[1:]:
        if cells(row) + 1 + cells(word) <= width:
            row += " " + word
        else:
            rows.append(row)
            row = indent + word
    rows.append(row)
    return "\n".join(rows)


def strip_offsource_links(text: str, allowed_urls: set[str]) -> str:
    """Markdown images are dropped; links survive only when they point at a cited article."""
    text = _MD_IMAGE.sub(lambda m: f"[image removed: {m.group(1)}]" if m.group(1) else "", text)
    return _MD_LINK.sub(
        lambda m: m.group(0) if m.group(2) in allowed_urls else m.group(1), text
    )


def source_line(n: int | str, title: str, source: str | None, published_at: str | None,
                where: str) -> str:
    """' [1] Title — outlet — published 2024-07-04 — path-or-url'."""
    parts = [sanitize(title, False)]
    if source:
        parts.append(sanitize(source, False))
    parts.append(f"published {published_at}" if published_at else "date unknown")
    parts.append(sanitize(where, False))
    return f" [{n}] " + " — ".join(parts)


def render_sources(answer: Answer, width: int | None = None) -> str:
    """The 'Sources' block: cited articles only (with 'also reported by'); wrapped to `width`
    with each entry's continuation lines under its title."""
    if not answer.citations:
        return ""
    by_n = {p.n: p for p in answer.passages}
    lines = ["", "", "Sources"]
    groups: dict[str, list[int]] = {}
    for c in answer.citations:
        groups.setdefault(c.article_id, []).append(c.n)
    for c in answer.citations:
        numbers = groups.pop(c.article_id, None)
        if numbers is None:
            continue
        label = ", ".join(str(n) for n in dict.fromkeys(numbers))  # quotes of one article share its number
        lines.append(wrap(source_line(label, c.title, c.source, c.published_at, c.path or c.url or ""),
                          width, hanging=len(label) + 4))
        also = sorted({a for n in numbers if n in by_n for a in by_n[n].also_reported_by})
        if also:
            lines.append(wrap("      also reported by " + sanitize(", ".join(also), False), width))
    return "\n".join(lines)


def render_answer(answer: Answer, with_body: bool = True, width: int | None = None) -> str:
    """The answer text (unless already streamed) and its sources, wrapped to `width` terminal
    cells at word boundaries (None: as is, for pipes)."""
    allowed = {c.url for c in answer.citations if c.url}
    body = strip_offsource_links(sanitize(answer.answer), allowed) if with_body else ""
    return (wrap(body, width) + render_sources(answer, width)).strip("\n")


def render_passages(passages: list[Passage], width: int | None = None) -> str:
    """The passages behind an answer (chat /sources), grouped by article: its title once."""
    if not passages:
        return "No passages."
    out: list[str] = []
    shown: set[int] = set()
    for p in sorted(passages, key=lambda p: p.n):
        if p.n not in shown:
            shown.add(p.n)
            out.append(wrap(source_line(p.n, p.title, p.source, p.published_at, p.path or p.url or ""),
                            width, hanging=len(str(p.n)) + 4))
        out.append(wrap("     " + sanitize(p.text, False)[:600], width))
    return "\n".join(out)


def render_warnings(answer: Answer, width: int | None = None) -> list[str]:
    """Warnings and notes for stderr (each wrapped to `width`, continuation lines indented)."""
    out = [wrap(f"warning: {sanitize(w, False)}", width, hanging=9) for w in answer.warnings]
    if answer.rewritten_question:
        out.insert(0, wrap(f"(searched for: {sanitize(answer.rewritten_question, False)})", width, 1))
    if answer.date_window:
        out.insert(0, wrap(f"(looked first at articles from {answer.date_window[0]} to "
                           f"{answer.date_window[1]})", width, 1))
    return out
