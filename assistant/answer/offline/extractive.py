"""The offline answerer: the best one to three verbatim sentences from the passages, each cited."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass

import numpy as np

from assistant.answer.citations import citation_for
from assistant.answer.offline.qtype import cue_type
from assistant.answer.offline.weights import (
    CUE_DATE,
    CUE_NAMES,
    CUE_NUMBER,
    EVIDENCE_SPREAD,
    MAX_EVIDENCE,
    MAX_SENTENCES_PER_PASSAGE,
    NEWEST_TIE,
    RANK_BONUS,
    W_SENTENCE_COSINE,
    W_SENTENCE_WORDS,
)
from assistant.dates import month_pattern, relative_mentions
from assistant.models import NOT_FOUND, Answer, Citation, Passage
from assistant.text import Sentence, content_terms, split_sentences

_NUMBER = re.compile(r"\b\d[\d,.]*\b|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|"
                     r"hundred|thousand|million|billion|dozens?)\b", re.I)
_DATE = re.compile(rf"\b(?:(?:19|20)\d\d|{month_pattern()}|{'|'.join(calendar.day_name)}"
                   r"|yesterday|today|last week)\b")
_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*\b")


@dataclass(frozen=True)
class Scored:
    """A candidate evidence sentence with its score parts."""

    sentence: Sentence
    passage: Passage
    cosine: float
    lexical: float
    score: float


def _cue(qtype: str, sentence: str, q_terms: set[str]) -> float:
    if qtype == "number":
        return CUE_NUMBER if _NUMBER.search(sentence) else 0.0
    if qtype == "when":
        return CUE_DATE if _DATE.search(sentence) else 0.0
    if qtype in ("who", "where"):
        names = {n.lower() for n in _NAME.findall(sentence)} - q_terms
        return CUE_NAMES if len(names) > 1 else 0.0
    return 0.0


def score_sentences(question: str, qvec: np.ndarray, passages: list[Passage],
                    embed: object) -> list[Scored]:
    """Every sentence of every passage, scored against the question (best first)."""
    sentences = [
        s for p_i, p in enumerate(passages)
        for s in split_sentences(p.text, p_i)[:MAX_SENTENCES_PER_PASSAGE]
    ]
    if not sentences:
        return []
    vectors = embed.embed([s.text for s in sentences])  # type: ignore[attr-defined]
    cosines = np.asarray(vectors, dtype=np.float32) @ np.asarray(qvec, dtype=np.float32)
    q_terms = content_terms(question)
    qtype = cue_type(question)
    out: list[Scored] = []
    for s, cos in zip(sentences, cosines, strict=True):
        s_terms = content_terms(s.text)
        lex = len(q_terms & s_terms) / len(q_terms) if q_terms else 0.0
        rank_bonus = RANK_BONUS / (1 + s.passage_index)
        score = (W_SENTENCE_COSINE * float(cos) + W_SENTENCE_WORDS * lex + _cue(qtype, s.text, q_terms)
                 + rank_bonus)
        out.append(Scored(s, passages[s.passage_index], float(cos), lex, score))
    out.sort(key=lambda x: -x.score)
    return out


def pick_evidence(scored: list[Scored], max_sentences: int = MAX_EVIDENCE) -> list[Scored]:
    """The best sentence, newest among near-ties, plus up to two close, non-redundant others."""
    if not scored:
        return []
    best = scored[0]
    ties = [s for s in scored[:8] if s.score >= best.score - NEWEST_TIE]
    best = max(ties, key=lambda s: (s.passage.published_at or "", s.score))
    chosen = [best]
    for cand in scored:
        if len(chosen) >= max_sentences or cand.score < best.score - EVIDENCE_SPREAD:
            break
        if any(cand.sentence.text == c.sentence.text or
               (content_terms(cand.sentence.text) <= content_terms(c.sentence.text))
               for c in chosen):
            continue
        chosen.append(cand)
    return chosen


def compose(question: str, evidence: list[Scored], short: str | None) -> tuple[str, list[Citation]]:
    """Answer text (short answer first, then cited sentences) and its citations."""
    parts: list[str] = [f"{short}." if short else ""]
    citations: list[Citation] = []
    for ev in evidence:
        p = ev.passage
        dated = f" (published {p.published_at})" if p.published_at else ""
        text = ev.sentence.text
        mentions = relative_mentions(text, p.published_at)
        note = "".join(f" ({phrase} = {day})" for phrase, day in mentions)
        parts.append(f"“{text}” [{p.n}]{dated}{note}")
        if all(c.n != p.n for c in citations):
            citations.append(citation_for(p, text))
    return " ".join(x for x in parts if x).strip(), citations


def answer_extractive(question: str, passages: list[Passage], qvec: np.ndarray, embed: object,
                      min_score: float, short_answer: object = None) -> Answer:
    """The offline answer: verbatim, cited sentences, or the not-found sentence."""
    scored = score_sentences(question, qvec, passages, embed)
    if not scored or max(s.cosine for s in scored[:10]) < min_score:
        return Answer(question=question, answer=NOT_FOUND, mode="none", passages=passages)
    evidence = pick_evidence(scored)
    short = short_answer(question, evidence, scored) if callable(short_answer) else None
    text, citations = compose(question, evidence, short)
    return Answer(question=question, answer=text, mode="extractive", citations=citations,
                  passages=passages)
