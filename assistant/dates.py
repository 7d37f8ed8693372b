"""Dates in questions and articles: windows ("in 2024", "last week"), and "on Thursday" resolved."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

MONTH_NAMES = tuple(calendar.month_name)[1:]  # the English names, the only list of them
MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
MONTHS["sept"] = 9
WEEKDAYS = [d.lower() for d in calendar.day_name]
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))


def month_pattern(abbreviated: bool = False) -> str:
    """A regex alternation of the month names ('January|...'), or of every accepted spelling
    ('jan(?:uary)?|...|sep(?:t(?:ember)?)?|...', for case-insensitive use) when abbreviated."""
    if not abbreviated:
        return "|".join(MONTH_NAMES)
    out = []
    for name in MONTH_NAMES:
        low = name.lower()
        rest = "(?:t(?:ember)?)?" if low == "september" else (f"(?:{low[3:]})?" if low[3:] else "")
        out.append(low[:3] + rest)
    return "|".join(out)
_YEAR_CUE = r"(?:in|during|of|since|from|by|until|through|throughout|for|early|late|mid)"


@dataclass(frozen=True)
class Window:
    """A soft date preference taken from the question."""

    start: dt.date
    end: dt.date
    phrase: str

    def as_iso(self) -> tuple[str, str]:
        return (self.start.isoformat(), self.end.isoformat())


_DAY = re.compile(r"^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:$|[T\s])")


def published_day(text: str | None) -> dt.date | None:
    """The day of a report's `published_at` (an ISO date or datetime), None when unknown."""
    try:
        return parse_day(text or "")
    except ValueError:
        return None


def newest_day(published: Iterable[str | None]) -> dt.date | None:
    """The newest of the reports' days (`published_at` values), None when no day is known."""
    return max(filter(None, map(published_day, published)), default=None)


def age_share(day: dt.date | None, newest: dt.date | None, grace_days: int, span_days: int) -> float | None:
    """0..1: how much older `day` is than `newest` (0 within grace_days, 1 at grace_days +
    span_days); None when either day is unknown."""
    if day is None or newest is None:
        return None
    return min(1.0, max(0, (newest - day).days - grace_days) / span_days)


YEAR = r"(?:19|20)\d\d"  # a year as news writes it


def names_year(question: str) -> bool:
    """The question names a year ("in 2024", "the 2022 World Cup"): it dates itself."""
    return re.search(rf"\b{YEAR}\b", question) is not None


def parse_day(text: str) -> dt.date:
    """A day given by a user or a question file: YYYY-MM-DD (also / or . between, or an ISO datetime).

    ValueError says which is wrong: the shape, or a day that does not exist (2022-02-30).
    """
    m = _DAY.match(text)
    if m is None:
        raise ValueError(f"{text!r} is not YYYY-MM-DD")
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise ValueError(f"{text!r} is not a real day") from None


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _relative_window(q: str, ref: dt.date) -> Window | None:
    rules: list[tuple[str, int, int]] = [
        (r"\byesterday\b", 1, 1), (r"\btoday\b|\bthis morning\b|\btonight\b", 0, 0),
        (r"\bthis week\b", 6, 0), (r"\blast week\b|\bpast week\b", 13, 0),
        (r"\blast weekend\b", 9, 0), (r"\bthis month\b|\bpast month\b", 30, 0),
        (r"\blast month\b", 62, 0), (r"\bthis year\b|\bpast year\b", 365, 0),
    ]
    for pattern, back, fwd in rules:
        m = re.search(pattern, q, re.I)
        if m:
            return Window(ref - dt.timedelta(days=back), ref - dt.timedelta(days=fwd), m.group(0))
    m = re.search(r"\blast year\b", q, re.I)
    if m:
        return Window(dt.date(ref.year - 1, 1, 1), dt.date(ref.year - 1, 12, 31), m.group(0))
    return None


def question_window(question: str, ref: dt.date) -> Window | None:
    """The date window a question talks about, relative to `ref` (the as-of date or today)."""
    q = question
    m = re.search(rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+((?:19|20)\d\d)\b", q, re.I)
    if m:
        try:
            day = dt.date(int(m.group(3)), MONTHS[m.group(1).lower()], int(m.group(2)))
            return Window(day, day + dt.timedelta(days=1), m.group(0))
        except ValueError:
            pass
    m = re.search(rf"\b({_MONTH_RE})\.?,?\s+(?:of\s+)?((?:19|20)\d\d)\b", q, re.I)
    if m:
        year, month = int(m.group(2)), MONTHS[m.group(1).lower()]
        return Window(dt.date(year, month, 1), _month_end(year, month), m.group(0))
    m = re.search(rf"\b{_YEAR_CUE}\s+((?:19|20)\d\d)\b", q, re.I)
    if m:
        year = int(m.group(1))
        return Window(dt.date(year, 1, 1), dt.date(year, 12, 31), m.group(0))
    m = re.search(r"\b((?:19|20)\d\d)(?:'s)?\s+(?:election|elections|summit|world cup|olympics|"
                  r"midterms?|budget|season|championship|census)\b", q, re.I)
    if m:
        year = int(m.group(1))
        return Window(dt.date(year, 1, 1), dt.date(year, 12, 31), m.group(0))
    return _relative_window(q, ref)


def weekday_before(weekday: str, published: dt.date) -> dt.date:
    """The date of the named weekday on or before the publication date (news usage)."""
    target = WEEKDAYS.index(weekday.lower())
    back = (published.weekday() - target) % 7
    return published - dt.timedelta(days=back)


def human_date(d: dt.date) -> str:
    """4 July 2024."""
    return f"{d.day} {calendar.month_name[d.month]} {d.year}"


def resolve_relative(sentence: str, published_at: str | None) -> str | None:
    """'on Thursday' in an article of 2024-07-04 -> 'on Thursday (4 July 2024)'; None if nothing to do."""
    if not published_at:
        return None
    try:
        pub = parse_day(published_at)
    except ValueError:
        return None
    days = "|".join(WEEKDAYS)
    changed = False

    def weekday(m: re.Match[str]) -> str:
        nonlocal changed
        changed = True
        return f"{m.group(0)} ({human_date(weekday_before(m.group(1), pub))})"

    def relday(m: re.Match[str]) -> str:
        nonlocal changed
        changed = True
        offset = {"yesterday": 1, "today": 0}[m.group(0).lower()]
        return f"{m.group(0)} ({human_date(pub - dt.timedelta(days=offset))})"

    out = re.sub(rf"\b(?:on|last|this)\s+({days})\b", weekday, sentence, flags=re.I)
    out = re.sub(r"\b(?:yesterday|today)\b", relday, out, flags=re.I)
    return out if changed else None


def relative_mentions(sentence: str, published_at: str | None) -> list[tuple[str, str]]:
    """[('on Thursday', '4 July 2024'), ...]: relative day phrases resolved against the date."""
    resolved = resolve_relative(sentence, published_at)
    if resolved is None:
        return []
    return re.findall(r"(\b(?:on|last|this)\s+\w+day|\byesterday|\btoday)\s+\((\d{1,2} \w+ \d{4})\)",
                      resolved, flags=re.I)


def day_number(iso_date: str | None) -> int:
    """Days since 1970-01-01 for an ISO date; -1 when unknown (Chroma metadata cannot hold None)."""
    if not iso_date:
        return -1
    try:
        return (dt.date.fromisoformat(iso_date[:10]) - dt.date(1970, 1, 1)).days
    except ValueError:
        return -1
