"""A parsed text without spaCy: the part of its Doc/Span/Token API that spans.py reads, kept as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, overload

FORMAT = 1  # bump when the JSON layout or the meaning of a field changes (old rows become misses)
_STOP, _PUNCT, _SPACE = 1, 2, 4  # flag bits of a token


@dataclass(frozen=True, slots=True)
class _Row:
    """One token's annotations, as the pipeline left them."""

    text: str
    ws: bool  # a space follows the token (spaCy's whitespace_ is one space or nothing)
    lower: str
    lemma: str
    pos: str
    tag: str
    dep: str
    head: int  # the head's index in the doc (its own index for a sentence root)
    ent: str
    flags: int
    idx: int  # character offset in the text


def _slice(length: int, start: int | None, stop: int | None, step: int | None) -> tuple[int, int]:
    """spaCy's util.normalize_slice: clamp into [0, length], never a negative width."""
    if step not in (None, 1):
        raise ValueError("stepped slices are not supported: spans are contiguous")
    start = 0 if start is None else start + length if start < 0 else start
    start = min(length, max(0, start))
    stop = length if stop is None else stop + length if stop < 0 else stop
    return start, min(length, max(start, stop))


class ParsedToken:
    """A view of one token, made afresh on every access and equal by (doc, index), as spaCy's Token.

    spaCy never hands out the same Token object twice (`doc[0] is doc[0]` is False), so neither does
    this: an `is` comparison in the caller behaves the same on both.
    """

    __slots__ = ("doc", "i")

    def __init__(self, doc: ParsedDoc, i: int) -> None:
        self.doc = doc
        self.i = i

    @property
    def _row(self) -> _Row:
        return self.doc._rows[self.i]

    text = property(lambda self: self._row.text)
    lower_ = property(lambda self: self._row.lower)
    lemma_ = property(lambda self: self._row.lemma)
    pos_ = property(lambda self: self._row.pos)
    tag_ = property(lambda self: self._row.tag)
    dep_ = property(lambda self: self._row.dep)
    ent_type_ = property(lambda self: self._row.ent)
    idx = property(lambda self: self._row.idx)
    whitespace_ = property(lambda self: " " if self._row.ws else "")
    is_stop = property(lambda self: bool(self._row.flags & _STOP))
    is_punct = property(lambda self: bool(self._row.flags & _PUNCT))
    is_space = property(lambda self: bool(self._row.flags & _SPACE))

    @property
    def head(self) -> ParsedToken:
        return ParsedToken(self.doc, self._row.head)

    @property
    def children(self) -> Iterator[ParsedToken]:
        """The tokens whose head this is, left to right (spaCy's lefts, then rights)."""
        for j, row in enumerate(self.doc._rows):
            if row.head == self.i and j != self.i:
                yield ParsedToken(self.doc, j)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParsedToken) and other.doc is self.doc and other.i == self.i

    def __hash__(self) -> int:
        return hash((self.doc, self.i))

    def __len__(self) -> int:
        return len(self._row.text)

    def __str__(self) -> str:
        return str(self._row.text)

    __repr__ = __str__


class ParsedSpan:
    """Tokens start..end-1 of a doc, with spaCy's Span.root and Span.text."""

    __slots__ = ("doc", "end", "label_", "start")

    def __init__(self, doc: ParsedDoc, start: int, end: int, label: str = "") -> None:
        self.doc, self.start, self.end, self.label_ = doc, start, end, label

    def __len__(self) -> int:
        return max(0, self.end - self.start)

    def __iter__(self) -> Iterator[ParsedToken]:
        return (ParsedToken(self.doc, i) for i in range(self.start, self.end))

    @overload
    def __getitem__(self, i: int) -> ParsedToken: ...
    @overload
    def __getitem__(self, i: slice) -> ParsedSpan: ...
    def __getitem__(self, i: int | slice) -> ParsedToken | ParsedSpan:
        if isinstance(i, slice):
            start, end = _slice(len(self), i.start, i.stop, i.step)
            return ParsedSpan(self.doc, self.start + start, self.start + end)
        at = self.end + i if i < 0 else self.start + i
        if not self.start <= at < self.end:
            raise IndexError(f"token {i} is outside the span")
        return ParsedToken(self.doc, at)

    @property
    def text(self) -> str:
        """The verbatim text, without the last token's trailing space (as spaCy's Span.text)."""
        rows = self.doc._rows[self.start : self.end]
        return "".join(r.text + (" " if r.ws else "") for r in rows[:-1]) + (rows[-1].text if rows else "")

    @property
    def root(self) -> ParsedToken:
        """spaCy's Span.root: a sentence root inside the span, else the token nearest the root."""
        rows = self.doc._rows
        for i in range(self.start, self.end):
            if rows[i].head == i:
                return ParsedToken(self.doc, i)
        best, root = len(rows), -1
        for i in range(self.start, self.end):
            if self.start <= rows[i].head < self.end:
                continue
            steps = self.doc._steps_to_root(i)
            if steps < best:
                best, root = steps, i
        return self.doc[self.start if root == -1 else root]  # an empty span at the end: IndexError

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__


class ParsedDoc:
    """One parsed text: tokens, named entities and base noun phrases, readable as a spaCy Doc."""

    def __init__(self, rows: list[_Row], ents: list[tuple[int, int, str]],
                 chunks: list[tuple[int, int]]) -> None:
        self._rows = rows
        self._ents = ents
        self._chunks = chunks
        self.text = "".join(r.text + (" " if r.ws else "") for r in rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[ParsedToken]:
        return (ParsedToken(self, i) for i in range(len(self._rows)))

    @overload
    def __getitem__(self, i: int) -> ParsedToken: ...
    @overload
    def __getitem__(self, i: slice) -> ParsedSpan: ...
    def __getitem__(self, i: int | slice) -> ParsedToken | ParsedSpan:
        return ParsedSpan(self, 0, len(self._rows))[i]  # the doc is indexed as its whole span

    @property
    def ents(self) -> tuple[ParsedSpan, ...]:
        return tuple(ParsedSpan(self, s, e, label) for s, e, label in self._ents)

    @property
    def noun_chunks(self) -> Iterator[ParsedSpan]:
        return (ParsedSpan(self, s, e, "NP") for s, e in self._chunks)

    def char_span(self, start_idx: int, end_idx: int, alignment_mode: str = "strict") -> ParsedSpan | None:
        """The tokens covering text[start_idx:end_idx] (spaCy's Doc.char_span, without labels)."""
        start, end = self._token_at(start_idx), self._token_at(end_idx - 1)
        if start < 0 or end < 0:
            return None
        first, last = self._rows[start], self._rows[end]
        if alignment_mode == "strict":
            if start_idx != first.idx or end_idx != last.idx + len(last.text):
                return None
        elif alignment_mode == "contract":
            start += first.idx < start_idx
            end -= end_idx < last.idx + len(last.text)
            if end < start:
                return None
        elif alignment_mode == "expand":
            start += start_idx == first.idx + len(first.text)  # the trailing space is not the token's
        else:
            raise ValueError(f"alignment_mode must be strict, contract or expand, not {alignment_mode!r}")
        return ParsedSpan(self, start, end + 1)

    def _token_at(self, char: int) -> int:
        """The token whose text or trailing space holds the character, or -1 (a binary search)."""
        lo, hi = 0, len(self._rows) - 1
        while lo <= hi:
            mid = (lo + hi) // 2
            row = self._rows[mid]
            if char < row.idx:
                hi = mid - 1
            elif char >= row.idx + len(row.text) + row.ws:
                lo = mid + 1
            else:
                return mid
        return -1

    def _steps_to_root(self, i: int) -> int:
        """Heads followed to the sentence root; a childless punctuation or space token counts as far."""
        rows = self._rows
        if rows[i].flags & (_PUNCT | _SPACE) and not any(r.head == i != j for j, r in enumerate(rows)):
            return len(rows) - 1
        steps = 0
        while rows[i].head != i:
            i = rows[i].head
            steps += 1
            if steps >= len(rows):
                raise RuntimeError("the parse has a cycle: its heads never reach a root")
        return steps

    def to_json(self) -> str:
        """Compact JSON: a row per token (lower only where it is not text.lower()), ents, chunks."""
        toks: list[list[Any]] = []
        for r in self._rows:
            row: list[Any] = [r.text, int(r.ws), r.lemma, r.pos, r.tag, r.dep, r.head, r.ent, r.flags]
            if r.lower != r.text.lower():
                row.append(r.lower)
            toks.append(row)
        data = {"f": FORMAT, "t": toks, "e": self._ents, "c": self._chunks}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ParsedDoc:
        """The doc written by to_json (ValueError when the text is not one)."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("f") != FORMAT:
            raise ValueError("not a parsed doc of this format")
        rows: list[_Row] = []
        idx = 0
        for t in data["t"]:
            text, ws, lemma, pos, tag, dep, head, ent, flags = t[:9]
            lower = t[9] if len(t) > 9 else text.lower()
            rows.append(_Row(text, bool(ws), lower, lemma, pos, tag, dep, int(head), ent, int(flags), idx))
            idx += len(text) + bool(ws)
        return cls(rows, [(int(s), int(e), str(lb)) for s, e, lb in data["e"]],
                   [(int(s), int(e)) for s, e in data["c"]])

    @classmethod
    def from_spacy(cls, doc: Any) -> ParsedDoc:
        """Copy what we read from a spaCy Doc."""
        rows = [_Row(t.text, bool(t.whitespace_), t.lower_, t.lemma_, t.pos_, t.tag_, t.dep_, t.head.i,
                     t.ent_type_, _STOP * t.is_stop | _PUNCT * t.is_punct | _SPACE * t.is_space, t.idx)
                for t in doc]
        return cls(rows, [(e.start, e.end, e.label_) for e in doc.ents],
                   [(c.start, c.end) for c in doc.noun_chunks])
