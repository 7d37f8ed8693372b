"""Verification decides what the user sees: a verified, partly verified or unverified LLM answer.

Verified: every factual sentence carries a marker whose passage supports it, and every quote is
verbatim. Partly verified: shown, with the failing sentences tagged. Unverified (no valid
citation, the prompt echoed, or most sentences uncited or unsupported): the offline answer is
shown instead and the model's text is kept aside in `Answer.llm`.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from assistant.answer.citations import (
    SentenceCheck,
    check_sentences,
    citations_of,
    is_refusal,
    sentence_warnings,
)
from assistant.models import NOT_FOUND, Answer, Citation, Passage

# Share of a claim's content words (stemmed) that its cited article's passages must hold (names and
# numbers must all be there). Measured by benchmarks/fit_support.py (results/support-fit.json): the
# real model's sentences (Gemma-3-270M on llama.cpp) copied from the article pass at any threshold;
# of the pairs of an article and a sentence the model made up that the article does not state
# (hand-labelled) 4% pass at 0.5, 2% at 0.6; of 30 correct paraphrases written by hand (the side
# that model cannot show) 87% pass at 0.5, 80% at 0.6. 0.5 has the widest gap.
SUPPORT_MIN = 0.5
# More than this share of factual sentences uncited or unsupported makes the answer unverified:
# past half, the answer is more unchecked text than checked text.
UNVERIFIED_SHARE = 0.5
UNSUPPORTED_TAG = " (unverified)"
MAX_KEPT_WARNINGS = 12  # of an unverified answer, kept in Answer.llm (a weak model makes dozens)
# Pieces of our prompts that a model repeating its input writes back.
_ECHO = re.compile(
    r"<<<|>>>|END ARTICLE|^\s*(?:Articles|Question|Standalone question|Conversation|Options|"
    r"Last question)\s*:|^\s*\[(?:system|user)\]",
    re.IGNORECASE | re.MULTILINE,
)


@dataclass(frozen=True)
class Verdict:
    """The verification of one model answer."""

    status: str  # "verified" | "partly" | "unverified" | "refusal"
    text: str  # what to show: partly verified answers have their failing sentences tagged
    citations: list[Citation]
    warnings: list[str]
    reasons: list[str]  # why the answer is unverified
    failing: list[str]  # the sentences that are uncited, unsupported or misquote


def problem(c: SentenceCheck) -> str | None:
    """Why a sentence fails the check, or None when it passes (or needs no citation)."""
    if c.quotes_missing:
        return "quote not found"
    if not c.factual:
        return None
    if not c.valid:
        return "no citation"
    if (c.coverage or 0.0) < SUPPORT_MIN or c.missing_names:
        return "not supported by " + "".join(f"[{n}]" for n in c.valid)
    return None


def verify(text: str, passages: list[Passage]) -> Verdict:
    """Check a model answer against the passages it was shown."""
    text = text.strip()
    if is_refusal(text, passages):
        return Verdict("refusal", NOT_FOUND, [], [], [], [])
    checks, tail = check_sentences(text, passages)
    by_n = {p.n: p for p in passages}
    warnings = [w for c in checks for w in sentence_warnings(c, len(by_n))]
    failing = [(c, why) for c in checks if (why := problem(c)) is not None]
    for c, why in failing:
        if why.startswith("not supported"):
            warnings.append(f"{why[0].upper()}{why[1:]}: \"{_short(c.claim)}\"")
    reasons = _reasons(text, checks, len(failing))
    failed = {id(c) for c, _ in failing}
    status = "unverified" if reasons else "partly" if failing or any(
        c.invalid for c in checks) else "verified"
    tag = UNSUPPORTED_TAG if status == "partly" else ""
    shown = "".join(c.lead + c.text + (tag if id(c) in failed else "") for c in checks) + tail
    return Verdict(status, shown.strip(), citations_of(checks, by_n), warnings, reasons,
                   [c.claim for c, _ in failing])


def _reasons(text: str, checks: list[SentenceCheck], failing: int) -> list[str]:
    reasons: list[str] = []
    echo = _ECHO.search(text)
    if echo:
        reasons.append(f"it repeats the prompt ({' '.join(echo.group(0).split())!r})")
    if not any(c.valid for c in checks):
        reasons.append("no valid citation")
    factual = sum(c.factual or bool(c.quotes_missing) for c in checks)
    if factual and failing > UNVERIFIED_SHARE * factual:
        reasons.append(f"{failing} of {factual} sentences uncited, unsupported or misquoted")
    return reasons


def model_block(verdict: Verdict, model: str | None) -> dict[str, Any]:
    """Answer.llm for a verified, partly verified or refused answer."""
    block: dict[str, Any] = {"model": model, "verification": verdict.status}
    if verdict.failing:
        block["failing"] = list(verdict.failing)
    return block


def needs_fallback(answer: Answer) -> bool:
    """True for a model answer that failed verification (show the offline answer instead)."""
    return bool(answer.llm) and (answer.llm or {}).get("verification") == "unverified"


def with_model_answer(offline: Answer, model: Answer) -> Answer:
    """The offline answer, noting that the model's answer failed the check; the model's text,
    reasons and warnings stay in `llm`, its usage and time in usage and timings_ms."""
    llm = dict(model.llm or {})
    reasons = "; ".join(llm.get("reasons", [])) or "unverified"
    shown = "the refusal" if offline.mode == "none" else "the offline answer"
    note = f"The model's answer failed the citation check ({reasons}): showing {shown} instead."
    budget = [w for w in model.warnings if w.startswith("Context budget")]
    return dataclasses.replace(
        offline, warnings=[note, *budget, *offline.warnings], llm=llm, usage=model.usage,
        timings_ms={**model.timings_ms, **offline.timings_ms},
    )


def unverified_block(verdict: Verdict, model: str | None, text: str) -> dict[str, Any]:
    """Answer.llm for an unverified answer: its text, reasons and (some) warnings kept aside."""
    warnings = verdict.warnings[:MAX_KEPT_WARNINGS]
    if len(verdict.warnings) > MAX_KEPT_WARNINGS:
        warnings.append(f"... and {len(verdict.warnings) - MAX_KEPT_WARNINGS} more")
    return {"model": model, "verification": "unverified", "reasons": verdict.reasons,
            "text": text, "warnings": warnings}


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
