"""Short answers (a span of the evidence, never invented) and multiple-choice picks, offline."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from assistant.answer.offline.gazetteer import COUNTRIES
from assistant.answer.offline.nlp import ParserUnavailable
from assistant.answer.offline.qtype import expected_type
from assistant.answer.offline.spans import (
    gazetteer_fit,
    in_relative_clause,
    outlet_of,
    relative_clause_at,
    typed_short_answer,
    weighted_evidence,
)
from assistant.answer.offline.weights import (
    AFTER_PREPOSITION_OTHER,
    AFTER_PREPOSITION_PLACE,
    EVIDENCE_DEPTH,
    HEAD_NEAR,
    MIN_PATTERN_SUPPORT,
    MULTI_WORD_NAME,
    POSSESSIVE,
    RELATIVE_CLAUSE,
    SLOT_GAP_TOKENS,
)
from assistant.dates import MONTHS, WEEKDAYS, YEAR, month_pattern, relative_mentions
from assistant.text import STOP, content_terms, name_terms, stem, words

_CONNECT = r"(?:\s+(?:of|the|de|del|la|von|van|and|&|for|on)\s+|\s+|-)"
_CAP_WORD = r"(?:[A-Z][\w’'\.\-]*|\d+(?:st|nd|rd|th)?)"
_NAME = re.compile(rf"\b[A-Z][\w’'\-]*(?:{_CONNECT}{_CAP_WORD})*")
_MONEY = re.compile(r"[$£€]\s?\d[\d,.]*(?:\s(?:million|billion|trillion))?(?:\s(?:an|a|per)\s(?:hour|year|"
                    r"month|week|day|share|barrel|gallon))?")
_NUMBER = re.compile(r"\b\d[\d,.]*(?:\s?%|\s(?:per cent|percent|million|billion|trillion|people|years?|days?|"
                     r"points?|votes?|miles?|feet|degrees|times))?")
_PERCENT = re.compile(r"%|\bper ?cent\b")
# a question asking for one of these is answered by a percentage ("what share of GDP": "30 per cent")
PERCENT_HEADS = {"share", "percentage", "percent", "proportion", "fraction", "rate"}
_MONTHS = month_pattern()
_DATE = re.compile(rf"\b(?:(?:{_MONTHS})\s+\d{{1,2}}(?:,\s+\d{{4}})?|(?:{_MONTHS})\s+\d{{4}}|\d{{4}})\b")
# "What year did it debut?": a year asked for is background (a founding, a debut); a day a report
# names relatively ("on Wednesday") dates that report's own news, so it is no candidate then
_ASKS_YEAR = re.compile(r"\b(?:what|which)\s+year\b", re.I)
_MONTH_BEFORE = re.compile(rf"\b(?:{month_pattern(abbreviated=True)})\.?\s+$", re.I)
_YEAR = re.compile(YEAR)  # a bare year ("in 2021") dates something; it counts nothing
_MID_CAPITAL = re.compile(r"(?<=[a-z,;] )[A-Z][\w’'\-]+")  # a capitalised word inside a sentence
_QUOTED = re.compile(r"[“\"]([^”\"]{3,60})[”\"]")
_LEAD = {"the", "a", "an", "but", "and", "in", "on", "at", "as", "after", "when", "while", "for", "it",
         "this", "that", "his", "her", "their", "its", "mr", "ms", "mrs"}


_PREP = {"in", "at", "from", "to", "of", "near", "across", "into", "on", "for", "with", "outside",
         "inside", "throughout", "around"}


def _day_of_month(before: str) -> bool:
    """The text before a number ends in a month ("Oct. ", "October "): the number is a day."""
    m = _MONTH_BEFORE.search(before)
    return bool(m and m.group(0)[0].isupper())


def _clock(sentence: str, start: int, end: int) -> bool:
    """The number is an hour or minute of a time of day ("12:01")."""
    return sentence[start - 1 : start] == ":" or re.match(r":\d", sentence[end : end + 2]) is not None


def _inside(span: str, other: str) -> bool:
    """The span is part of a longer candidate ("44 billion" of "$44 billion"; "5" is not of "15")."""
    return span != other and re.search(rf"(?<![\d.,]){re.escape(span)}(?![\d.,])", other) is not None


def context_weight(sentence: str, span: str, where: bool) -> float:
    """Down-weight spans that only modify the clause (after a preposition, or possessive)."""
    i = sentence.find(span)
    if i < 0:
        return 1.0
    before = words(sentence[max(0, i - 20) : i])
    after = sentence[i + len(span) : i + len(span) + 2]
    weight = 1.0
    if in_relative_clause(sentence, i):
        weight *= RELATIVE_CLAUSE
    if before and before[-1] in _PREP:
        weight *= AFTER_PREPOSITION_PLACE if where else AFTER_PREPOSITION_OTHER
    if after.startswith(("’s", "'s")):
        weight *= POSSESSIVE
    return weight


def candidates(sentence: str, kind: str, known: frozenset[str] = frozenset()) -> list[str]:
    """Answer-shaped spans of a sentence for the expected kind."""
    found: list[str] = []
    if kind == "money":
        found += _MONEY.findall(sentence)
    if kind == "number":
        found += _MONEY.findall(sentence)
    if kind in ("number", "money"):  # "Oct. 27" is a day, "12:01" a time: not amounts; "27," drops its comma
        found += [m.group(0).rstrip(",.") for m in _NUMBER.finditer(sentence)
                  if not _day_of_month(sentence[: m.start()]) and not _clock(sentence, m.start(), m.end())
                  and not _YEAR.fullmatch(m.group(0).rstrip(",."))]
        found = [f for f in found if not any(_inside(f, g) for g in found)]  # "$44 billion", not "44 billion"
    if kind == "date":
        found += _DATE.findall(sentence)
    if kind in ("name", "other"):
        found += [q for q in _QUOTED.findall(sentence)]
        for m in _NAME.finditer(sentence):
            span = m.group(0).strip(" -.,’'")
            tokens = span.split()
            opening = not sentence[: m.start()].strip(" “\"‘'(—-")
            if len(tokens) == 1 and opening and span.lower() not in known | COUNTRIES:
                continue  # one capitalised word opening a sentence is a name only if seen elsewhere
            while tokens and tokens[0].lower() in _LEAD:
                tokens = tokens[1:]
            whole = " ".join(tokens).lower().rstrip(".")
            if tokens and tokens[0].lower() not in WEEKDAYS and whole not in MONTHS:  # "Monday", "Feb."
                span = " ".join(tokens).removesuffix("’s").removesuffix("'s")
                found.append(re.split(r"[’']s\s+", span)[-1])  # "California's Yosemite" -> "Yosemite"
    return [f.strip() for f in found if f.strip()]


def _mentions_head(sentence: str, cand: str, head: str) -> bool:
    """A head word of the question is in the span or right after it ('65 nations')."""
    i = sentence.find(cand)
    if i < 0:
        return False
    if _PERCENT.search(cand) and PERCENT_HEADS & set(head.split()):
        return True
    near = words(sentence[max(0, i - 25) : i])[-2:] + words(cand)
    near += words(sentence[i + len(cand) : i + len(cand) + 30])[:2]
    stems = {h.rstrip("s") for h in head.split()}
    return any(w.rstrip("s") in stems for w in near)


def _near_fit(sentence: str, cand: str, q_terms: set[str]) -> float:
    """How much an amount or a date in the sentence is what the question asks about: it sits
    next to the question's words (the fit halves SLOT_GAP_TOKENS words away)."""
    i = sentence.find(cand)
    if i < 0:
        return 1.0
    toks = words(sentence)
    at = len(words(sentence[:i]))
    anchors = [j for j, w in enumerate(toks) if w not in STOP and stem(w) in q_terms]
    return 1.0 / (1.0 + min((abs(j - at) for j in anchors), default=len(toks)) / SLOT_GAP_TOKENS)


def _date_fit(sentence: str, cand: str, q_terms: set[str]) -> float:
    """`_near_fit`, and a date inside ", which was founded in 2001," dates the thing described,
    not the news, unless the question asks about that description (the clause holds its words).
    (An amount there often is the news: ", which killed 1,000 people,".)"""
    clause = relative_clause_at(sentence, sentence.find(cand))
    off = clause is not None and not content_terms(clause) & q_terms
    return _near_fit(sentence, cand, q_terms) * (RELATIVE_CLAUSE if off else 1.0)


def _novel(candidate: str, q_terms: set[str], name: bool = False) -> bool:
    """The candidate says something the question does not (a name: in its letters, "Super Bowl 57"
    echoes a question about the Super Bowl; an amount's number is what it says)."""
    terms = (name_terms(candidate) or content_terms(candidate)) if name else content_terms(candidate)
    return bool(terms - q_terms) and candidate.lower() not in STOP


def short_answer(question: str, evidence: Sequence[Any], scored: Sequence[Any],
                 parse: Callable[[list[str]], list[Any]] | None = None,
                 similar: Callable[[str, list[str]], list[float]] | None = None,
                 said: Sequence[str] = ()) -> str | None:
    """The best answer-shaped span of the top evidence sentences, or None when nothing fits.

    Names come from the parser's typed entities when it is there (see spans.py); numbers, amounts
    and dates, and names when it is not, come from patterns. `said`: what the conversation already
    named (a follow-up's subject, "Damar Hamlin", "NFL"): like the question's own words, not an answer.
    """
    kind, head = expected_type(question)
    if kind == "name" and parse is not None:
        try:
            span = typed_short_answer(question, kind, head, scored, parse, similar=similar, said=said)
        except ParserUnavailable:
            span = None  # already logged once; the patterns below still answer
        if span is not None:
            return span
    return pattern_answer(question, kind, head, scored, said)


def pattern_answer(question: str, kind: str, head: str | None, scored: Sequence[Any],
                   said: Sequence[str] = ()) -> str | None:
    """The answer-shaped span (by pattern) most supported by the top evidence sentences."""
    if kind == "other":
        return None
    where = bool(re.match(r"\s*(and\s+)?where\b", question, re.I))
    q_terms = content_terms(question)
    said_terms = content_terms(" ".join(said))
    top = list(scored[:EVIDENCE_DEPTH])
    known = frozenset(m.group(0).lower() for sc in top for m in _MID_CAPITAL.finditer(sc.sentence.text))
    tally: dict[str, float] = {}
    shown: dict[str, str] = {}
    near: dict[str, float] = {}  # amounts: how near the question's words each one sits
    for sc, weight in weighted_evidence(top):
        outlet = outlet_of(sc.passage)
        text = sc.sentence.text
        found = [(cand, cand) for cand in dict.fromkeys(candidates(text, kind, known))]
        if kind == "date" and not _ASKS_YEAR.search(question):  # "on Thursday", 2024-07-04: 4 July 2024
            found += [(phrase, day) for phrase, day in relative_mentions(text, sc.passage.published_at)]
        for cand, answer in found:
            if not _novel(cand, q_terms | said_terms, kind == "name") or (
                    outlet and cand.lower().replace(" ", "") == outlet):
                continue
            key = answer.lower()
            bonus = HEAD_NEAR if head and _mentions_head(text, cand, head) else 0.0
            bonus += MULTI_WORD_NAME if kind == "name" and len(cand.split()) > 1 else 0.0
            if kind == "name":
                ctx = context_weight(text, cand, where)
            elif kind == "date":
                ctx = _date_fit(text, cand, q_terms)
            else:  # amounts: nearness breaks ties only (as a weight it cost 2023-2024 gold text 0.4)
                ctx = 1.0
                near[key] = max(near.get(key, 0.0), _near_fit(text, cand, q_terms))
            ctx *= gazetteer_fit(key, head)
            tally[key] = tally.get(key, 0.0) + weight * ctx * (1.0 + bonus)
            shown.setdefault(key, answer)
    if not tally:
        return None
    ranked = sorted(tally, key=lambda k: (-tally[k], -near.get(k, 0.0), len(k)))
    first = tally[ranked[0]]
    second = tally[ranked[1]] if len(ranked) > 1 else 0.0
    if first < MIN_PATTERN_SUPPORT or first < second:
        return None  # not clearly ahead: the cited sentences speak for themselves
    return shown[ranked[0]]
