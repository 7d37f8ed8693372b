"""End to end on real Chroma in tmp_path with the packaged embedder: ingest, retrieve, answer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from helpers import SEED, md, write_articles

from assistant.app import App
from assistant.models import NOT_FOUND
from assistant.qa import AskOptions, ask
from assistant.retrieve.hybrid import Query


def _ingest(app: App, *paths: Path) -> None:
    with app.writer_lock():
        app.indexer().run(list(paths))


def test_seed_question_is_answered_with_a_verbatim_dated_citation(make_app: Callable[..., App]) -> None:
    app = make_app()
    _ingest(app, SEED.parent)
    answer = ask(app, "Who joined the SCO in 2024?", AskOptions())
    assert answer.mode == "extractive"
    assert "Belarus" in answer.answer
    first = answer.citations[0]
    assert first.published_at == "2024-07-04"
    assert first.path.endswith("seeds/000_e8d20170f0601f30.txt")
    assert first.quote in SEED.read_text(encoding="utf-8")
    assert answer.date_window == ("2024-01-01", "2024-12-31")
    assert "4 July 2024" in answer.answer  # "on Thursday" resolved against the article's date


def test_unanswerable_question_gets_the_fixed_sentence(make_app: Callable[..., App]) -> None:
    app = make_app()
    _ingest(app, SEED.parent)
    answer = ask(app, "Who won the 2022 football World Cup?", AskOptions())
    assert (answer.mode, answer.answer, answer.citations) == ("none", NOT_FOUND, [])


def test_a_rare_name_comes_first_when_a_topic_crowds_the_dense_list(make_app: Callable[..., App],
                                                     tmp_path: Path) -> None:
    # Twelve reports on one topic and one with a made-up name: BM25 puts the only chunk with the
    # name first, and fusion keeps it there whatever rank dense search gives it.
    topic = ["The striker will miss the rest of the season with a knee injury.",
             "The goalkeeper is out for six weeks with a shoulder injury.",
             "The captain suffered a hamstring injury in training.",
             "The winger's ankle injury is worse than first feared.",
             "The defender faces surgery on a back injury.",
             "The midfielder has a groin injury and will miss the derby.",
             "The full-back injured his calf and is doubtful for Saturday.",
             "The club confirmed the forward's foot injury needs an operation.",
             "The keeper's wrist injury will keep him out until spring.",
             "The coach said the centre-back's knee injury is not serious.",
             "The young striker's thigh injury has ruled him out for a month.",
             "The veteran defender injured his neck in the win on Sunday."]
    docs = {f"i{i:02d}.md": md(f"Injury update {i}", f"2022-05-{i + 1:02d}", t)
            for i, t in enumerate(topic)}
    docs["name.md"] = md("Transfer news", "2022-05-20",
                         "Szczesniakowski signed for the club in a record transfer from Poland.")
    app = make_app()
    _ingest(app, write_articles(tmp_path / "docs", docs))
    q = "Which club did Szczesniakowski join?"
    lexical = app.retriever.retrieve(Query(q, top_k=1, mode="lexical")).passages
    hybrid = app.retriever.retrieve(Query(q, top_k=3)).passages
    assert "Szczesniakowski" in lexical[0].text and "Szczesniakowski" in hybrid[0].text
    topic = app.retriever.retrieve(Query("Which players are injured?", top_k=3)).passages
    assert all("injur" in p.text for p in topic)  # the same store answers the topic with the topic


def test_seed_follow_up_where_and_what_was_said(make_app: Callable[..., App]) -> None:
    app = make_app()
    _ingest(app, SEED.parent)
    first = ask(app, "Who joined the SCO in 2024?", AskOptions())
    follow = ask(app, "And who represented India?", AskOptions(),
                 history=[("Who joined the SCO in 2024?", first.answer)])
    assert follow.rewritten_question is not None and "SCO" in follow.rewritten_question
    assert follow.mode == "extractive" and "foreign minister" in follow.citations[0].quote
    assert "Belarus" not in follow.answer
    where = ask(app, "Where was the summit held?", AskOptions())
    assert where.answer.startswith("Kazakhstan") and "Kazakhstan" in where.citations[0].quote
    said = ask(app, "What did Modi say?", AskOptions())
    assert said.mode == "extractive" and not said.answer.startswith("Narendra Modi")
    assert [c.n for c in first.citations] == [1] and {p.n for p in first.passages} == {1}


def test_seed_when_questions_date_the_news_not_the_background(make_app: Callable[..., App]) -> None:
    # "The SCO, which was founded ... in 2001 ..., added Belarus ... on Thursday." (published 2024-07-04)
    app = make_app()
    _ingest(app, SEED.parent)
    joined = ask(app, "When did Belarus join the SCO?", AskOptions())
    assert joined.answer.startswith("4 July 2024.") and "(on Thursday = 4 July 2024)" in joined.answer
    assert "on Thursday" in joined.citations[0].quote
    founded = ask(app, "When was the SCO founded?", AskOptions())
    assert founded.answer.startswith("2001.") and "2001" in founded.citations[0].quote


def test_as_of_excludes_later_articles_and_newest_count_wins(make_app: Callable[..., App],
                                                            tmp_path: Path) -> None:
    folder = write_articles(tmp_path / "docs", {
        "a.md": md("Flood toll rises", "2022-03-01", "The death toll from the Valdora floods rose to 42 on Tuesday."),
        "b.md": md("Flood toll climbs", "2022-03-03", "The death toll from the Valdora floods climbed to 55, officials said."),
        "c.md": md("Flood toll grows", "2022-03-05", "The death toll from the Valdora floods reached 61, officials said."),
    })
    app = make_app()
    _ingest(app, folder)
    answer = ask(app, "What is the death toll from the Valdora floods?",
                 AskOptions(as_of=dt.date(2022, 3, 4)))
    assert all(p.published_at is not None and p.published_at <= "2022-03-04" for p in answer.passages)
    assert "61" not in answer.answer
    assert answer.answer.split("“")[0].find("55") >= 0 or answer.citations[0].quote.find("55") >= 0
    assert "2022-03-03" in answer.answer


def test_year_in_question_prefers_that_year(make_app: Callable[..., App], tmp_path: Path) -> None:
    folder = write_articles(tmp_path / "docs", {
        "old.md": md("Summit held", "2023-06-01", "The Borealis summit was held in Oslo with ten leaders."),
        "new.md": md("Summit held again", "2024-06-01", "The Borealis summit was held in Bergen with twelve leaders."),
    })
    app = make_app()
    _ingest(app, folder)
    first = app.retriever.retrieve(Query("Where was the Borealis summit held in 2024?", top_k=2))
    assert first.window is not None and first.window.as_iso() == ("2024-01-01", "2024-12-31")
    assert first.passages[0].published_at == "2024-06-01"
    other = app.retriever.retrieve(Query("Who stayed in room 2099 at the Borealis summit?", top_k=2))
    assert other.window is None and len(other.passages) == 2


def test_reingest_is_free_and_sync_removes_deleted(make_app: Callable[..., App], tmp_path: Path) -> None:
    folder = write_articles(tmp_path / "docs", {
        "a.md": md("Alpha", "2022-01-01", "Alpha company opened a plant in Ohio."),
        "b.md": md("Beta", "2022-01-02", "Beta company closed a mine in Chile."),
    })
    app = make_app()
    _ingest(app, folder)
    ids = app.store.all_ids()
    with app.writer_lock():
        again = app.indexer().run([folder])
    assert (again.embedded, again.articles_indexed) == (0, 0)
    assert app.store.all_ids() == ids
    (folder / "b.md").write_text(md("Beta", "2022-01-02", "Beta company reopened a mine in Peru."))
    with app.writer_lock():
        edited = app.indexer().run([folder])
    assert (edited.articles_changed, edited.embedded) == (1, 1)
    assert len(app.store.all_ids() & ids) == len(ids) - 1
    (folder / "b.md").unlink()
    with app.writer_lock():
        synced = app.indexer().run([folder], prune=True)
    assert synced.articles_removed == 1
    assert all("Beta" not in app.manifest.chunk_rows([c])[c]["title"] for c in app.store.all_ids())
    answer = ask(app, "Where did Beta company reopen a mine?", AskOptions())
    assert all(c.title != "Beta" for c in answer.citations)


def test_each_choice_is_searched_by_its_words_and_the_named_one_wins(make_app: Callable[..., App],
                                                                  tmp_path: Path) -> None:
    reports = {f"r{i}.md": md(f"Harbour report {i}", f"2031-03-0{i + 1}",
                              f"The Velmora harbour commission met again on day {i} to discuss "
                              "the ferry timetable.")
               for i in range(6)}
    reports["chair.md"] = md("New chair", "2031-03-09",
                             "Ilsa Marrow was elected to lead the Velmora harbour commission.")
    app = make_app()
    _ingest(app, write_articles(tmp_path / "docs", reports))
    seen: list[tuple[str, str]] = []
    retrieve = app.retriever.retrieve

    def spy(q: Query) -> object:
        seen.append((q.text, q.mode))
        return retrieve(q)

    app.retriever.retrieve = spy  # type: ignore[method-assign]
    question = "Who was elected to chair the Velmora harbour commission?"
    choices = ("Tomas Brevik", "Ilsa Marrow", "Anka Solberg", "Piet Dranner")
    answer = ask(app, question, AskOptions(choices=choices, check_stale=False))
    assert answer.choice_index == 1 and answer.choice_evidence == "named"
    assert seen[0] == (question, "hybrid")
    assert sorted(seen[1:]) == sorted((f"{question} {c}", "lexical") for c in choices)
