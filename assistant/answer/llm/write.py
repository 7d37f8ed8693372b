"""Answers written by the LLM from fenced, numbered passages, then citation-checked."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from assistant.answer.llm.budget import ANSWER_TOKENS, count_tokens, fit_passages, plan_budget
from assistant.answer.llm.client import ChatClient
from assistant.answer.llm.prompts import load_messages
from assistant.answer.llm.verify import model_block, unverified_block, verify
from assistant.config import Settings
from assistant.errors import LLMError
from assistant.models import NOT_FOUND, Answer, Passage
from assistant.text import THINK

_FENCE_LIKE = re.compile(r"(?:<\s*){2,}|(?:>\s*){2,}")
_CHOICE = re.compile(  # "Choice: B", "**Option (2)**"; "Answer: B" only when B ends the line
    r"^[\s*_#]*(?:(?:choice|option)[\s*_]*[:\-–]?[\s*_]*\(?([A-Za-z]|\d{1,2})\)?(?!\w)"
    r"|answer[\s*_]*:[\s*_]*\(?([A-Za-z])\)?[.)*_]*[ \t]*$)",
    re.IGNORECASE | re.MULTILINE,
)
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def answer_with_llm(
    question: str,
    passages: list[Passage],
    client: ChatClient,
    settings: Settings,
    *,
    on_token: Callable[[str], None] | None = None,
    choices: list[str] | None = None,
    as_of: str | None = None,
) -> Answer:
    """Ask the model with the passages that fit its context; check its citations.

    mode "llm", or "none" for the refusal sentence; `llm` holds the verification verdict (an
    "unverified" answer is for the caller to replace: see verify.with_model_answer). Raises
    LLMError (a StreamCutError when a stream broke mid-answer); the caller falls back offline.
    """
    if not passages:
        return Answer(question, NOT_FOUND, "none", as_of=as_of)
    kept, budget_warnings, messages = _fit_prompt(question, passages, client, settings,
                                                  choices=choices, as_of=as_of)
    t0 = time.perf_counter()
    result = client.complete(messages, on_token=on_token, max_tokens=ANSWER_TOKENS)
    elapsed = (time.perf_counter() - t0) * 1000
    text = THINK.sub("", result.text).strip()
    choice_index: int | None = None
    warnings = list(budget_warnings)
    if choices:
        choice_index, text = take_choice(text, choices)
        if choice_index is None:
            warnings.append("The model named no valid option; no choice recorded.")
    if not text:
        raise LLMError(
            "The LLM returned an empty answer: try again or another ASSISTANT_LLM_MODEL, "
            "or use --no-llm."
        )
    if result.finish_reason == "length":
        warnings.append(f"The answer was cut at the {ANSWER_TOKENS}-token limit.")
    verdict = verify(text, kept, question, choices=bool(choices))
    model = result.model or client.model
    unverified = verdict.status == "unverified"
    block = unverified_block(verdict, model, text) if unverified else model_block(verdict, model, text)
    if choices:  # the model's own pick, kept even when its answer fails the check
        block["choice_index"] = choice_index
    return Answer(
        question=question,
        answer=verdict.text,
        mode="none" if verdict.status == "refusal" else "llm",
        citations=verdict.citations,
        passages=kept,
        warnings=warnings + ([] if unverified else verdict.warnings),
        timings_ms={"llm": elapsed},
        usage=dict(result.usage) if result.usage else None,
        choice_index=choice_index,
        as_of=as_of,
        llm=block,
    )


def _fit_prompt(
    question: str,
    passages: list[Passage],
    client: ChatClient,
    settings: Settings,
    *,
    choices: list[str] | None,
    as_of: str | None,
) -> tuple[list[Passage], list[str], list[dict[str, str]]]:
    """(passages shown, budget warnings, chat messages) within the model's context window."""
    empty = build_messages(settings, question, [], choices=choices, as_of=as_of)
    overhead = sum(count_tokens(m["content"], client.model) + 4 for m in empty)
    budget = plan_budget(settings, overhead)
    blocks = [(p, format_passage(p)) for p in passages]
    kept, warnings = fit_passages(blocks, budget, client.model, format_passage)
    if not kept:
        raise LLMError(
            f"The model's context ({budget.window} tokens) leaves no room for the articles: "
            "raise ASSISTANT_LLM_CONTEXT, or use --no-llm."
        )
    messages = build_messages(settings, question, kept, choices=choices, as_of=as_of)
    return kept, warnings, messages


def build_messages(
    settings: Settings,
    question: str,
    passages: list[Passage],
    *,
    choices: list[str] | None = None,
    as_of: str | None = None,
) -> list[dict[str, str]]:
    """The chat messages of the answer prompt (prompts/answer.txt or answer_choices.txt)."""
    values = {
        "question": " ".join(question.split()),
        "passages": "\n\n".join(format_passage(p) for p in passages),
        "count": str(len(passages)),
        "as_of_note": (
            f"The question is asked on {as_of}: answer as of that date." if as_of else ""
        ),
    }
    if choices:
        values["choices"] = "\n".join(
            f"{LETTERS[i]}. {' '.join(c.split())}" for i, c in enumerate(choices[: len(LETTERS)])
        )
        return load_messages(settings, "answer_choices", **values)
    return load_messages(settings, "answer", **values)


def format_passage(p: Passage) -> str:
    """`[n] title — source — published YYYY-MM-DD` and the text, inside an article fence."""
    title = _one_line(p.title) or "Untitled"
    source = _one_line(p.source or "") or "unknown source"
    date = f"published {p.published_at}" if p.published_at else "date unknown"
    body = _FENCE_LIKE.sub(" ", p.text).strip()
    return (
        f"<<<ARTICLE {p.n}>>>\n[{p.n}] {title} — {source} — {date}\n{body}\n"
        f"<<<END ARTICLE {p.n}>>>"
    )


def take_choice(text: str, choices: list[str]) -> tuple[int | None, str]:
    """(0-based option picked by a "Choice: X" line, the text without that line).

    Without such a line, an option whose full text is the only one named in the answer counts.
    """
    match = _CHOICE.search(text)
    if match:
        token = (match.group(1) or match.group(2)).upper()
        index = int(token) - 1 if token.isdigit() else LETTERS.index(token)
        end = text.find("\n", match.end())
        end = len(text) if end < 0 else end
        tail = text[match.end() : end]  # the rest of the line stays when it makes a cited claim
        keep = tail.lstrip(" -–—:.)*_") if "[" in tail else ""
        if 0 <= index < len(choices):
            return index, (text[: match.start()] + keep + text[end:]).strip()
    named = [i for i, c in enumerate(choices) if c.strip() and c.strip().casefold() in
             text.casefold()]
    return (named[0] if len(named) == 1 else None), text


def _one_line(text: str) -> str:
    return " ".join(_FENCE_LIKE.sub(" ", text).split())
