"""Answerability: how sure the offline answer is, from the evidence a careful reader would weigh.

The signals (each 0..1): does the best evidence sentence carry the question's rare words
(weighted by how rare they are in the whole index), do the passages name what the question names,
does the sentence hold something of the expected answer type, how far ahead of the other articles'
best sentences it is, whether other articles agree, the cosine the embedder sees, and how much
older its report is than the newest report found (a question that names no date asks about the
news of its day: when the closest report is months older, the folder likely lacks that news). A logistic
model over them (weights in weights.py, fitted by benchmarks/fit_confidence.py) gives `confidence`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.answer.offline.weights import (
    CONFIDENCE_BIAS,
    CONFIDENCE_WEIGHTS,
    MARGIN_SCALE,
    MIN_NAME_PREFIX,
    PRIOR_CHUNKS,
    PRIOR_SCALE,
    STALE_GRACE_DAYS,
    STALE_SPAN_DAYS,
)
from assistant.dates import YEAR, age_share, names_year, newest_day, published_day
from assistant.text import STOP

Terms = Callable[[str], list[str]]  # text -> rarity terms (the BM25 tokenizer)
Idf = Callable[[list[str]], dict[str, float]]  # terms -> inverse document frequency in the index
Prior = Callable[[str], float]  # word -> rarity in English at large (0 = commonest)

_YEAR = re.compile(YEAR)
_NAME = re.compile(r"(?<!^)(?<![.?!]\s)\b([A-Z][\w’'\-]*[A-Za-z0-9]|[A-Z]{2,})")


@dataclass(frozen=True)
class Rarity:
    """How rare words are: in the indexed articles (BM25's idf over `chunks` chunks), blended
    with their rarity in English at large, which decides while the index is small."""

    terms: Terms
    idf: Idf
    prior: Prior
    chunks: int

    def weights(self, question: str) -> dict[str, float]:
        """The question's content terms (not stop words, not years), each with its rarity."""
        share = self.chunks / (self.chunks + PRIOR_CHUNKS)
        out: dict[str, float] = {}
        for word in re.findall(r"[\w’'-]+", question):
            for term in self.terms(word):
                if term in STOP or _YEAR.fullmatch(term):  # a year is a date cue, not content
                    continue
                idf = self.idf([term])[term]
                rare = share * idf + (1 - share) * PRIOR_SCALE * self.prior(word)
                out[term] = max(out.get(term, 0.0), rare)
        return out


def question_names(question: str) -> list[str]:
    """Capitalised words and acronyms inside the question (not its first word): what it names."""
    return [m.group(1) for m in _NAME.finditer(question.strip()) if m.group(1).lower() not in STOP]


def held(wanted: Iterable[str], have: set[str], names: set[str]) -> set[str]:
    """The wanted terms that `have` holds; a name's term (in `names`) also counts when a word made
    from it is there ("india" in "indian", "kazakhstan" in "kazakhstani")."""
    return {t for t in wanted if t in have or (t in names and any(h.startswith(t) for h in have))}


def _weighted_share(wanted: dict[str, float], have: set[str], name_terms: set[str]) -> float:
    """Share of the wanted terms' weight that `have` holds (names as in `held`)."""
    total = sum(wanted.values())
    return sum(wanted[t] for t in held(wanted, have, name_terms)) / total if total else 0.0


def _name_terms(names: list[str], rarity: Rarity | None) -> set[str]:
    """The index terms of the question's names long enough to match words made from them."""
    if rarity is None:
        return set()
    return {t for n in names for t in rarity.terms(n) if len(t) >= MIN_NAME_PREFIX}


def staleness(question: str, best: Any, passages: Sequence[Any]) -> float:
    """0..1: how much older the best sentence's report is than the newest report among the
    passages (0 within STALE_GRACE_DAYS, 1 at STALE_GRACE_DAYS + STALE_SPAN_DAYS). 0 when the
    question names a year (it asks about that time, an old report may answer it) or a date is
    unknown. Measured against the newest passage, not today: a folder of old articles is not stale."""
    if names_year(question):
        return 0.0
    newest = newest_day(p.published_at for p in passages)
    age = age_share(published_day(best.published_at), newest, STALE_GRACE_DAYS, STALE_SPAN_DAYS)
    return 0.0 if age is None else age


def signals(question: str, scored: Sequence[Any], short: str | None, asks_span: bool,
            rarity: Rarity | None) -> dict[str, float]:
    """The answerability signals of the best evidence for a question (empty when none)."""
    if not scored:
        return {}
    best = scored[0]
    weights = rarity.weights(question) if rarity else {}
    sentence_terms = set(rarity.terms(best.sentence.text)) if rarity else set()
    passages = list({id(sc.passage): sc.passage for sc in scored}.values())
    passage_terms = {t for p in passages for t in (rarity.terms(p.text) if rarity else [])}
    names = question_names(question)
    name_terms = _name_terms(names, rarity)
    haystack = " ".join(p.text.lower() for p in passages)
    other = next((sc for sc in scored if sc.passage.article_id != best.passage.article_id), None)
    margin = best.score - other.score if other is not None else MARGIN_SCALE
    top_articles = {sc.passage.article_id for sc in scored[:5]}
    agreeing = {sc.passage.article_id for sc in scored[:5]
                if short and short.lower() in sc.sentence.text.lower()}
    return {
        "cosine": max(0.0, max(sc.cosine for sc in scored[:10])),
        "rare_in_sentence": _weighted_share(weights, sentence_terms, name_terms),
        "rare_in_passages": _weighted_share(weights, passage_terms, name_terms),
        "names_in_passages": (sum(n.lower() in haystack for n in names) / len(names)) if names else 1.0,
        "answer_span": 1.0 if short else 0.0,
        "asks_span": 1.0 if asks_span else 0.0,
        "margin": min(1.0, max(0.0, margin / MARGIN_SCALE)),
        "agreement": (len(agreeing) - 1) / max(1, len(top_articles) - 1) if agreeing else 0.0,
        "stale": staleness(question, best.passage, passages),
    }


def confidence(sig: dict[str, float]) -> float:
    """P(the evidence answers the question), by the fitted logistic model; 0 without evidence."""
    if not sig:
        return 0.0
    z = CONFIDENCE_BIAS + sum(w * sig.get(name, 0.0) for name, (w, _) in CONFIDENCE_WEIGHTS.items())
    return 1.0 / (1.0 + math.exp(-z))
