"""Chat follow-ups: LLM rewrite over real HTTP, offline rewrite by carrying key terms."""

from __future__ import annotations

from pathlib import Path

import pytest
from openai_server import OpenAIServer, openai_server_fixture  # noqa: F401

from assistant.answer.llm.client import OpenAIChatClient, make_chat_client
from assistant.answer.rewrite import (
    looks_like_followup,
    offline_rewrite,
    rewrite_followup,
    rewrite_problem,
)
from assistant.config import Settings, load_settings
from assistant.errors import LLMError

HISTORY = [("Which country joined the SCO at its summit in Kazakhstan?",
            "Belarus joined the SCO on Thursday [1].")]
FOLLOW_UP = "And who represented India?"


def client_for(server: OpenAIServer) -> tuple[OpenAIChatClient, Settings]:
    settings = load_settings({"openai_base_url": server.base_url, "llm_first_token_timeout": 2.0,
                              "llm_retries": 0}, environ={}, dotenv_path=Path("/no/.env"))
    return make_chat_client(settings), settings


def test_offline_follow_up_carries_previous_key_terms() -> None:
    rewritten = offline_rewrite(HISTORY, FOLLOW_UP)
    assert rewritten.startswith("Who represented India?")
    for term in ("SCO", "Kazakhstan", "summit"):
        assert term in rewritten
    assert rewrite_followup(HISTORY, FOLLOW_UP, None) == rewritten


@pytest.mark.parametrize("question", [
    "Who represented India at the SCO summit?",
    "What did Xi Jinping say about chip exports?",
    "How many nations does the Belt and Road Initiative include?",
])
def test_standalone_questions_are_unchanged(question: str) -> None:
    assert not looks_like_followup(question)
    assert offline_rewrite(HISTORY, question) == question


@pytest.mark.parametrize("question", ["What about Pakistan?", "Why did they join?",
                                      "When was it founded?", "Who?"])
def test_follow_up_shapes_are_detected(question: str) -> None:
    assert looks_like_followup(question)
    assert "SCO" in offline_rewrite(HISTORY, question)


def test_no_history_means_no_rewrite(openai_server: OpenAIServer) -> None:
    client, _ = client_for(openai_server)
    assert rewrite_followup([], FOLLOW_UP, client) == FOLLOW_UP
    assert openai_server.chat_requests == []


def test_llm_rewrites_with_the_conversation(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(text='Standalone question: "Who represented India at the 2024 SCO '
                               'summit in Kazakhstan?"\n')
    client, settings = client_for(openai_server)
    rewritten = rewrite_followup(HISTORY, FOLLOW_UP, client, settings=settings)
    assert rewritten == "Who represented India at the 2024 SCO summit in Kazakhstan?"
    sent = "\n".join(m["content"] for m in openai_server.chat_requests[0].json["messages"])
    assert HISTORY[0][0] in sent and FOLLOW_UP in sent
    assert "Belarus joined the SCO on Thursday" in sent and "[1]" not in sent


def test_llm_empty_rewrite_falls_back_offline(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(text="   ")
    client, settings = client_for(openai_server)
    assert rewrite_followup(HISTORY, FOLLOW_UP, client, settings=settings) == offline_rewrite(
        HISTORY, FOLLOW_UP)


def test_llm_failure_propagates_for_the_caller_to_fall_back(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(status=500)
    client, settings = client_for(openai_server)
    with pytest.raises(LLMError, match="HTTP 500"):
        rewrite_followup(HISTORY, FOLLOW_UP, client, settings=settings)


def test_a_follow_up_keeps_its_own_focus_and_carries_only_the_subject() -> None:
    from assistant.answer.rewrite import offline_followup

    history = [("Who joined the SCO in 2024?", "Belarus. “The SCO added Belarus on Thursday.” [1]")]
    f = offline_followup(history, "And who represented India?")
    assert f.focus == "Who represented India?"
    assert "SCO" in f.context and "Belarus" not in f.context and "joined" not in f.context
    assert "SCO" in offline_followup(history, "Where was the summit held?").context
    assert offline_followup(history, "Why did they join?").context[0] == "Belarus"  # the referent
    chained = offline_followup([(f.standalone, "Narendra Modi sent his foreign minister [1].")],
                               "What did they say?")
    assert {"India", "SCO"} <= set(chained.context)


def test_a_follow_up_does_not_carry_how_the_question_was_asked() -> None:
    from assistant.answer.rewrite import offline_followup

    history = [("How many homes did the Velmora floods destroy this week?", "About 300 [1].")]
    f = offline_followup(history, "Which river burst its banks?")
    assert {"Velmora", "floods"} <= set(f.context) and "many" not in f.context
    asked = offline_followup([("What happened to the Velmora ferry?", "It sank [1].")], "Where did it sink?")
    assert "Velmora" in asked.context and "happened" not in asked.context
    chained = offline_followup([("When did that happen? (Velmora ferry)", "On Monday [1].")], "Where was it?")
    assert "happen" not in chained.context and "Velmora" in chained.context


@pytest.mark.parametrize(("rewrite", "problem"), [
    ("Who represented India at the 2024 SCO summit in Kazakhstan?", None),
    ("Which Indian official represented India at the SCO summit", None),  # asks, without "?"
    ("Answer: China", "is not a question"),
    ("India sent its foreign minister [1].", "is not a question"),
    ("Who won the 2022 World Cup?", "drops words of the question (india, represent)"),
    ("", "is empty"),
])
def test_rewrite_problem(rewrite: str, problem: str | None) -> None:
    assert rewrite_problem(rewrite, FOLLOW_UP) == problem


def test_llm_rewrite_that_is_no_question_falls_back_offline_and_says_so(
        openai_server: OpenAIServer) -> None:
    openai_server.enqueue(text="Answer: China")
    client, settings = client_for(openai_server)
    notes: list[str] = []
    rewritten = rewrite_followup(HISTORY, FOLLOW_UP, client, settings=settings,
                                 on_note=notes.append)
    assert rewritten == offline_rewrite(HISTORY, FOLLOW_UP)
    assert notes == [f'The model\'s rewrite of the follow-up ("Answer: China") is not a question: '
                     f'searched with the offline rewrite "{rewritten}" instead.']


def test_a_repeated_pronoun_keeps_its_referent_and_a_new_one_takes_the_answer() -> None:
    from assistant.answer.rewrite import offline_followup

    first = offline_followup([("Who won the Velmora mayoral race?", "Ilsa Marrow. “Ilsa Marrow won.” [1]")],
                             "Who did she beat?")
    assert first.context[0] == "Ilsa Marrow"
    history = [(first.standalone, "Jon Brel. “Marrow beat Jon Brel by 300 votes.” [1]")]
    again = offline_followup(history, "What share of the vote did she get?")
    assert "Jon Brel" not in again.context and "Marrow" in " ".join(again.context)
    other = offline_followup(history, "What share of the vote did he get?")
    assert other.context[0] == "Jon Brel"  # a new pronoun: the person the last answer named
