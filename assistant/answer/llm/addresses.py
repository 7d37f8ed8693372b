"""Does a model answer answer the question? Its anchors (the question's names, numbers and content
words) must be in the answer or the sentences it cites, and who/where/when/how-many questions need
a span of that kind. A supported answer about something else is no answer."""

from __future__ import annotations

import calendar
import re
from functools import cached_property

from assistant.answer.offline.qtype import expected_type
from assistant.answer.offline.spans import HEAD_LABELS, PERSON
from assistant.dates import MONTHS
from assistant.text import STOP, content_terms, sentence_spans, words

# Share of the question's plain content words (not its names) that the answer and the articles it
# cites must hold, rounded down. Half: a paraphrase may drop a verb ("represented" -> "sending his
# foreign minister", "joined" -> "added"), and a lone word may go; names may not.
ANCHOR_MIN = 0.5
# Words that ask, not anchor: they name what kind of answer is wanted.
_ASKING = frozenset({"name", "named", "happened", "happen", "year", "many", "much", "long", "old",
                     "first", "last", "according", "report", "reported", "article", "news", "week",
                     "month", "today", "yesterday", "recently", "latest"})
_NUMBER_WORDS = frozenset({
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "dozen", "dozens", "hundred", "hundreds", "thousand", "thousands", "million", "millions",
    "billion", "billions", "trillion", "half", "third", "quarter", "percent"})  # fmt: skip
_DATE_WORDS = frozenset(MONTHS) | {d.lower() for d in calendar.day_name} | {"yesterday", "today"}
_YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")  # wider than dates.YEAR: a date answer may be historic
_CAPITAL = re.compile(r"\b[A-Z][\w’'.-]*")
_POSSESSIVE = re.compile(r"['’]s?$")


def _names(text: str, skip_first: bool) -> set[str]:
    """Capitalised words and numbers of `text`, lower-cased (the first word skipped when asked)."""
    found = _CAPITAL.findall(text)
    if skip_first and found and text.lstrip().startswith(found[0]):
        found = found[1:]
    names = {_POSSESSIVE.sub("", w.lower().rstrip(".")) for w in found if w.lower() not in STOP}
    return names | set(re.findall(r"\b\d[\d,.]*\b", text))


def _holds(term: str, have: set[str]) -> bool:
    """`term` in `have`, a demonym or plural counting ("india" ~ "indian", "belarus" ~ "belarusian"),
    an acronym counting when `have` holds the words it abbreviates ("gdp": gross domestic product)."""
    if term in have or (term.isalpha() and 2 <= len(term) <= 5 and term in _initials(have)):
        return True
    stem = term[: max(4, len(term) - 1)]
    return len(term) >= 4 and any(h.startswith(stem) or (len(h) >= 4 and term.startswith(h))
                                  for h in have)


def _initials(have: set[str]) -> set[str]:
    """The initials of runs of 2-5 consecutive content words, when `have` keeps its words in order
    (a `_Held`); a plain set has none."""
    return have.initials if isinstance(have, _Held) else set()


class _Held(set[str]):
    """A set of words that also keeps them in order (for acronyms)."""

    def __init__(self, held: set[str], sequence: list[str] | None = None) -> None:
        super().__init__(held)
        self.sequence = sequence or []

    @cached_property
    def initials(self) -> set[str]:
        seq = self.sequence
        return {"".join(w[0] for w in seq[i:i + n]) for n in range(2, 6) for i in range(len(seq) - n + 1)}


def _held_text(text: str) -> _Held:
    seq = [w for w in words(text) if w]
    parts = {p for w in seq if "-" in w for p in w.split("-") if p}  # "100-meter", "blink-182"
    return _Held(set(seq) | parts | content_terms(text), [w for w in seq if w not in STOP])


# a sentence that names its subject by reference to the one before ("He said", "The band announced")
_REFERS_BACK = re.compile(r"[\"“‘']?(?:He|She|It|They|This|These|Those|The (?:band|group|company|firm|"
                          r"team|club|singer|star|actor|actress|player|president|minister|"
                          r"country|city|state|agency|party|couple|pair))\b")
_CLAUSES = re.compile(r"[;,]\s+(?=(?:but|while|whereas|although|though|and then|where)\b)|;\s+")


def span_misplaced(question: str, claim: str, cited_texts: list[str]) -> str | None:
    """`clause_misplaced` for each clause of the claim ("X, but Y": two facts, two sentences)."""
    for clause in _CLAUSES.split(claim):
        moved = clause_misplaced(question, clause, cited_texts)
        if moved:
            return moved
    return None


def clause_misplaced(question: str, claim: str, cited_texts: list[str]) -> str | None:
    """The claim's own names and numbers (those the question does not hold) must sit where its
    article says them: in the cited sentence the claim paraphrases (the one sharing most of its
    words), and in some cited sentence with at least half of the claim's other words (at least
    one). "Russia is China's top trading partner" paraphrases "Beijing is now Russia's top
    trading partner" with the name moved; "Beijing joined the SCO in 2024" names Beijing where
    no sentence says anything of joining, the SCO or 2024. Returns the misplaced names, or None."""
    asked = _held_text(question)
    span = [n for n in _names(claim, skip_first=False) if not _holds(n, asked)]
    if not span:
        return None
    raw = [t[a:b] for t in cited_texts for a, b in sentence_spans(t)]
    sentences = [_held_text(r) for r in raw]
    wanted = content_terms(claim)
    # the sentence the claim paraphrases: most shared words, its own names counting too (so that of
    # two sentences about the same thing, the one holding the claim's number is taken)
    order = max(range(len(sentences)), default=-1,
                key=lambda i: len(wanted & sentences[i]) + sum(_holds(n, sentences[i]) for n in span))
    best = sentences[order] if order >= 0 else _Held(set())
    if order > 0 and _REFERS_BACK.match(raw[order]):  # "The band announced...": its name came before
        best = _Held(best | sentences[order - 1])
    rest = wanted - {t for n in span for t in content_terms(n)} - set(span)
    need = max(1, int(ANCHOR_MIN * len(rest))) if rest else 0
    beside = any(any(_holds(n, held) for n in span) and sum(_holds(t, held) for t in rest) >= need
                 for held in sentences)
    if not any(_holds(n, best) for n in span) or not beside:
        return ", ".join(span[:3])
    return None


def anchors(question: str) -> tuple[set[str], set[str]]:
    """(names and numbers, other content words) the answer must be about."""
    _, head = expected_type(question)  # "which country": the kind of answer, not its subject
    asking = _ASKING | content_terms(head or "")
    names = {n for n in _names(question, skip_first=True) if n not in asking}
    plain = {t for t in content_terms(question) if t not in asking} - {
        t for n in names for t in content_terms(n)}
    return names, plain


def off_question(question: str, answer: str, cited: str, cited_articles: str,
                 choices: bool = False) -> str | None:
    """Why the answer does not address the question, or None when it does.

    The question's names and most of its other words must be in the answer or in the articles it
    cites (`cited_articles`: titles, dates, texts; "the SCO" is what the cited article is about,
    and a paraphrase may drop a word), and the answer or the sentences it cites (`cited`) must
    hold at least one of them: a sentence that shares nothing with the question answers
    something else, however well its article supports it."""
    if choices:  # the option picked is the answer; a question of the quiz kind names its context
        return None
    names, plain = anchors(question)
    said = _held_text(answer + " " + cited)
    have = _held_text(" ".join((answer, cited, cited_articles)))
    missing = sorted(n for n in names if not _holds(n, have))
    if missing:
        return f"does not answer the question (nothing about {', '.join(missing[:3])})"
    if sum(_holds(t, have) for t in plain) < int(ANCHOR_MIN * len(plain)):  # a lone word may be paraphrased
        return "does not answer the question (its articles share too few of its words)"
    if (names or plain) and not any(_holds(t, said) for t in names | plain):
        return "does not answer the question (the answer and its sentences share none of its words)"
    kind, _ = expected_type(question)
    if not _has_kind(kind, answer, question):
        return f"does not answer the question (no {_KIND_WORDS[kind]} in the answer)"
    return None


_KIND_WORDS = {"name": "name", "number": "number", "money": "amount", "date": "date",
               "other": "answer"}


def _has_kind(kind: str, answer: str, question: str) -> bool:
    """The answer holds a span of the kind asked (a new name, a number, an amount, a date)."""
    lowered = set(words(answer))
    if kind in ("number", "money"):
        return bool(re.search(r"\d", answer) or lowered & _NUMBER_WORDS)
    if kind == "date":
        return bool(_YEAR.search(answer) or lowered & _DATE_WORDS
                    or re.search(r"\b\d{1,2}[/-]\d{1,2}\b", answer))
    if kind == "name":  # a name the question does not hold, or for "who" a role ("its foreign minister")
        asked = set(words(question))
        if any(n not in asked and not n.isdigit() for n in _names(answer, skip_first=False)):
            return True
        return bool(re.search(r"\bwho", question, re.I) and (lowered - asked) & HEAD_LABELS[PERSON])
    return True
