"""Dates as evidence: how much a report's date counts, by the time cue of the question.

Relevance comes first (the fused rank of dense and BM25 hits over everything up to the as-of date,
a hard cut-off); the date then adds (1) the lists searched inside the question's window and
(2) a recency bonus that halves every `half_life_days`. Both grow with the question's own cue: a
named date ("in June 2024") or a relative one ("this week", "recently") counts more than none.
Fitted on the 2023-2024 questions by benchmarks/retrieval.py, checked on the 2022 dev set.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from assistant.dates import Window, question_window

# words that ask for the newest report without naming a span
_RECENT = re.compile(r"\b(?:recent(?:ly)?|latest|newest|new|now|current(?:ly)?|just|so far|"
                     r"ongoing|upcoming|soon|this (?:season|spring|summer|fall|autumn|winter))\b", re.I)
RECENT_WINDOW_DAYS = 30  # "recently", "latest": the last month is looked at first
NO_CUE_WINDOW_DAYS = 7  # no cue but an as-of date: the week before it is looked at first


@dataclass(frozen=True)
class DatePreference:
    """How much dates count for one kind of time cue."""

    window_weight: float  # RRF weight of the lists searched inside the window (the global lists: 1)
    recency_weight: float  # bonus, in RRF units, of a report from the reference day
    half_life_days: float  # the bonus halves with every this many days of age


PREFERENCES: dict[str, DatePreference] = {  # fitted by benchmarks/retrieval.py --fit
    "named": DatePreference(1.0, 0.0, 30.0),  # "in 2024", "on July 4": the window is the evidence
    "relative": DatePreference(1.0, 0.0, 7.0),  # "this week", "yesterday", "recently"
    "none": DatePreference(1.0, 0.0, 30.0),  # timeless questions: relevance alone, mostly
}


@dataclass(frozen=True)
class TimeCue:
    """The question's time cue: its kind (named | relative | none) and the window it points at."""

    kind: str
    window: Window | None


def time_cue(question: str, as_of: dt.date | None, today: dt.date) -> TimeCue:
    """What the question says about time, relative to the as-of date (or today)."""
    ref = as_of or today
    window = question_window(question, ref)
    if window is not None:
        relative = window.end >= ref - dt.timedelta(days=1) and not re.search(r"\d", window.phrase)
        return TimeCue("relative" if relative else "named", window)
    m = _RECENT.search(question)
    if m:
        return TimeCue("relative", Window(ref - dt.timedelta(days=RECENT_WINDOW_DAYS), ref, m.group(0)))
    if as_of is not None:
        return TimeCue("none", Window(as_of - dt.timedelta(days=NO_CUE_WINDOW_DAYS), as_of,
                                      "the week before as-of"))
    return TimeCue("none", None)


def recency_bonus(pref: DatePreference, age_days: int | None) -> float:
    """The bonus of a report `age_days` older than the reference day (0 when its date is unknown)."""
    if age_days is None or pref.recency_weight == 0.0:
        return 0.0
    return float(pref.recency_weight * 0.5 ** (max(0, age_days) / pref.half_life_days))
