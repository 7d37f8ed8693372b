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
    attribute,
    best_quote,
    check_sentences,
    citations_of,
    is_refusal,
    plain_claim,
    sentence_warnings,
    support,
)
from assistant.answer.llm.addresses import off_question, span_misplaced
from assistant.answer.offline.weights import CONFIDENT_ABOVE
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
# A passing model sentence agrees with an offline best guess when the guess's quoted sentence holds
# this share of the sentence's content words (and all its names): most of it, as for a paraphrase.
AGREE_MIN = 0.6
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
    attributed: list[str] = dataclasses.field(default_factory=list)  # cited by the checker, not the model
    passed: list[str] = dataclasses.field(default_factory=list)  # cited sentences that passed the check


def problem(c: SentenceCheck, question: str | None = None,
            by_n: dict[int, Passage] | None = None) -> str | None:
    """Why a sentence fails the check, or None when it passes (or needs no citation). Given the
    question, the sentence's own names must also sit where its article says them."""
    if c.quotes_missing:
        return "quote not found"
    if not c.factual:
        return None
    if not c.valid:
        return "no citation"
    cited = "".join(f"[{n}]" for n in c.valid)
    if (c.coverage or 0.0) < SUPPORT_MIN or c.missing_names:
        return f"not supported by {cited}"
    if question and by_n and not c.attributed:  # an attributed one passed it in `attribute`
        moved = span_misplaced(question, plain_claim(c.claim),
                               [f"{by_n[n].title}\n{by_n[n].text}" for n in c.valid])
        if moved:
            return f"not supported by {cited} (it puts {moved} where the article does not)"
    return None


def verify(text: str, passages: list[Passage], question: str | None = None,
           choices: bool = False) -> Verdict:
    """Check a model answer against the passages it was shown (and, given the question, that it
    answers it: see addresses.off_question). Uncited sentences that a passage supports are
    attributed to it first."""
    text = text.strip()
    if is_refusal(text, passages):
        return Verdict("refusal", NOT_FOUND, [], [], [], [])
    checks, tail = check_sentences(text, passages)
    fits = None if not question else (
        lambda claim, p: span_misplaced(question, claim, [f"{p.title}\n{p.text}"]) is None)
    checks = attribute(checks, passages, SUPPORT_MIN, fits)
    by_n = {p.n: p for p in passages}
    warnings = [w for c in checks for w in sentence_warnings(c, len(by_n))]
    failing = [(c, why) for c in checks if (why := problem(c, question, by_n)) is not None]
    for c, why in failing:
        if why.startswith("not supported"):
            warnings.append(f"{why[0].upper()}{why[1:]}: \"{_short(c.claim)}\"")
    reasons = _reasons(text, checks, len(failing))
    failed = {id(c) for c, _ in failing}
    if question and not reasons:
        passed = [c for c in checks if id(c) not in failed and c.valid]
        why = off_question(question, " ".join(c.claim for c in passed),
                           " ".join(best_quote(c.claim, by_n[n].text) for c in passed for n in c.valid),
                           " ".join(f"{by_n[n].title} {by_n[n].published_at} {by_n[n].text}"
                                    for n in {n for c in passed for n in c.valid}),
                           choices=choices)
        if why:
            reasons.append(why)
    status = "unverified" if reasons else "partly" if failing or any(
        c.invalid for c in checks) else "verified"
    tag = UNSUPPORTED_TAG if status == "partly" else ""
    shown = "".join(c.lead + c.text + (tag if id(c) in failed else "") for c in checks) + tail
    return Verdict(status, shown.strip(), citations_of(checks, by_n), warnings, reasons,
                   [c.claim for c, _ in failing], [c.claim for c in checks if c.attributed],
                   [c.claim for c in checks if c.valid and id(c) not in failed])


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


def model_block(verdict: Verdict, model: str | None, raw: str | None = None) -> dict[str, Any]:
    """Answer.llm for a verified, partly verified or refused answer."""
    block: dict[str, Any] = {"model": model, "verification": verdict.status}
    if raw is not None:  # what the model wrote, before the checker's markers (for audits)
        block["text"] = raw
    if verdict.failing:
        block["failing"] = list(verdict.failing)
    if verdict.attributed:  # sentences the model left uncited, cited by the checker
        block["attributed"] = list(verdict.attributed)
    return block


def needs_fallback(answer: Answer) -> bool:
    """True for a model answer that failed verification (show the offline answer instead)."""
    return bool(answer.llm) and (answer.llm or {}).get("verification") == "unverified"


def with_model_answer(offline: Answer, model: Answer) -> Answer:
    """What stands in for a model answer that failed the check (the fallback rule): the offline
    answer when it stands on its own (confidence at CONFIDENT_ABOVE or more), or when it is a
    best guess (shown as the closest report) that agrees with a sentence of the model's that
    passed the check; else the refusal. A rejected model answer says the articles may not hold
    the answer, so a weak offline answer is not shown in its place. The model's text, reasons and
    warnings stay in `llm`, its usage and time in usage and timings_ms."""
    llm = dict(model.llm or {})
    reasons = "; ".join(llm.get("reasons", [])) or "unverified"
    shown, stands_in = _stand_in(offline, [str(s) for s in llm.get("passed", [])])
    note = f"The model's answer failed the citation check ({reasons}): showing {shown} instead."
    budget = [w for w in model.warnings if w.startswith("Context budget")]
    return dataclasses.replace(
        stands_in, warnings=[note, *budget, *stands_in.warnings], llm=llm, usage=model.usage,
        timings_ms={**model.timings_ms, **offline.timings_ms},
    )


def _stand_in(offline: Answer, passed: list[str]) -> tuple[str, Answer]:
    """(how the note names it, the answer shown) for the fallback rule."""
    if offline.mode == "none":
        return "the refusal", offline
    confidence = offline.confidence if offline.confidence is not None else 1.0
    if confidence >= CONFIDENT_ABOVE:
        return "the offline answer", offline
    if any(_agrees(c.quote, claim) for c in offline.citations for claim in passed):
        return "the closest report, which agrees with the part of the model's answer that passed", offline
    refusal = dataclasses.replace(offline, answer=NOT_FOUND, mode="none", citations=[],
                                  choice_index=offline.choice_index)
    return (f"the refusal (the offline answer's confidence {confidence:.2f} is under "
            f"{CONFIDENT_ABOVE} and nothing the model wrote that passed agrees with it)"), refusal


def _agrees(quote: str, claim: str) -> bool:
    """The offline answer's quoted sentence is where a passing model sentence came from: most of
    the claim's content words and all its names are in it."""
    if not quote or not claim:
        return False
    coverage, names = support(claim, quote)
    return coverage >= AGREE_MIN and not names


def unverified_block(verdict: Verdict, model: str | None, text: str) -> dict[str, Any]:
    """Answer.llm for an unverified answer: its text, reasons and (some) warnings kept aside."""
    warnings = verdict.warnings[:MAX_KEPT_WARNINGS]
    if len(verdict.warnings) > MAX_KEPT_WARNINGS:
        warnings.append(f"... and {len(verdict.warnings) - MAX_KEPT_WARNINGS} more")
    block = {"model": model, "verification": "unverified", "reasons": verdict.reasons,
             "text": text, "warnings": warnings, "passed": list(verdict.passed)}
    if verdict.attributed:
        block["attributed"] = list(verdict.attributed)
    return block


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
