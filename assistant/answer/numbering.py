"""Citations number articles, not chunks: one article, one number, in the order the answer cites them.

Retrieval numbers passages 1..k (the LLM prompt and the checks use those numbers); the answer the
user sees is renumbered here, so that two passages of one article share its number.
"""

from __future__ import annotations

import dataclasses
import re

from assistant.models import Answer, Citation, Passage

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


def article_numbers(text: str, passages: list[Passage], citations: list[Citation]) -> dict[int, int]:
    """Passage number -> article number: cited articles first (by first marker in the text, then
    by citation order), then the other passages' articles in retrieval order."""
    article_of = {p.n: p.article_id for p in passages}
    order: list[str] = []
    cited = [int(n) for m in _MARKER.finditer(text) for n in m.group(1).split(",")]
    for n in [*cited, *(c.n for c in citations), *(p.n for p in passages)]:
        aid = article_of.get(n)
        if aid is not None and aid not in order:
            order.append(aid)
    number = {aid: i + 1 for i, aid in enumerate(order)}
    return {n: number[aid] for n, aid in article_of.items()}


def _renumber_markers(text: str, mapping: dict[int, int]) -> str:
    def fix(m: re.Match[str]) -> str:
        numbers = [mapping.get(int(n), int(n)) for n in m.group(1).split(",")]
        return "[" + ", ".join(str(n) for n in dict.fromkeys(numbers)) + "]"

    return _MARKER.sub(fix, text)


def merge_by_article(passages: list[Passage]) -> list[Passage]:
    """One passage per article, numbered 1..m in retrieval order, its chunks' texts joined in
    retrieval order: what a model is shown, so that [n] means an article and a claim is checked
    against everything retrieved from it."""
    groups: dict[str, list[Passage]] = {}
    for p in passages:
        groups.setdefault(p.article_id, []).append(p)
    merged = []
    for i, parts in enumerate(groups.values(), 1):
        text = "\n\n".join(p.text for p in parts)
        merged.append(dataclasses.replace(parts[0], n=i, text=text, score=max(p.score for p in parts)))
    return merged


def by_article(answer: Answer) -> Answer:
    """The answer with markers, citations and passages numbered by article."""
    if not answer.passages:
        return answer
    mapping = article_numbers(answer.answer, answer.passages, answer.citations)
    citations: list[Citation] = []
    for c in answer.citations:
        moved = dataclasses.replace(c, n=mapping.get(c.n, c.n))
        if moved not in citations:
            citations.append(moved)
    citations.sort(key=lambda c: c.n)
    passages = [dataclasses.replace(p, n=mapping[p.n]) for p in answer.passages]
    return dataclasses.replace(answer, answer=_renumber_markers(answer.answer, mapping),
                               citations=citations, passages=passages)
