"""`assistant eval` glue (eval/run.py): questions go through the same path as `ask`, per-question
as-of and choices included, and the run writes its results and summary."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers import SEED

from assistant.app import App
from assistant.eval.run import evaluate_file
from assistant.qa import AskOptions


class Bar:
    def __init__(self, total: int) -> None:
        self.total, self.n, self.unit, self.closed = total, 0, "", False

    def refresh(self) -> None: ...

    def close(self) -> None:
        self.closed = True


def test_a_question_file_runs_through_the_ask_path(make_app: Callable[..., App],
                                                   tmp_path: Path) -> None:
    app = make_app(seeds_dir=str(SEED.parent))
    questions = tmp_path / "q.jsonl"
    rows: list[dict[str, Any]] = [
        {"id": "sco", "question": "Who joined the SCO in 2024?", "answer": "Belarus",
         "question_date": "2024-07-05"},
        {"id": "mc", "question": "Which country joined the SCO?", "answer": "Belarus",
         "choices": ["Brazil", "Belarus", "Chile", "Peru"], "answer_index": [1]},
        {"id": "early", "question": "Who joined the SCO in 2024?", "answer": "Belarus",
         "as_of": "2024-07-01"},  # before the article: nothing may be used
    ]
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    bars: list[Bar] = []
    notes: list[str] = []

    def bar(total: int) -> Bar:
        bars.append(Bar(total))
        return bars[-1]

    summary, out = evaluate_file(app, questions, tmp_path / "out", None, False,
                                 AskOptions(no_llm=True), bar, notes.append)
    results = {r["id"]: r for r in map(json.loads, (out / "results.jsonl").open())}
    assert results["sco"]["answer"]["answer"].startswith("Belarus")
    assert results["mc"]["answer"]["choice_index"] == 1
    assert results["early"]["answer"]["passages"] == []
    assert summary["n"] == 3 and summary["metrics"]["mc"]["accuracy"] == 1.0
    assert json.loads((out / "summary.json").read_text())["n"] == 3
    assert bars[0].total == 3 and bars[0].closed and any("indexing" in n for n in notes)
