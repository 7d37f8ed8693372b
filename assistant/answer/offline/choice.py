"""Multiple-choice picks, offline: the choice named by recent sentences that answer the question."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from assistant.answer.offline.weights import (
    AGE_GRACE_DAYS,
    AGE_SPAN_DAYS,
    MIN_CHOICE_COVER,
    NEAR_NUMBER,
    NEAR_NUMBER_TOLERANCE,
    SEMANTIC_POOL,
    SEMANTIC_TOP,
    W_CHOICE_AGE,
    W_CHOICE_COSINE,
    W_CHOICE_WORDS,
)
from assistant.dates import age_share, newest_day, published_day
from assistant.models import Passage
from assistant.text import STOP, split_sentences, stem

_TOKEN = re.compile(r"[$£€%]|\d+(?:[.,]\d+)*|[^\W\d_]+(?:['’][^\W\d_]+)?")
_NUMBERS = {w: str(i) for i, w in enumerate(["zero", "one", "two", "three", "four", "five", "six", "seven",
                                              "eight", "nine", "ten", "eleven", "twelve"])}
_UNITS = {"m": "million", "mn": "million", "bn": "billion", "tn": "trillion", "k": "thousand", "percent": "%"}
_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_NEGATED = re.compile(r"\b(?:is|was|are|were)\s+not\b|\b(?:isn|wasn|aren|weren)['’]t\b|\bexcept\b", re.I)
_ALL = re.compile(r"\s*(?:all|both)\s+of\s+(?:the\s+)?(?:above|these)\s*$", re.I)
_NONE = re.compile(r"\s*(?:none|neither)\s+of\s+(?:the\s+)?(?:above|these)\s*$", re.I)
_LEADING = {"a", "an", "the"}



def tokens(text: str) -> list[str]:
    """Lower-cased tokens, numbers as digits: "four" -> 4, "1,300" -> 1300, "£51m" -> £ 51 million."""
    out: list[str] = []
    for m in _TOKEN.finditer(text.lower().replace("per cent", "percent")):
        tok = m.group(0)
        if tok[0].isdigit():
            tok = tok.replace(",", "")
        tok = re.sub(r"['’]s$", "", tok)
        out.append(_NUMBERS.get(tok, _UNITS.get(tok, tok)))
    return out


def amounts(toks: Sequence[str]) -> list[float]:
    """The quantities in the tokens ("19", "million" -> 19e6), years left out."""
    out = []
    for i, tok in enumerate(toks):
        if tok[0].isdigit() and tok.replace(".", "", 1).isdigit():
            scale = _SCALE.get(toks[i + 1], 1.0) if i + 1 < len(toks) else 1.0
            if scale > 1 or not (tok.isdigit() and 1900 <= int(tok) <= 2100):
                out.append(float(tok) * scale)
    return out


def _content(toks: Sequence[str]) -> set[str]:
    return {stem(t) for t in toks if t not in STOP and (len(t) > 1 or t.isdigit())}


@dataclass(frozen=True)
class Form:
    """How a choice is looked for: its phrase, its distinctive stems, its number (if it is one)."""

    phrase: tuple[str, ...]
    key: frozenset[str]
    value: float | None = None
    rivals: tuple[float, ...] = ()


def choice_forms(choices: list[str]) -> list[Form]:
    """Each choice's phrase (no leading article) and the words not every choice shares."""
    phrases = []
    for choice in choices:
        toks = tokens(choice)
        while toks and toks[0] in _LEADING:
            toks = toks[1:]
        phrases.append(tuple(toks))
    contents = [_content(t) for t in phrases]
    shared = set.intersection(*contents) if len(contents) > 1 else set()
    values = [amounts(t) for t in phrases]
    rivals = tuple(v[0] for v in values if len(v) == 1)
    return [Form(t, frozenset((c - shared) or c), v[0] if len(v) == 1 and v[0] >= 10 else None, rivals)
            for t, c, v in zip(phrases, contents, values, strict=True)]


def _near(amount: float, form: Form) -> bool:
    """The amount is roughly the choice's number, and closer to it than to any other choice's."""
    gap = abs(amount - (form.value or 0.0))
    near = gap <= NEAR_NUMBER_TOLERANCE * (form.value or 0.0)
    return near and all(gap <= abs(amount - r) for r in form.rivals)


def mention(form: Form, toks: list[str], stems: set[str]) -> float:
    """1 when the sentence has the choice verbatim, less for a near number or most of its words, else 0."""
    n = len(form.phrase)
    if n and any(tuple(toks[i : i + n]) == form.phrase for i in range(len(toks) - n + 1)):
        return 1.0
    if form.value and any(_near(v, form) for v in amounts(toks)):
        return NEAR_NUMBER
    if not form.key or n < 2:
        return 0.0
    cover = len(form.key & stems) / len(form.key)
    return cover if cover >= MIN_CHOICE_COVER else 0.0


@dataclass(frozen=True)
class Unit:
    """A distinct sentence (or title) of the pooled passages."""

    text: str
    toks: list[str]
    stems: set[str]
    age: float  # 0 (recent) .. 1 (months older than the newest passage of the question)


def pool_units(pool: list[Passage], newest: date | None) -> list[Unit]:
    """Every distinct title and sentence of the pooled passages."""
    units: dict[str, Unit] = {}
    for p in pool:
        age = age_share(published_day(p.published_at), newest, AGE_GRACE_DAYS, AGE_SPAN_DAYS)
        age = 0.5 if age is None else age
        for text in [p.title, *(s.text for s in split_sentences(p.text))]:
            if text and text not in units:
                toks = tokens(text)
                units[text] = Unit(text, toks, {stem(t) for t in toks}, age)
    return list(units.values())


def question_weights(question: str, forms: list[Form], units: list[Unit]) -> dict[str, float]:
    """The question's key words (not the choices' words), the rarer in the pool the heavier."""
    key = _content(tokens(question)) - {k for f in forms for k in f.key}
    n = len(units)
    return {t: math.log((n + 1) / (1 + sum(1 for u in units if t in u.stems))) + 1.0 for t in key}


def _coverage(stems: set[str], weights: dict[str, float]) -> float:
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in stems) / total if total else 0.0


def _vec(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)


@dataclass(frozen=True)
class Pick:
    """The chosen choice and what it rests on: "named" (a sentence names it), "none" (no passage
    names any choice: the closest in meaning is taken), "all/none of the above"."""

    index: int | None
    evidence: str


def pick_choice(question: str, choices: list[str], passages: list[Passage], qvec: np.ndarray,
                embedder: Any, search: Callable[[str], list[Passage]] | None = None) -> Pick:
    """The choice best supported by a recent sentence that names it and answers the question.

    The pool is the question's passages plus, when `search` is given, those found for "question +
    choice". A choice's support is its best sentence: mention strength x (cosine with "question +
    choice" + share of the question's key words - age). Negated questions ("which is not ...") take
    the least supported choice. (Dependency links from the sentence parser measured no gain here.)
    """
    if not choices or not passages:
        return Pick(None, "none")
    special = ["all" if _ALL.match(c) else "none" if _NONE.match(c) else "" for c in choices]
    real = [i for i, s in enumerate(special) if not s] or list(range(len(choices)))
    forms = choice_forms([c if not s else "" for c, s in zip(choices, special, strict=True)])
    pool = list(passages)
    for i in real:
        pool += search(f"{question} {choices[i]}") if search else []
    newest = newest_day(p.published_at for p in passages)
    units = pool_units(list({p.chunk_id: p for p in pool}.values()), newest)
    weights = question_weights(question, forms, units)
    marks = _vec([[mention(f, u.toks, u.stems) for f in forms] for u in units]).reshape(len(units), -1)
    named = [i for i in range(len(units)) if marks[i].any()]
    negated = bool(_NEGATED.search(question))
    if not named:
        if "none" in special:
            return Pick(special.index("none"), "none of the above")
        if not units:
            return Pick(None, "none")
        return Pick(_semantic(choices, real, units, weights, qvec, embedder, negated), "none")
    vecs = _vec(embedder.embed([units[i].text for i in named]))
    hyp = np.stack([_vec(embedder.embed_query(f"{question} {c}")) for c in choices])
    rest = _vec([W_CHOICE_WORDS * _coverage(units[i].stems, weights) - W_CHOICE_AGE * units[i].age
                 for i in named])
    fit = W_CHOICE_COSINE * (vecs @ hyp.T) + rest[:, None]
    support = np.where(marks[named] > 0, marks[named] * fit, -1.0)
    scores = support.max(axis=0)
    seen = [bool(marks[named, j].any()) for j in range(len(choices))]
    if "all" in special and all(seen[i] for i in real):
        return Pick(special.index("all"), "all of the above")
    if negated:
        return Pick(min(real, key=lambda i: (seen[i], float(scores[i]))), "named")
    return Pick(max(real, key=lambda i: float(scores[i])), "named")


def _semantic(choices: list[str], real: list[int], units: list[Unit], weights: dict[str, float],
              qvec: np.ndarray, embedder: Any, negated: bool) -> int:
    """No sentence names a choice: the choice closest in meaning to the sentences that fit the question."""
    lex = np.array([_coverage(u.stems, weights) for u in units])
    cand = np.argsort(-lex, kind="stable")[:SEMANTIC_POOL]
    svec = _vec(embedder.embed([units[int(i)].text for i in cand]))
    rel = W_CHOICE_COSINE * (svec @ _vec(qvec)) + W_CHOICE_WORDS * lex[cand]
    top = svec[np.argsort(-rel, kind="stable")[:SEMANTIC_TOP]]
    sims = (_vec(embedder.embed([choices[i] for i in real])) @ top.T).max(axis=1)
    return real[int(np.argmin(sims) if negated else np.argmax(sims))]
