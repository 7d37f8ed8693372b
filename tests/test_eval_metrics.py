"""Unit tests of the eval metrics: normalisation, EM/F1, short answers, evidence, citations."""

from __future__ import annotations

import pytest

from assistant.eval.metrics import (
    citation_valid,
    contains,
    exact_match,
    fact_units,
    normalize_answer,
    score_question,
    short_answer,
    token_f1,
    unit_in_passage,
)
from assistant.eval.questions import EvalQuestion
from assistant.eval.summary import percentile


def test_normalize_answer_is_squad_with_unicode_punctuation() -> None:
    assert normalize_answer("The “Squid Game”!") == "squid game"
    assert normalize_answer("  An   apple, a Day ") == "apple day"
    assert normalize_answer("U.S. $2.9 billion") == "us 29 billion"
    assert normalize_answer("Theatre") == "theatre"  # articles only as whole words


def test_exact_match_and_f1_take_the_best_gold() -> None:
    assert exact_match("the Ford", ["Ford Motor", "Ford"]) == 1.0
    assert exact_match("Ford Motor Company", ["Ford"]) == 0.0
    # pred [president, joe, biden], gold [joe, biden]: P = 2/3, R = 1 -> F1 = 0.8
    assert token_f1("President Joe Biden", ["Joe Biden"]) == pytest.approx(0.8)
    assert token_f1("Messi captained team", ["Lionel Messi", "Messi"]) == pytest.approx(0.5)
    assert token_f1("Paris", ["London"]) == 0.0
    assert token_f1("", ["London"]) == 0.0


def test_contains_respects_word_boundaries() -> None:
    assert contains("Shares of Ford fell [1].", ["Ford"])
    assert not contains("Few can afford it.", ["Ford"])
    assert contains("It was “Squid Game” again", ["Squid Game"])
    assert not contains("anything", [""])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ford [1] recalled 2.9 million vehicles.", "Ford"),
        ("Argentina won [1].", "Argentina won"),
        (
            "President Joe Biden signed it. He did so on Tuesday [2].",
            "President Joe Biden signed it.",
        ),
        ("The U.S. Supreme Court ruled [3]. Later more.", "The U.S. Supreme Court ruled"),
        ("Gov. Abbott sent buses. Then [1].", "Gov. Abbott sent buses."),
        ("[1] Yellowstone flooded. Roads closed.", "Yellowstone flooded."),
        ("Yellowstone [1, 2]", "Yellowstone"),
        ("No marker and no stop", "No marker and no stop"),
        ("Acme Motor Co. \u201cAcme Motor Co. is recalling 9 vans.\u201d [1]", "Acme Motor Co."),
        ("Jane Roe. \u201c(Wire) Jane Roe has withdrawn.\u201d [2]", "Jane Roe."),
        ("Lisbon. \u201c\u201cIt was hot,\u201d she said.\u201d [1]", "Lisbon."),
    ],
)
def test_short_answer_cuts_at_first_marker_or_sentence_end(text: str, expected: str) -> None:
    assert short_answer(text) == expected


def test_fact_units_split_sentences_and_keep_short_facts_whole() -> None:
    units = fact_units("Flooding shut Yellowstone this week. Roads washed out. It closed.")
    assert units == [["flooding", "shut", "yellowstone", "this", "week"]]  # short ones dropped
    assert fact_units("Ford won.") == [["ford", "won"]]


def test_unit_in_passage_allows_small_differences_but_keeps_order() -> None:
    passage = normalize_answer("Argentina won the World Cup final in Qatar on Sunday.").split()
    # 7 of 8 tokens in order (one word missing in the passage): found
    assert unit_in_passage(
        ["argentina", "won", "2022", "world", "cup", "final", "in", "qatar"], passage
    )
    # same words, another order: 4 of 6 in order, below 80%
    other = ["on", "tuesday", "president", "biden", "signed", "bill", "into", "law"]
    assert not unit_in_passage(["president", "biden", "signed", "bill", "on", "tuesday"], other)
    # tokens spread over a long passage do not count
    unit = ["argentina", "won", "world", "cup", "final", "in", "qatar"]
    spread = [tok for word in unit for tok in (word, "x", "x", "x")]
    assert not unit_in_passage(unit, spread)
    assert unit_in_passage(unit, ["x", *unit[:3], "big", *unit[3:], "x"])


def test_citation_valid_needs_range_and_verbatim_quote() -> None:
    passages = {1: ["Ford said so.", "Ford recalled 2.9 million vehicles this week."]}  # one article
    assert citation_valid({"n": 1, "quote": "recalled 2.9 million"}, passages)
    assert not citation_valid({"n": 2, "quote": "recalled 2.9 million"}, passages)
    assert not citation_valid({"n": 1, "quote": "recalled 3 million"}, passages)
    assert not citation_valid({"n": 1, "quote": "  "}, passages)


def test_percentile_interpolates_like_numpy() -> None:
    assert percentile([10.0, 20.0, 30.0, 40.0], 50) == 25.0
    assert percentile([10.0, 20.0, 30.0, 40.0], 95) == pytest.approx(38.5)
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None


def _passage(n: int, article_id: str, text: str) -> dict[str, object]:
    return {"n": n, "article_id": article_id, "text": text}


def test_score_question_ignores_passages_beyond_top_k_and_zeroes_refusals() -> None:
    q = EvalQuestion(id="x", question="Who?", answer="Sue Bird", gold_doc_ids=["g"])
    ans = {
        "answer": "Sue Bird [1].",
        "mode": "none",
        "citations": [],
        "passages": [_passage(1, "a", "Sue Bird retired."), _passage(2, "b", "Nothing."),
                     _passage(3, "c", "Nothing."), _passage(4, "g", "Sue Bird")],  # 4th: beyond k
    }
    scores = score_question(q, ans, top_k=3)
    assert scores["retrieval"] == {
        "gold_rank": None,
        "hit@1": False,
        "hit@5": False,
        "hit@k": False,
        "rr": 0.0,
    }
    assert scores["answer"]["em"] == 0.0 and scores["answer"]["contains"] is False
    assert scores["refusal"] == {"refused": True, "unanswerable": False}
    failed = score_question(q, None, top_k=3)
    assert failed["mode"] == "error" and failed["refusal"]["refused"] is False


def test_refusal_precision_is_none_without_unanswerable_questions_and_markers_count() -> None:
    from assistant.eval.questions import _question_from_obj
    from assistant.eval.summary import ScoredRow, build_summary

    objs = [{"question": "Who won the 2031 race?", "question_type": "unanswerable"},
            {"question": "Who won the 2032 race?", "answerable": False, "question_type": "sports"},
            {"question": "Who won the 2022 race?", "answer": "Ana", "question_type": "sports"},
            {"question": "Who won the 2021 race?", "answer": "Bo", "question_type": "answerable"}]
    questions = [_question_from_obj(obj, i) for i, obj in enumerate(objs, 1)]
    assert [q.answer for q in questions] == ["", "", "Ana", "Bo"]
    refused = {"mode": "none", "answer": "I could not find this.", "passages": [], "citations": []}
    rows = [ScoredRow(q, score_question(q, refused, 5), 1.0) for q in questions]
    summary = build_summary(rows, 5, {})
    assert summary["metrics"]["refusal"] == {"n": 4, "unanswerable": 2, "refused": 4,
                                             "precision": 0.5, "recall": 1.0}
    answerable = summary["by_type"]["answerable"]["refusal"]  # refused, but nothing to refuse
    assert answerable["precision"] is None and answerable["recall"] is None
    assert summary["by_type"]["unanswerable"]["refusal"]["recall"] == 1.0
