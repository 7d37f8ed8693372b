"""Ask one question: rewrite follow-ups, retrieve, answer (LLM or offline), report honestly."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.answer.numbering import by_article, merge_by_article
from assistant.answer.offline.confidence import Rarity
from assistant.answer.rewrite import Followup
from assistant.app import App
from assistant.config import Settings
from assistant.errors import InputError, LLMError
from assistant.models import Answer, Passage

Notice = Callable[[str], None]


@dataclass(frozen=True)
class AskOptions:
    """Per-question options shared by ask, chat and eval."""

    top_k: int = 5
    as_of: dt.date | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    source: str | None = None
    no_llm: bool = False
    choices: tuple[str, ...] | None = None
    check_stale: bool = True

    def uses_llm(self, settings: Settings) -> bool:
        """An LLM writes the answers: one is configured and --no-llm was not given."""
        return settings.llm_enabled and not self.no_llm


def ensure_indexed(app: App, notice: Notice) -> None:
    """On a store that never saw an ingest, index the seed articles first and say so."""
    if not app.is_empty():
        return

    seeds = Path(app.settings.seeds_dir)
    if not seeds.exists():
        raise InputError("No articles indexed yet: run `assistant ingest PATH` first")
    notice(f"No articles indexed yet: indexing {seeds} first.")
    with app.writer_lock(on_wait=lambda: notice("Waiting for another ingest to finish...")):
        if app.is_empty():
            app.indexer().run([seeds])


def key_notice(app: App) -> list[str]:
    """Say so when the API key goes to a server other than OpenAI's (never silently)."""
    from urllib.parse import urlparse

    s = app.settings
    host = urlparse(s.openai_base_url or "").hostname
    if s.openai_api_key and host and host != "api.openai.com":
        return [f"OPENAI_API_KEY is sent to {host} (OPENAI_BASE_URL); unset it if that server "
                "needs no key"]
    return []


def stale_files(app: App) -> list[str]:
    """Indexed files that changed (in their bytes) or vanished since the last ingest."""
    from assistant.index.freshness import CHECKS_FILE, changed_files

    return changed_files(app.manifest, app.state_dir / CHECKS_FILE)


def _rarity(app: App) -> Rarity | None:
    """Word rarity from the BM25 index beside the store (None when it holds nothing)."""
    from assistant.embed.vocab import rarity_prior

    lex = app.lexical()
    return Rarity(lex.terms, lex.idf, rarity_prior, len(lex.ids)) if lex.ids else None


def _offline(app: App, focus: Followup, passages: list[Passage], with_leads: list[Passage],
             qvec: np.ndarray, choices: tuple[str, ...] | None,
             search: Callable[[str], list[Passage]]) -> Answer:
    """The offline answer: cited sentences from the passages and their articles' leads
    (`with_leads`); the choice, when asked, from the passages and each choice's own search."""
    from assistant.answer.offline.choice import pick_choice
    from assistant.answer.offline.extractive import answer_extractive
    from assistant.answer.offline.short import short_answer
    from assistant.answer.offline.spans import head_similarity

    question = focus.focus
    if focus.context:  # the sentences must answer the follow-up itself, not the earlier question
        qvec = app.embedder.embed_query(question)
    shorten = functools.partial(short_answer, parse=app.parser, similar=head_similarity(app.embedder))
    ans = answer_extractive(question, with_leads, qvec, app.embedder, short_answer=shorten,
                            rarity=_rarity(app), refuse_below=app.settings.min_confidence,
                            context=focus.context)
    if choices:
        picked = pick_choice(question, list(choices), passages, qvec, app.embedder, search=search)
        ans = dataclasses.replace(ans, choice_index=picked.index, choice_evidence=picked.evidence)
    return ans


def ask(app: App, question: str, opts: AskOptions, *, history: list[tuple[str, str]] | None = None,
        on_token: Callable[[str], None] | None = None, notice: Notice | None = None) -> Answer:
    """Answer one question from the indexed articles."""
    from assistant.retrieve.hybrid import Query

    question = question.strip()
    if not question:
        raise InputError("The question is empty: ask something, e.g. assistant ask \"Who joined the SCO?\"")
    t0 = time.perf_counter()
    client = None if opts.no_llm else app.chat_client
    warnings: list[str] = key_notice(app) if client is not None else []
    followup = Followup(question)
    rewrite_usage: dict[str, int] = {}
    if history:
        from assistant.answer.rewrite import offline_followup, rewrite_followup

        if client is not None:
            try:
                text = rewrite_followup(history, question, client, settings=app.settings,
                                        on_usage=rewrite_usage.update, on_note=warnings.append)
                offline = offline_followup(history, question)
                # a rejected model rewrite comes back as the offline one: keep its focus and context
                followup = offline if text in (offline.standalone, question) else Followup(text)
            except LLMError as exc:
                warnings.append(f"{exc} Showing the offline answer instead.")
                if notice:
                    notice(str(exc))
                client = None  # the service just failed: do not make the user wait for it twice
        if client is None:
            followup = offline_followup(history, question)
    standalone = followup.standalone
    q = Query(standalone, opts.top_k, opts.as_of, opts.since, opts.until, opts.source,
              mode=app.settings.retrieval)
    retrieval = app.retriever.retrieve(q)
    t1 = time.perf_counter()
    answer: Answer | None = None
    unverified: Answer | None = None  # a model answer that failed the citation check
    if client is not None and retrieval.passages:
        from assistant.answer.llm.verify import needs_fallback
        from assistant.answer.llm.write import answer_with_llm

        try:
            answer = answer_with_llm(standalone, merge_by_article(retrieval.passages), client, app.settings,
                                     on_token=on_token, choices=list(opts.choices or []) or None,
                                     as_of=opts.as_of.isoformat() if opts.as_of else None)
        except LLMError as exc:
            warnings.append(f"{exc} Showing the offline answer instead.")
            if notice:
                notice(str(exc))
        if answer is not None and needs_fallback(answer):
            unverified, answer = answer, None
    if answer is None:
        from assistant.answer.offline.weights import CHOICE_SEARCH_MODE

        choice_mode = CHOICE_SEARCH_MODE if q.mode == "hybrid" else q.mode  # a chosen mode is kept

        def search(text: str) -> list[Passage]:
            return app.retriever.retrieve(dataclasses.replace(q, text=text, mode=choice_mode)).passages

        from assistant.answer.offline.weights import LEAD_ARTICLES
        from assistant.retrieve.hybrid import with_leads

        leads = with_leads(retrieval.passages, app.retriever.manifest, LEAD_ARTICLES)
        answer = _offline(app, followup, retrieval.passages, leads, retrieval.query_vector,
                          opts.choices, search)
    if unverified is not None:
        from assistant.answer.llm.verify import with_model_answer

        answer = with_model_answer(answer, unverified)
    usage = answer.usage
    if rewrite_usage and usage is not None:
        usage = {k: usage.get(k, 0) + rewrite_usage.get(k, 0) for k in {*usage, *rewrite_usage}}
    notes = list(warnings) + list(answer.warnings)
    if opts.check_stale:
        changed = stale_files(app)
        if changed:
            notes.append(
                f"{len(changed)} indexed file(s) changed since the last ingest (e.g. {changed[0]}): "
                "run `assistant ingest` again"
            )
    timings = {**answer.timings_ms, **retrieval.timings_ms, "retrieve": (t1 - t0) * 1000,
               "answer": (time.perf_counter() - t1) * 1000, "total": (time.perf_counter() - t0) * 1000}
    return dataclasses.replace(
        by_article(answer), question=question, warnings=notes, usage=usage,
        rewritten_question=standalone if standalone != question else None,
        date_window=retrieval.window.as_iso() if retrieval.window is not None else None,
        as_of=opts.as_of.isoformat() if opts.as_of else None, timings_ms=timings,
    )
