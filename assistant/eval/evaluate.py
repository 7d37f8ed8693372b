"""Question file -> per-question results (crash-safe, resumable) -> metrics, report and chart."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError, EvalError
from assistant.eval.io import (
    RESULTS,
    answer_from_json,
    append_record,
    prepare_results,
    read_results,
    write_atomic,
)
from assistant.eval.metrics import score_question
from assistant.eval.parallel import AskFactory, answer_in_workers, conversations
from assistant.eval.questions import EvalQuestion, load_questions
from assistant.eval.report import compare_summaries, format_comparison, render_markdown, render_png
from assistant.eval.summary import ScoredRow, build_summary
from assistant.models import Answer

__all__ = [
    "AskFn",
    "EvalQuestion",
    "compare_summaries",
    "format_comparison",
    "load_questions",
    "run_eval",
    "summarize_results",
]

History = list[tuple[str, Answer]]
AskFn = Callable[[EvalQuestion, History], Answer]
ProgressFn = Callable[[int, int, EvalQuestion], None]


def _history(
    q: EvalQuestion, by_id: dict[str, EvalQuestion], answers: dict[str, Answer]
) -> History:
    """Earlier turns of q's conversation, oldest first (turns that failed are left out)."""
    turns: History = []
    seen = {q.id}
    prev = q.previous
    while prev is not None and prev in by_id and prev not in seen:
        seen.add(prev)
        if prev in answers:
            turns.append((by_id[prev].question, answers[prev]))
        prev = by_id[prev].previous
    return turns[::-1]


def _record(
    q: EvalQuestion, answer: Answer | None, error: str | None, ms: float, top_k: int
) -> dict[str, Any]:
    payload = answer.to_json() if answer is not None else None
    return {
        "id": q.id,
        "qtype": q.qtype,
        "question": asdict(q),
        "answer": payload,
        "error": error,
        "latency_ms": round(ms, 1),
        "scores": score_question(q, payload, top_k),
    }


def _resumed_answers(
    records: dict[str, dict[str, Any]], questions: list[EvalQuestion]
) -> dict[str, Answer]:
    """Answers of finished questions that a remaining follow-up needs as history."""
    needed: set[str] = set()
    by_id = {q.id: q for q in questions}
    for q in questions:
        if q.id in records:
            continue
        prev = q.previous
        while prev is not None and prev in by_id and prev not in needed:
            needed.add(prev)
            prev = by_id[prev].previous
    return {
        k: answer_from_json(records[k]["answer"])
        for k in needed
        if records.get(k, {}).get("answer")
    }


def _check(questions: list[EvalQuestion], top_k: int) -> None:
    if not questions:
        raise EvalError("No questions to evaluate: check the question file (and --limit)")
    if top_k < 1:
        raise EvalError(f"--top-k must be at least 1 (got {top_k})")
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise EvalError(f"Question id {dup!r} appears twice: give every question its own id")


def run_eval(
    questions: list[EvalQuestion],
    ask: AskFn,
    out_dir: Path,
    *,
    config: dict[str, Any],
    resume: bool = False,
    top_k: int,
    on_progress: ProgressFn | None = None,
    on_warning: Callable[[str], None] | None = None,
    jobs: int = 1,
    ask_factory: AskFactory | None = None,
) -> dict[str, Any]:
    """Ask every question (skipping those already in results.jsonl on resume), then summarise.

    One result line is appended and fsync'd per question; an AssistantError raised by `ask` is
    recorded as that question's error (asked again on --resume). With jobs > 1 and an
    `ask_factory` (a picklable function that builds `ask` in a worker process), conversations are
    answered in that many processes; lines then arrive in the order questions finish. Returns the
    summary dict.
    """
    _check(questions, top_k)
    records, warnings = prepare_results(out_dir, resume)
    for message in warnings:
        if on_warning is not None:
            on_warning(message)
    by_id = {q.id: q for q in questions}
    answers = _resumed_answers(records, questions)
    pending = [q for q in questions if q.id not in records]
    done = len(questions) - len(pending)
    if jobs > 1 and ask_factory is not None and len(pending) > 1:
        results = answer_in_workers(conversations(pending, by_id, answers), ask_factory, jobs,
                                    _history)
    else:
        results = _answer_here(pending, ask, by_id, answers)
    with open(out_dir / RESULTS, "a", encoding="utf-8") as fh:
        for q, answer, error, elapsed in results:
            append_record(fh, _record(q, answer, error, elapsed, top_k))
            done += 1
            if on_progress is not None:
                on_progress(done, len(questions), q)
    return summarize_results(questions, out_dir, config=config, top_k=top_k)


def _answer_here(pending: list[EvalQuestion], ask: AskFn, by_id: dict[str, EvalQuestion],
                 answers: dict[str, Answer]) -> Iterator[tuple[EvalQuestion, Answer | None, str | None,
                                                              float]]:
    """(question, answer, error, ms) for each question, in order, in this process."""
    for q in pending:
        history = _history(q, by_id, answers)
        start = time.perf_counter()
        answer: Answer | None = None
        error: str | None = None
        try:
            answer = ask(q, history)
        except AssistantError as exc:
            error = str(exc) or type(exc).__name__
        if answer is not None:
            answers[q.id] = answer
        yield q, answer, error, (time.perf_counter() - start) * 1000


def summarize_results(
    questions: list[EvalQuestion], out_dir: Path, *, config: dict[str, Any], top_k: int
) -> dict[str, Any]:
    """Score results.jsonl (these questions, in order); write summary, report and chart."""
    records = read_results(out_dir / RESULTS)
    rows = [
        ScoredRow(
            question=q,
            scores=score_question(q, records[q.id].get("answer"), top_k),
            latency_ms=float(records[q.id].get("latency_ms") or 0.0),
            error=records[q.id].get("error"),
        )
        for q in questions
        if q.id in records
    ]
    summary = build_summary(rows, top_k, {"top_k": top_k, **config})
    write_atomic(out_dir / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    write_atomic(out_dir / "report.md", render_markdown(summary))
    write_atomic(out_dir / "report.png", render_png(summary))
    return summary
