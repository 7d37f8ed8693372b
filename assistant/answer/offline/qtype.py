"""What a question asks for: the kind of answer it expects, and the head noun of "which X"."""

from __future__ import annotations

import re

from assistant.answer.offline.gazetteer import GAZETTEERS
from assistant.answer.offline.spans import HEAD_LABELS, PERSON, PLACE, labels_for
from assistant.text import STOP

NUMERIC_HEADS = {"magnitude", "toll", "age", "temperature", "score", "percentage", "percent", "number",
                 "amount", "price", "cost", "speed", "height", "population", "rate", "sum", "salary",
                 "fine", "total", "count", "figure", "distance", "weight", "size", "share",
                 "proportion", "fraction", "ratio"}
MONEY_HEADS = {"price", "cost", "amount", "sum", "salary", "fine", "hourly"}
COPULAS = {"is", "are", "was", "were"}
AUXILIARIES = COPULAS | {"did", "does", "do", "has", "have", "had", "will", "would", "can", "could",
                         "should", "may", "might", "must"}
WHAT_VERBS = {"happens", "causes", "makes", "made", "led", "drove", "says", "said", "prompts"}
KNOWN_HEADS = NUMERIC_HEADS | set(GAZETTEERS) | {w for heads in HEAD_LABELS.values() for w in heads}
HEAD_WINDOW = 3  # words after "which"/"what" searched for a head noun we know ("which Asian country")
_WORD = r"[\w’']+"
_WHICH_WHAT = re.compile(
    r"\b(which|what)\s+(?:(?:one|kind|type|sort) of\s+(?:the\s+)?)?((?:" + _WORD + r"\s*){1,4})")


def _known(word: str) -> bool:
    return word in KNOWN_HEADS or word.rstrip("s") in KNOWN_HEADS


def _head(after: list[str], known_only: bool = False) -> str | None:
    """The head noun among the words after which/what: the first known one within HEAD_WINDOW words
    (with the word before it when that is a modifier: "us state"), else the first word."""
    for i, word in enumerate(after[:HEAD_WINDOW]):
        if word in AUXILIARIES:
            break
        if _known(word):
            before = after[i - 1] if i else ""
            return f"{before} {word}" if before and before not in STOP and not _known(before) else word
    if known_only:
        return None
    return after[0] if after and after[0] not in STOP else None


def _kind_of_head(head: str) -> str:
    numeric = [h for h in head.split() if h in NUMERIC_HEADS]
    if not numeric:
        return "name"
    return "money" if any(h in MONEY_HEADS for h in head.split()) else "number"


def _which_what(word: str, after: list[str]) -> tuple[str, str | None] | None:
    """The kind asked by "which/what <words>", or None when those words name no kind."""
    if after[0] in COPULAS:  # "what is the capital of ...", "what was the death toll ..."
        rest = after[1:]
        rest = rest[1:] if rest[:1] in (["the"], ["a"], ["an"]) else rest
        head = _head(rest, known_only=True)
    elif after[0] in AUXILIARIES:  # "what did X say", "what will X do": an event or a statement
        return None
    elif word == "what" and (after[0].endswith("ed") or after[0] in WHAT_VERBS):
        return None  # "what happened", "what caused ...": an event, not a thing with a name
    else:
        head = _head(after)
    if head is None:
        return None
    return _kind_of_head(head), head


# "Who is Liz Truss?": a name and nothing else after "who is" ("Who is the UK Prime Minister?" asks for one)
_WHO_IS_NAME = re.compile(r"\s*(?:[Aa]nd\s+)?[Ww]ho\s+(?:is|was|are|were)\s+((?:[A-Z][\w.'’-]*\s*)+)\??\s*$")


def expected_type(question: str) -> tuple[str, str | None]:
    """(kind, head noun): kind is name | number | money | date | other.

    "other" asks for an event, a reason, a way or a statement ("what did X say", "why", "how"):
    no short answer fits it, the cited sentences answer it.
    """
    m = _WHO_IS_NAME.match(question)
    if m and m.group(1).split()[-1].lower().strip(".") not in HEAD_LABELS[PERSON]:
        return "other", None  # "Who is Liz Truss?" asks who she is ("Who is UK Prime Minister?": a name)
    q = question.lower()
    if re.search(r"\bhow much\b|\bhow expensive\b", q):
        return "money", None
    m = re.search(r"\bhow many\s+(\w+)", q)
    if m:
        return "number", m.group(1)
    if re.search(r"\bhow (?:old|long|far|tall|fast|big|high|heavy|deep|large|wide)\b", q):
        return "number", None
    if re.search(r"\bwhen\b|\b(?:what|which) (?:year|date|day|month)\b", q):
        return "date", None
    if re.search(r"\b(?:called|named|nicknamed|dubbed|titled|known as)\s+what\b", q):
        return "name", None  # "The alligator has been nicknamed what?"
    m = re.search(r"\bwhich (?:one )?of (?:these|the following|them)\s+(" + _WORD + ")?", q)
    if m:
        return "name", (m.group(1) if m.group(1) and m.group(1) not in STOP else None)
    m = _WHICH_WHAT.search(q)
    if m:
        kind = _which_what(m.group(1), re.findall(_WORD, m.group(2)))
        if kind is not None:
            return kind
    if re.search(r"\bwho(?:m|se)?\b|\bwhere\b", q):
        return "name", None
    if re.search(r"\bnamed?\b|\bcalled\b|\btitled\b", q):
        return "name", None
    return "other", None


def cue_type(question: str) -> str:
    """who | when | number | where | other: the cue the sentence scorer gives a bonus for."""
    kind, head = expected_type(question)
    if kind in ("number", "money"):
        return "number"
    if kind == "date":
        return "when"
    if kind == "name":
        if labels_for(kind, head, question)[0] == PLACE:  # "where ...", "which country ..."
            return "where"
        if re.search(r"\bwho(?:m|se)?\b", question, re.I):
            return "who"
    return "other"
