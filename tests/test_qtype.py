"""What a question asks for (answer/offline/qtype.py), on questions written for these tests."""

from __future__ import annotations

import pytest

from assistant.answer.offline.qtype import cue_type, expected_type


@pytest.mark.parametrize(("question", "kind", "head"), [
    ("How much did the museum pay for the painting?", "money", None),
    ("How many passengers were on the ferry?", "number", "passengers"),
    ("How old was the oldest finisher of the marathon?", "number", None),
    ("When did the bridge reopen?", "date", None),
    ("In which year did the festival begin?", "date", None),
    ("Which carmaker is recalling its electric vans?", "name", "carmaker"),
    ("Which of these cities hosted the summit?", "name", "cities"),
    ("What price did the auction house set for the violin?", "money", "price"),
    ("Who chaired the committee hearing?", "name", None),
    ("Why did the airline cancel the flights?", "other", None),
    ("Who is Ilsa Marrow?", "other", None),  # who she is: a description, not a name
    ("And who was Admiral Brel Ostrava?", "other", None),
    ("Who is Velmora's harbour master?", "name", None),
    ("Who is Velmora Port Authority Chief?", "name", None),  # a role: its holder's name
])
def test_expected_type(question: str, kind: str, head: str | None) -> None:
    assert expected_type(question) == (kind, head)


@pytest.mark.parametrize(("question", "cue"), [
    ("Where did the ferry run aground?", "where"),
    ("Which country hosted the summit?", "where"),
    ("Who won the chess final?", "who"),
    ("When did the strike end?", "when"),
    ("How many seats did the party win?", "number"),
    ("How did the fire start?", "other"),
])
def test_cue_type(question: str, cue: str) -> None:
    assert cue_type(question) == cue


@pytest.mark.parametrize(("question", "kind", "head"), [
    ("What did the mayor say about the flood?", "other", None),
    ("What happened to the stranded hikers?", "other", None),
    ("What was the death toll of the landslide?", "number", "death toll"),
    ("What is the capital of Ostravia?", "name", "capital"),
    ("Which US state passed the law?", "name", "us state"),
    ("What percentage of the vote did she win?", "number", "percentage"),
    ("What is the name of the new ferry?", "name", None),
    ("Which carmaker recalled its electric vans?", "name", "carmaker"),
])
def test_heads_come_from_the_noun_not_the_verb(question: str, kind: str, head: str | None) -> None:
    assert expected_type(question) == (kind, head)


@pytest.mark.parametrize("question", ["What share of the vote did the party win?",
                                      "What proportion of the budget goes to defence?"])
def test_a_share_or_proportion_is_a_number(question: str) -> None:
    assert expected_type(question)[0] == "number"
