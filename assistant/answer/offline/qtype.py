"""What a question asks for: the kind of answer it expects, and the head noun of "which X"."""

from __future__ import annotations

import re

from assistant.answer.offline.spans import PLACE, labels_for
from assistant.text import STOP

NUMERIC_HEADS = {"magnitude", "toll", "age", "temperature", "score", "percentage", "percent", "number",
                 "amount", "price", "cost", "speed", "height", "population", "rate", "sum", "salary",
                 "fine", "total", "count", "figure", "distance", "weight", "size"}


def expected_type(question: str) -> tuple[str, str | None]:
    """(kind, head noun): kind is name | number | money | date | other."""
    q = question.lower()
    if re.search(r"\bhow much\b|\bwhat (?:price|amount|sum)\b|\bhow expensive\b", q):
        return "money", None
    m = re.search(r"\bhow many\s+(\w+)", q)
    if m:
        return "number", m.group(1)
    if re.search(r"\bwhat (?:percentage|number|share)\b|\bhow (?:old|long|far|tall|fast|big|high|heavy|deep"
                 r"|large|wide)\b|\bmeasures?:\s*$", q):
        return "number", None
    if re.search(r"\bwhen\b|\bwhat (?:year|date|day|month)\b|\bwhich (?:year|date|day|month)\b"
                 r"|\bsince:\s*$", q):
        return "date", None
    m = re.search(r"\bwhich (?:one )?of (?:these|the following|them)\s+([\w’']+)?", q)
    if m:
        return "name", (m.group(1) if m.group(1) and m.group(1) not in STOP else None)
    m = re.search(r"\b(?:which|what)\s+(?:(?:one|kind|type|sort)\s+of\s+)?([\w’']+)(?:\s+([\w’']+))?", q)
    heads = [h for h in (m.groups() if m else ()) if h and h not in STOP]
    numeric = [h for h in heads if h in NUMERIC_HEADS]
    if numeric:
        money = any(h in ("price", "cost", "amount", "sum", "salary", "fine", "hourly") for h in heads)
        return ("money" if money else "number"), numeric[0]
    if re.search(r"\bwho(?:m|se)?\b|\bwhere\b", q):
        return "name", None
    if heads:
        return "name", " ".join(heads)
    if re.search(r"\bname of\b|\bcalled\b|\btitled\b", q):
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
