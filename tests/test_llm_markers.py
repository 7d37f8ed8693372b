"""How models write citations, read over real HTTP (the scripted server): markers after the full
stop, uncited sentences the checker attributes, and supported answers that answer something else."""

from __future__ import annotations

import pytest
from openai_server import OpenAIServer, openai_server_fixture  # noqa: F401
from test_citations import seed_passages
from test_llm_answer import settings_for

from assistant.answer.llm.client import make_chat_client
from assistant.answer.llm.write import answer_with_llm
from assistant.models import Answer

CLAIM = "Belarus was added to the SCO on Thursday"
QUESTION = "Who joined the SCO in 2024?"
RARE_EARTHS = ("Meanwhile, Beijing, a leading producer of rare earth elements essential for "
               "chip-making, has introduced licensing requirements for their export, potentially "
               "restricting access for US companies.")


def answer(server: OpenAIServer, reply: str, question: str = QUESTION) -> Answer:
    server.enqueue(text=reply)
    settings = settings_for(server)
    return answer_with_llm(question, seed_passages(), make_chat_client(settings), settings)


@pytest.mark.parametrize("reply", [
    f"{CLAIM}. [1]", f"{CLAIM}.[1]", f"{CLAIM}. [1][2]", f"{CLAIM}. (Article 1)",
    f"{CLAIM}. (Source 1)", f"{CLAIM} [1].", f"{CLAIM}. [1] It was its tenth member. [1]",
])
def test_a_marker_after_the_full_stop_cites_that_sentence(openai_server: OpenAIServer,
                                                          reply: str) -> None:
    got = answer(openai_server, reply)
    assert got.mode == "llm" and got.llm is not None
    assert got.llm["verification"] in ("verified", "partly"), got.llm
    assert "attributed" not in got.llm  # the model cited it itself
    assert got.citations[0].n == 1 and "Belarus" in got.citations[0].quote
    assert got.answer.startswith(f"{CLAIM}.") or got.answer.startswith(f"{CLAIM} [1].")
    assert "Article" not in got.answer and "Source" not in got.answer  # shown as [1]


def test_an_uncited_supported_sentence_is_attributed_and_marked_so(openai_server: OpenAIServer) -> None:
    got = answer(openai_server, f"{CLAIM}.")
    assert got.llm is not None and got.llm["verification"] == "verified"
    assert got.llm["attributed"] == [f"{CLAIM}."]
    assert got.answer == f"{CLAIM}. [1]" and [c.n for c in got.citations] == [1]
    assert got.to_json()["llm"]["attributed"] == [f"{CLAIM}."]


def test_an_uncited_unsupported_sentence_counts_against_the_answer(openai_server: OpenAIServer) -> None:
    got = answer(openai_server, "Narnia joined the SCO in 2024 at a summit held in Paris.")
    assert got.llm is not None and got.llm["verification"] == "unverified"
    assert "attributed" not in got.llm and "no valid citation" in got.llm["reasons"]


def test_a_supported_answer_that_does_not_address_the_question_is_unverified(
    openai_server: OpenAIServer
) -> None:
    holder = next(p for p in seed_passages() if "rare earth" in p.text)
    got = answer(openai_server, f"{RARE_EARTHS} [{holder.n}]")
    assert got.llm is not None and got.llm["verification"] == "unverified"
    assert any(r.startswith("does not answer the question") for r in got.llm["reasons"])


@pytest.mark.parametrize(("question", "reply"), [
    ("How many countries joined the SCO on Thursday?", f"{CLAIM} [1]."),
    ("When did Belarus join the SCO?", "Belarus joined the SCO, which China and Russia founded [1]."),
])
def test_an_answer_without_a_span_of_the_asked_kind_is_unverified(
    openai_server: OpenAIServer, question: str, reply: str
) -> None:
    got = answer(openai_server, reply, question)
    assert got.llm is not None and got.llm["verification"] == "unverified", got.llm
    assert any("does not answer the question (no " in r for r in got.llm["reasons"])


LOWER = CLAIM[0].lower() + CLAIM[1:]


@pytest.mark.parametrize("reply", [
    f"Article 1 states that {LOWER}.", f"This is supported by article 1, which states that {LOWER}.",
    f"{CLAIM}, as stated in Article 1.", f"According to article 1, {LOWER}.",
])
def test_citations_written_as_words_cite_that_article(openai_server: OpenAIServer, reply: str) -> None:
    got = answer(openai_server, reply)
    assert got.llm is not None and got.llm["verification"] == "verified", got.llm
    assert got.answer == f"{CLAIM}. [1]" and "attributed" not in got.llm


def test_a_sentence_about_the_answer_itself_needs_no_citation(openai_server: OpenAIServer) -> None:
    got = answer(openai_server, f"{CLAIM} [1]. This directly answers the question about who joined.")
    assert got.llm is not None and got.llm["verification"] == "verified", got.llm


def test_a_date_written_out_matches_the_reports_date(openai_server: OpenAIServer) -> None:
    got = answer(openai_server, "Belarus was added to the SCO on July 4, 2024.")
    assert got.llm is not None and got.llm["verification"] == "verified", got.llm
