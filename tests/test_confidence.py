"""Answerability signals: what the best evidence holds of the question's rare words and names."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.answer.offline.confidence import Rarity, confidence, signals, staleness


@dataclass
class _Passage:
    text: str
    article_id: str
    published_at: str | None = None


@dataclass
class _Sentence:
    text: str


@dataclass
class _Scored:
    sentence: _Sentence
    passage: _Passage
    score: float
    cosine: float


def _terms(text: str) -> list[str]:
    stop = {"who", "the", "at", "a", "of", "in", "was", "did", "what"}
    return [w for w in re.findall(r"[a-z]+", text.lower()) if w not in stop]


def _rarity() -> Rarity:
    return Rarity(terms=_terms, idf=lambda ts: {t: 2.0 for t in ts}, prior=lambda w: 1.0, chunks=10_000)


def _one(sentence: str, score: float = 0.8) -> list[_Scored]:
    return [_Scored(_Sentence(sentence), _Passage(sentence, "a1"), score, 0.5)]


def test_a_demonym_in_the_sentence_carries_its_country() -> None:
    question = "Who represented India at the summit?"
    indian = "The Indian foreign minister represented the country at the summit."
    with_demonym = signals(question, _one(indian),
                           "foreign minister", True, _rarity())
    without = signals(question, _one("The foreign minister represented the country at the summit."),
                      "foreign minister", True, _rarity())
    assert with_demonym["rare_in_sentence"] == 1.0
    assert without["rare_in_sentence"] < 1.0
    assert confidence(with_demonym) > confidence(without)


def test_only_names_match_words_made_from_them() -> None:
    # "rate" is not a name: "ratepayers" does not carry it; a short name ("Ur") matches only itself
    evidence = _one("Ratepayers in Uruguay complained.")
    sig = signals("What was the rate in Ur?", evidence, None, True, _rarity())
    assert sig["rare_in_sentence"] == 0.0


def test_no_evidence_gives_no_signals_and_zero_confidence() -> None:
    assert signals("Who won?", [], None, True, _rarity()) == {}
    assert confidence({}) == 0.0


def _dated(sentence: str, article: str, day: str, score: float) -> _Scored:
    return _Scored(_Sentence(sentence), _Passage(sentence, article, day), score, 0.5)


def test_a_best_report_a_year_older_than_the_newest_found_is_stale_and_lowers_confidence() -> None:
    old = _dated("The mayor of Ur opened the new bridge over the river.", "a1", "2023-01-10", 0.8)
    new = _dated("Traffic in Ur was heavy on Monday.", "a2", "2024-02-01", 0.5)
    question = "Who opened the bridge in Ur?"
    assert staleness(question, old.passage, [old.passage, new.passage]) == 1.0
    stale = signals(question, [old, new], None, True, _rarity())
    fresh_old = _dated(old.sentence.text, "a1", "2024-01-25", 0.8)
    fresh = signals(question, [fresh_old, new], None, True, _rarity())
    assert fresh["stale"] == 0.0  # a week older than the newest: still the news of the day
    assert confidence(stale) < confidence(fresh)


def test_a_question_naming_a_year_or_an_undated_report_is_never_stale() -> None:
    old = _dated("The mayor of Ur opened the new bridge over the river.", "a1", "2023-01-10", 0.8)
    new = _dated("Traffic in Ur was heavy on Monday.", "a2", "2024-02-01", 0.5)
    assert staleness("Who opened the bridge in Ur in 2023?", old.passage, [old.passage, new.passage]) == 0.0
    undated = _dated(old.sentence.text, "a1", None, 0.8)  # type: ignore[arg-type]
    assert staleness("Who opened the bridge in Ur?", undated.passage, [undated.passage, new.passage]) == 0.0
    half = _dated(old.sentence.text, "a1", "2023-08-01", 0.8)
    assert 0.0 < staleness("Who opened the bridge in Ur?", half.passage, [half.passage, new.passage]) < 1.0
