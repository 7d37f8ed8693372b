"""`eval --jobs 2` in worker processes gives the same answers as one process, follow-ups included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import md, write_articles

from assistant.cli.main import cli
from assistant.eval.parallel import conversations
from assistant.eval.questions import EvalQuestion

ARTICLES = {
    "storm.md": md("Storm closes harbour", "2023-03-02",
                   "A storm closed the harbour of Varnholm for three days. Ferries to Quellport were "
                   "cancelled, and the port authority said repairs would cost 2 million euros."),
    "tram.md": md("Tram line approved", "2023-03-03",
                  "The council of Quellport approved a new tram line by 31 votes to 9. The mayor, "
                  "Ines Dorrow, said the first trams would run in 2026."),
    "frog.md": md("New frog species", "2023-03-04",
                  "Researchers in Bellacourt found a new species of frog in the Tarsuvo marshes. "
                  "The team leader, Dr Amal Whitcombe, named it after her grandmother."),
    "bread.md": md("Bread prize", "2023-03-05",
                   "Mirrowby's bakery won the national bread prize for its rye loaf. The owner, "
                   "Piet Hasselman, has baked in the town for 40 years."),
}
QUESTIONS: list[dict[str, Any]] = [
    {"id": "q1", "question": "Which harbour did the storm close?", "answer": "Varnholm",
     "question_date": "2023-03-06"},
    {"id": "q2", "question": "Who is the mayor of Quellport?", "answer": "Ines Dorrow",
     "question_date": "2023-03-06"},
    {"id": "q3", "question": "Who found the new frog species?", "answer": "Amal Whitcombe",
     "choices": ["Piet Hasselman", "Amal Whitcombe", "Ines Dorrow"], "answer_index": 1,
     "question_date": "2023-03-06"},
    {"id": "q4", "question": "Which bakery won the bread prize?", "answer": "Mirrowby",
     "choices": ["Varnholm", "Mirrowby", "Bellacourt"], "answer_index": 1,
     "question_date": "2023-03-06"},
    {"id": "q5", "question": "How much will the harbour repairs cost?", "answer": "2 million euros",
     "question_date": "2023-03-06"},
    {"id": "q6", "question": "And when will the first trams run?", "answer": "2026",
     "previous": "q2", "question_date": "2023-03-06"},
]


@pytest.fixture()
def folders(tmp_path: Path) -> tuple[Path, Path]:
    docs = write_articles(tmp_path / "docs", ARTICLES)
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    return docs, questions


def _eval(tmp_path: Path, model_cache: Path, docs: Path, questions: Path, jobs: int) -> dict[str, Any]:
    env = {"ASSISTANT_STORE": str(tmp_path / f"store-{jobs}"), "ASSISTANT_CACHE_DIR": str(model_cache)}
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", str(docs)], env=env, catch_exceptions=False).exit_code == 0
    out = tmp_path / f"out-{jobs}"
    result = runner.invoke(cli, ["eval", str(questions), "--out", str(out), "--jobs", str(jobs)],
                           env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text("utf-8").splitlines()]
    assert json.loads((out / "summary.json").read_text("utf-8"))["config"]["jobs"] == jobs
    return {r["id"]: r for r in rows}


def _comparable(record: dict[str, Any]) -> Any:
    a = record["answer"]
    return (a["answer"], a["mode"], a.get("choice_index"), a["citations"],
            [(p["chunk_id"], p["score"]) for p in a["passages"]], a.get("rewritten_question"),
            record["scores"])


def test_two_workers_answer_like_one_process(tmp_path: Path, model_cache: Path,
                                             folders: tuple[Path, Path]) -> None:
    docs, questions = folders
    parallel = _eval(tmp_path, model_cache, docs, questions, jobs=2)  # each on a cold cache
    single = _eval(tmp_path, model_cache, docs, questions, jobs=1)
    assert set(parallel) == set(single) == {q["id"] for q in QUESTIONS}
    for qid in single:
        assert _comparable(parallel[qid]) == _comparable(single[qid]), qid
    assert parallel["q6"]["answer"]["rewritten_question"]  # the follow-up saw its first turn


def test_conversations_keep_follow_ups_together() -> None:
    qs = [EvalQuestion(id=i, question=i, previous=p) for i, p in
          [("a", None), ("b", None), ("c", "a"), ("d", "c"), ("e", None)]]
    by_id = {q.id: q for q in qs}
    groups = [[q.id for q in c.questions] for c in conversations(qs, by_id, {})]
    assert groups == [["a", "c", "d"], ["b"], ["e"]]
    later = conversations(qs[3:], by_id, {})  # d's earlier turns were answered before (resume)
    assert [[q.id for q in c.questions] for c in later] == [["d"], ["e"]]
