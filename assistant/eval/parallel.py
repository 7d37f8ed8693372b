"""`eval --jobs N`: conversations answered in N worker processes over one store (reads are safe).

Each worker builds its own app once (spawned, so no thread or SQLite handle crosses a fork) and
answers whole conversations, so a follow-up always sees its earlier turns. Answers do not depend
on the worker or the order: vectors are a function of their text alone (embed/onnx_minilm.py).
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from assistant.errors import AssistantError
from assistant.eval.questions import EvalQuestion
from assistant.models import Answer

History = list[tuple[str, Answer]]
AskFn = Callable[[EvalQuestion, History], Answer]
AskFactory = Callable[[], AskFn]  # picklable: builds the ask function inside a worker


@dataclass(frozen=True)
class Conversation:
    """Questions to answer in order, and the earlier turns (answered before) they build on."""

    questions: list[EvalQuestion]
    earlier: list[tuple[EvalQuestion, dict[str, Any]]]  # (question, its answer as JSON)


def conversations(pending: list[EvalQuestion], by_id: dict[str, EvalQuestion],
                  answers: dict[str, Answer]) -> list[Conversation]:
    """Pending questions grouped by conversation root (follow-ups name an earlier `previous`)."""
    groups: dict[str, list[EvalQuestion]] = {}
    for q in pending:
        root, seen = q, {q.id}
        while root.previous is not None and root.previous in by_id and root.previous not in seen:
            seen.add(root.previous)
            root = by_id[root.previous]
        groups.setdefault(root.id, []).append(q)
    out = []
    for group in groups.values():
        ids = {q.id for q in group}
        earlier = [(by_id[k], answers[k].to_json()) for k in _ancestors(group, by_id)
                   if k not in ids and k in answers]
        out.append(Conversation(group, earlier))
    return out


def _ancestors(group: list[EvalQuestion], by_id: dict[str, EvalQuestion]) -> list[str]:
    found: list[str] = []
    for q in group:
        prev = q.previous
        while prev is not None and prev in by_id and prev not in found:
            found.append(prev)
            prev = by_id[prev].previous
    return found


_ASK: AskFn | None = None


def _start(factory: AskFactory) -> None:
    global _ASK
    _ASK = factory()


def _answer(conv: Conversation, history_of: Callable[..., History]) -> list[tuple[EvalQuestion, Answer | None,
                                                                                  str | None, float]]:
    from assistant.eval.io import answer_from_json

    assert _ASK is not None
    by_id = {q.id: q for q, _ in conv.earlier} | {q.id: q for q in conv.questions}
    answers = {q.id: answer_from_json(a) for q, a in conv.earlier}
    out: list[tuple[EvalQuestion, Answer | None, str | None, float]] = []
    for q in conv.questions:
        start = time.perf_counter()
        answer: Answer | None = None
        error: str | None = None
        try:
            answer = _ASK(q, history_of(q, by_id, answers))
        except AssistantError as exc:
            error = str(exc) or type(exc).__name__
        if answer is not None:
            answers[q.id] = answer
        out.append((q, answer, error, (time.perf_counter() - start) * 1000))
    return out


def answer_in_workers(convs: list[Conversation], factory: AskFactory, jobs: int,
                      history_of: Callable[..., History]
                      ) -> Iterator[tuple[EvalQuestion, Answer | None, str | None, float]]:
    """(question, answer, error, ms) as conversations finish in `jobs` spawned processes."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_start,
                             initargs=(factory,)) as pool:
        todo: set[Future[Any]] = {pool.submit(_answer, c, history_of) for c in convs}
        try:
            while todo:
                done, todo = wait(todo, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield from fut.result()
        except BaseException:
            for fut in todo:
                fut.cancel()
            raise
