"""Answerability signals: what the best evidence holds of the question's rare words and names."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.answer.offline.confidence import Rarity, confidence, signals


@dataclass
class _Passage:
    text: str
    article_id: str


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
