"""Sentence spans and word features shared by the answerers (verbatim offsets, never rewritten)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_END = re.compile(r"(?<=[.!?])([\"'”’)\]]*)\s+(?=[\"'“‘(\[]?[A-Z0-9])|\n+")
_ABBREV = re.compile(
    r"(?:\b(?:[A-Z]\.){1,3}|\b(?:Mr|Mrs|Ms|Dr|St|Gov|Sen|Rep|Gen|Lt|Col|Sgt|Jr|Sr|Inc|Co|Corp|Ltd"
    r"|No|vs|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|Ft|Mt|Prof|Rev)\.)$"
)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-]*")
STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "from",
        "by",
        "with",
        "and",
        "or",
        "but",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "that",
        "this",
        "these",
        "those",
        "it",
        "its",
        "as",
        "into",
        "about",
        "than",
        "then",
        "there",
        "their",
        "they",
        "them",
        "he",
        "she",
        "his",
        "her",
        "him",
        "we",
        "our",
        "you",
        "your",
        "i",
        "me",
        "my",
        "not",
        "no",
        "yes",
        "will",
        "would",
        "can",
        "could",
        "should",
        "may",
        "might",
        "must",
        "also",
        "after",
        "before",
        "over",
        "under",
        "between",
        "during",
        "said",
        "says",
        "say",
        "new",
        "one",
        "two",
        "more",
        "most",
        "other",
        "some",
        "any",
        "all",
        "such",
        "only",
        "just",
        "so",
        "if",
        "up",
        "out",
    ]
)


@dataclass(frozen=True)
class Sentence:
    """A sentence of a passage: its verbatim text and its place."""

    text: str
    start: int
    passage_index: int


def split_sentences(text: str, passage_index: int = 0, min_chars: int = 20) -> list[Sentence]:
    """Verbatim sentence spans of `text` (each `text[start:start+len] == sentence`)."""
    out: list[Sentence] = []
    pos = 0
    for m in [*_END.finditer(text), None]:
        end = (m.start() + len(m.group(1) or "")) if m else len(text)
        if m and "\n" not in m.group(0) and _ABBREV.search(text, max(0, end - 8), end):
            continue
        raw = text[pos:end]
        stripped = raw.strip()
        if len(stripped) >= min_chars:
            out.append(Sentence(stripped, pos + raw.index(stripped), passage_index))
        if m:
            pos = m.end()
    return out


def words(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return [w.lower().strip("'’-") for w in _WORD.findall(text)]


def stem(word: str) -> str:
    """A light suffix stripper, enough to match joined/joins/joining."""
    for suffix in ("ings", "ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_terms(text: str) -> set[str]:
    """Stemmed content words (no stop words, no one-letter tokens)."""
    return {stem(w) for w in words(text) if w not in STOP and len(w) > 1}
