"""Glue for `assistant eval`: each question goes through the same path as `ask`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.app import App, build_app
from assistant.config import Settings
from assistant.eval.io import default_out_dir, git_commit
from assistant.models import Answer
from assistant.qa import AskOptions, ask, ensure_indexed


def _config(app: App, opts: AskOptions, questions: Path) -> dict[str, Any]:
    s = app.settings
    return {
        "questions": str(questions),
        "top_k": opts.top_k,
        "embedder": s.embed_model,
        "llm": s.llm_model if opts.uses_llm(s) else "offline",
        "as_of": "per question (as_of / question_date)",
        "source": opts.source,
        "since": opts.since.isoformat() if opts.since else None,
        "until": opts.until.isoformat() if opts.until else None,
        "store": app.store.where,
        "git_commit": git_commit(),
    }


def make_ask_fn(app: App, opts: AskOptions) -> Callable[[Any, list[tuple[str, Answer]]], Answer]:
    """An eval AskFn: per-question as_of and choices; follow-ups get their conversation."""

    def ask_fn(q: Any, history: list[tuple[str, Answer]]) -> Answer:
        as_of = dt.date.fromisoformat(q.as_of) if q.as_of else opts.as_of
        per_q = dataclasses.replace(opts, as_of=as_of,
                                    choices=tuple(q.choices) if q.choices else None,
                                    check_stale=False)
        turns = [(text, a.answer) for text, a in history]
        return ask(app, q.question, per_q, history=turns or None)

    return ask_fn


def worker_ask(settings: Settings, opts: AskOptions) -> Callable[[Any, list[tuple[str, Answer]]], Answer]:
    """The ask function of an `eval --jobs` worker process: its own app over the same store."""
    return make_ask_fn(build_app(settings), opts)


def default_jobs(llm: bool = False) -> int:
    """Worker processes for `eval` by default: one per core, at most 4; one when a model answers
    (a local model server works on one request at a time: parallel questions only queue there,
    and each would wait out the others' time against its own timeouts)."""
    return 1 if llm else max(1, min(4, os.cpu_count() or 1))


def evaluate_file(app: App, questions: Path, out: Path | None, limit: int | None, resume: bool,
                  opts: AskOptions, progress_factory: Callable[[int], Any],
                  notice: Callable[[str], None], jobs: int = 1) -> tuple[dict[str, Any], Path]:
    """Load, run and score a question file in `jobs` processes; returns (summary, output folder)."""
    from assistant.eval.evaluate import load_questions, run_eval

    items, warnings = load_questions(questions)
    for w in warnings:
        notice(w)
    if limit:
        items = items[:limit]
    ensure_indexed(app, notice)
    if out is None:
        out = default_out_dir()
    bar = progress_factory(len(items))
    bar.unit = "question"

    def on_progress(done: int, total: int, q: Any) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    factory = None
    if jobs > 1:
        app.lexical()  # built once here, not by every worker
        app.vectors()
        settings = app.settings
        if settings.embed_threads == 0:  # the cores are shared out between the workers
            settings = dataclasses.replace(settings, embed_threads=max(1, (os.cpu_count() or 1) // jobs))
        factory = functools.partial(worker_ask, settings, opts)
    try:
        summary = run_eval(items, make_ask_fn(app, opts), out,
                           config={**_config(app, opts, questions), "jobs": jobs},
                           resume=resume, top_k=opts.top_k, on_progress=on_progress,
                           on_warning=notice, jobs=jobs, ask_factory=factory)
    finally:
        bar.close()
    return summary, out
