"""Date windows in questions and relative dates in evidence."""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.dates import parse_day, question_window, resolve_relative

REF = dt.date(2024, 7, 10)


@pytest.mark.parametrize(
    ("question", "window"),
    [
        ("Who joined the SCO in 2024?", ("2024-01-01", "2024-12-31")),
        ("What happened in September 2022?", ("2022-09-01", "2022-09-30")),
        ("What did the court rule on July 4, 2024?", ("2024-07-04", "2024-07-05")),
        ("What happened yesterday?", ("2024-07-09", "2024-07-09")),
        ("Who resigned last week?", ("2024-06-27", "2024-07-10")),
        ("Who won the 2022 World Cup?", ("2022-01-01", "2022-12-31")),
    ],
)
def test_question_windows(question: str, window: tuple[str, str]) -> None:
    found = question_window(question, REF)
    assert found is not None and found.as_iso() == window


@pytest.mark.parametrize("question", ["Who stayed in room 2099?", "Where did Flight 2024 land?",
                                      "How many votes did 2024 candidates get?"])
def test_numbers_that_are_not_dates(question: str) -> None:
    assert question_window(question, REF) is None


def test_on_thursday_resolves_against_publication_date() -> None:
    out = resolve_relative("added Belarus to the group on Thursday.", "2024-07-04")
    assert out == "added Belarus to the group on Thursday (4 July 2024)."
    assert resolve_relative("met on Wednesday", "2024-07-04") == "met on Wednesday (3 July 2024)"
    assert resolve_relative("on Thursday", None) is None
    assert resolve_relative("no dates here", "2024-07-04") is None


def test_parse_date() -> None:
    assert parse_day("2022/06/17") == dt.date(2022, 6, 17)
    assert parse_day("2024-07-04T12:00:00Z") == dt.date(2024, 7, 4)
    assert parse_day("2022.6.7") == dt.date(2022, 6, 7)
    with pytest.raises(ValueError, match="not YYYY-MM-DD"):
        parse_day("yesterday")
    with pytest.raises(ValueError, match="not a real day"):
        parse_day("2022-02-30")
