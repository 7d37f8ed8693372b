"""Citations number articles (answer/numbering.py): one article, one number, first cited first."""

from __future__ import annotations

from assistant.answer.numbering import by_article
from assistant.cli.render import render_answer, render_passages
from assistant.models import Answer, Citation, Passage


def _p(n: int, article: str, text: str) -> Passage:
    return Passage(n, f"c{n}", article, f"Title of {article}", "example.com", None,
                   f"/news/{article}.txt", "2024-07-04", text, 1.0 / n)


def _c(p: Passage, quote: str) -> Citation:
    return Citation(p.n, p.article_id, p.title, p.source, p.published_at, p.url, p.path, quote)


def test_passages_of_one_article_share_its_number_and_the_first_cited_is_1() -> None:
    ps = [_p(1, "b", "Bees swarmed."), _p(2, "a", "Ants marched."), _p(3, "a", "Ants rested.")]
    answer = Answer("q", "“Ants marched.” [2] “Ants rested.” [3] “Bees swarmed.” [1]", "extractive",
                    citations=[_c(ps[1], "Ants marched."), _c(ps[2], "Ants rested."),
                               _c(ps[0], "Bees swarmed.")], passages=ps)
    out = by_article(answer)
    assert out.answer == "“Ants marched.” [1] “Ants rested.” [1] “Bees swarmed.” [2]"
    assert [(c.n, c.quote) for c in out.citations] == [(1, "Ants marched."), (1, "Ants rested."),
                                                      (2, "Bees swarmed.")]
    assert [p.n for p in out.passages] == [2, 1, 1]  # retrieval order kept, numbers by article
    sources = render_answer(out).split("Sources")[1]
    assert sources.count("Title of a") == 1 and sources.count("Title of b") == 1
    assert "[1] Title of a" in sources and "[2] Title of b" in sources and "1, 1" not in sources
    assert render_passages(out.passages).count("Title of a") == 1


def test_uncited_articles_follow_the_cited_ones_and_lists_of_markers_collapse() -> None:
    ps = [_p(1, "a", "x"), _p(2, "b", "y"), _p(3, "a", "z")]
    out = by_article(Answer("q", "Both [2, 3].", "llm", citations=[_c(ps[1], "y"), _c(ps[2], "z")],
                            passages=ps))
    assert out.answer == "Both [1, 2]." and [p.n for p in out.passages] == [2, 1, 2]
    assert by_article(Answer("q", "Nothing.", "none")).answer == "Nothing."


def test_a_model_is_shown_one_passage_per_article() -> None:
    from assistant.answer.numbering import merge_by_article

    ps = [_p(1, "a", "Ants marched."), _p(2, "b", "Bees swarmed."), _p(3, "a", "Ants rested.")]
    merged = merge_by_article(ps)
    assert [(p.n, p.article_id) for p in merged] == [(1, "a"), (2, "b")]
    assert merged[0].text == "Ants marched.\n\nAnts rested."
