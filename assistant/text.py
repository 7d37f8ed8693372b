"""The one sentence splitter and word normaliser, shared by ingest, the answerers, citations and eval.

Sentences are verbatim spans (`text[start:end]`), never rewritten: quotes are checked against them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A sentence ends after . ! or ? (and any closing quotes or brackets, and any citation markers
# such as "[1]" that an LLM put after the full stop) when the next one starts with a capital, a
# digit or an opening quote; a line break always ends one.
_END = re.compile(
    r"(?<=[.!?])([\"'”’)\]]*)((?:[ \t]*\[\d+(?:\s*[,;–-]\s*\d+)*\])*)\s+(?=[\"'“‘(\[]?[A-Z0-9])|\n+"
)
ABBREVIATIONS = (
    "Mr", "Mrs", "Ms", "Dr", "St", "Gov", "Sen", "Rep", "Gen", "Lt", "Col", "Sgt", "Jr", "Sr", "Inc",
    "Co", "Corp", "Ltd", "No", "vs", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept",
    "Oct", "Nov", "Dec", "Ft", "Mt", "Prof", "Rev",
)  # fmt: skip
# a full stop after these (or after initials such as "U.S." or "J.") does not end a sentence
_ABBREV = re.compile(r"(?:\b(?:[A-Z]\.){1,3}|\b(?:" + "|".join(ABBREVIATIONS) + r")\.)$")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-]*")
THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)  # a reasoning model's aside
STOP = frozenset((
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "from", "by", "with", "and", "or", "but",
    "is", "are", "was", "were", "be", "been", "being", "has", "have", "had", "do", "does", "did",
    "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "that", "this", "these",
    "those", "it", "its", "as", "into", "about", "than", "then", "there", "their", "they", "them", "he",
    "she", "his", "her", "him", "we", "our", "you", "your", "i", "me", "my", "not", "no", "yes", "will",
    "would", "can", "could", "should", "may", "might", "must", "also", "after", "before", "over",
    "under", "between", "during", "said", "says", "say", "new", "one", "two", "more", "most", "other",
    "some", "any", "all", "such", "only", "just", "so", "if", "up", "out",
))  # fmt: skip


@dataclass(frozen=True)
class Sentence:
    """A sentence of a passage: its verbatim text and its place."""

    text: str
    start: int
    passage_index: int


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every sentence or line of `text`, surrounding whitespace excluded."""
    out: list[tuple[int, int]] = []
    pos = 0
    for m in [*_END.finditer(text), None]:
        closed = (m.start() + len(m.group(1) or "")) if m else len(text)
        end = (closed + len(m.group(2) or "")) if m else len(text)
        if m and "\n" not in m.group(0) and _ABBREV.search(text, max(0, closed - 8), closed):
            continue
        raw = text[pos:end]
        stripped = raw.strip()
        if stripped:
            start = pos + raw.index(stripped)
            out.append((start, start + len(stripped)))
        if m:
            pos = m.end()
    return out


MIN_SENTENCE_CHARS = 20  # shorter pieces are headings, credits and list items, not sentences


def split_sentences(text: str, passage_index: int = 0, min_chars: int = MIN_SENTENCE_CHARS) -> list[Sentence]:
    """Verbatim sentences of `text` of at least `min_chars` characters."""
    return [Sentence(text[a:b], a, passage_index) for a, b in sentence_spans(text)
            if b - a >= min_chars]


def first_sentence(text: str, min_words: int = 4) -> str:
    """The text up to the first sentence end that leaves at least `min_words` words."""
    for _, end in sentence_spans(text):
        if len(text[:end].split()) >= min_words:
            return text[:end].strip()
    return text.strip()


_POSSESSIVE = re.compile(r"['’]s$")


def words(text: str) -> list[str]:
    """Lower-cased word tokens, a possessive's "'s" dropped ("Russia's" -> "russia")."""
    return [_POSSESSIVE.sub("", w.lower()).strip("'’-") for w in _WORD.findall(text)]


def stem(word: str) -> str:
    """A light suffix stripper, enough to match joined/joins/joining."""
    for suffix in ("ings", "ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_terms(text: str) -> set[str]:
    """Stemmed content words (no stop words, no one-letter tokens)."""
    return {stem(w) for w in words(text) if w not in STOP and len(w) > 1}


def name_terms(text: str) -> set[str]:
    """`content_terms` of the lettered parts of words: "COVID-19" -> {"covid"}, "F-35" -> set()
    (what a span says beyond the question is in its letters, not in a number joined to them)."""
    parts = [p for w in words(text) for p in w.split("-")]
    return {stem(p) for p in parts if p not in STOP and len(p) > 1 and not p.isdigit()}
