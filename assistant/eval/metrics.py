"""Deterministic eval metrics: retrieval hits, SQuAD EM/F1, choices, refusals, citations, latency.

Conventions (documented in README's eval section):
- Ranks are the passage numbers [n] (1 = best); a passage "hits" when its article is a gold article.
- EM and F1 score the *short answer*: the answer text up to the first citation marker [n] or
  the first sentence end, whichever comes first, markers stripped. `contains` uses the full text.
  Normalisation is SQuAD's (lower case, no punctuation, no a/an/the, single spaces), with every
  Unicode punctuation mark removed too (curly quotes, dashes). Best score over answer and aliases.
- A refusal (mode "none") or a failed question scores EM = F1 = 0 and contains = False.
- Evidence: a fact is found when one of its sentences (or the whole fact, when every sentence is
  short) has >= 80% of its normalised tokens, in order, inside a window of 1.25x its length
  in one top-k passage.
- A citation is valid when its n is a passage number and its quote (non-empty) is a verbatim
  substring of that passage's text. An answer with no citation is not "all valid"; "cites a
  gold article" counts valid citations only.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import Any

from assistant.eval.questions import EvalQuestion
from assistant.text import sentence_spans

MARKER = re.compile(r"\[\d+(?:\s*[,;\u2013-]\s*\d+)*\]")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
FACT_COVERAGE = 0.8
FACT_SLACK = 1.25
ANSWERED_MODES = ("extractive", "llm")


def _is_punct(ch: str) -> bool:
    return ch in string.punctuation or unicodedata.category(ch).startswith("P")


def normalize_answer(text: str) -> str:
    """SQuAD normalisation (lower, no punctuation, no articles, single spaces), Unicode-aware."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(ch for ch in text if not _is_punct(ch))
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised gold answer."""
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in golds))


def _f1(pred: list[str], gold: list[str]) -> float:
    if not pred or not gold:
        return float(pred == gold)
    common = sum((Counter(pred) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, golds: Sequence[str]) -> float:
    """SQuAD token F1, best over the gold answers."""
    pred = normalize_answer(prediction).split()
    return max((_f1(pred, normalize_answer(g).split()) for g in golds), default=0.0)


def contains(text: str, golds: Sequence[str]) -> bool:
    """True when a normalised gold answer appears, on word boundaries, in the normalised text."""
    hay = f" {normalize_answer(text)} "
    return any(n and f" {n} " in hay for n in (normalize_answer(g) for g in golds))


def _first_sentence_end(text: str) -> int | None:
    spans = sentence_spans(text)
    return spans[0][1] if len(spans) > 1 else None


# An answer's lead ends where its first quotation opens ("Ford Motor Co. “Ford Motor Co. is ...”"):
# the lead may end in an abbreviation ("Co.", "DC.") and the quote may open with “( or ““, which
# the sentence splitter rightly does not take for a sentence start inside a passage.
_QUOTE_OPENS = re.compile(r"[.!?]\s+[“\"]")


def short_answer(text: str) -> str:
    """The text up to the first citation marker, quotation after a full stop, or sentence end
    (whichever is first), unmarked."""
    cut = len(text)
    marker = MARKER.search(text)
    if marker is not None and text[: marker.start()].strip():
        cut = marker.start()
    quote = _QUOTE_OPENS.search(text)
    if quote is not None and text[: quote.start()].strip():
        cut = min(cut, quote.start() + 1)
    end = _first_sentence_end(text)
    if end is not None:
        cut = min(cut, end)
    return " ".join(MARKER.sub(" ", text[:cut]).split())


def _tokens(text: str) -> list[str]:
    return normalize_answer(text).split()


def fact_units(fact: str) -> list[list[str]]:
    """Token lists to look for: the fact's sentences of >= 4 tokens (else the whole fact)."""
    sentences = [_tokens(s) for s in re.split(r"(?<=[.!?])\s+", fact)]
    units = [s for s in sentences if len(s) >= 4]
    whole = _tokens(fact)
    return units or ([whole] if whole else [])


def unit_in_passage(unit: list[str], passage: list[str]) -> bool:
    """True when >= 80% of `unit`'s tokens appear in order within a 1.25x window of `passage`."""
    need = FACT_COVERAGE * len(unit)
    if f" {' '.join(unit)} " in f" {' '.join(passage)} ":
        return True
    if sum((Counter(unit) & Counter(passage)).values()) < need:
        return False
    width = math.ceil(len(unit) * FACT_SLACK)
    vocab = set(unit)
    for start in (i for i, tok in enumerate(passage) if tok in vocab):
        matcher = SequenceMatcher(None, unit, passage[start : start + width], autojunk=False)
        if sum(b.size for b in matcher.get_matching_blocks()) >= need:
            return True
    return False


def citation_valid(citation: dict[str, Any], passages: dict[int, list[str]]) -> bool:
    """Marker in range and quote (non-empty) verbatim in a passage of the cited article."""
    n, quote = citation.get("n"), citation.get("quote")
    if not isinstance(n, int) or n not in passages or not isinstance(quote, str):
        return False
    return bool(quote.strip()) and any(quote in text for text in passages[n])


def _retrieval(q: EvalQuestion, passages: list[dict[str, Any]], top_k: int) -> dict[str, Any]:
    gold = set(q.gold_doc_ids)  # passages are in retrieval order: the rank is the place in the list
    rank = min((i for i, p in enumerate(passages, 1) if p.get("article_id") in gold), default=None)
    return {
        "gold_rank": rank,
        "hit@1": rank is not None and rank <= 1,
        "hit@5": rank is not None and rank <= 5,
        "hit@k": rank is not None,
        "rr": 1.0 / rank if rank else 0.0,
    }


def _answer_recall(passages: list[dict[str, Any]], golds: Sequence[str]) -> dict[str, Any]:
    """Answer-text recall, needing no gold article ids: the first passage rank (1-based) whose text
    holds a normalised gold answer (None when no passage of the top k does)."""
    rank = next((i for i, p in enumerate(passages, 1) if contains(p.get("text", ""), golds)), None)
    return {"rank": rank, "hit@5": rank is not None and rank <= 5, "hit@k": rank is not None}


def _evidence_hit(q: EvalQuestion, passages: list[dict[str, Any]]) -> bool:
    texts = [_tokens(p.get("text", "")) for p in passages]
    units = [u for fact in q.evidence for u in fact_units(fact)]
    return any(unit_in_passage(u, t) for u in units for t in texts)


def _answer_scores(q: EvalQuestion, text: str, answered: bool) -> dict[str, Any]:
    golds = [q.answer or "", *q.aliases]
    short = short_answer(text)
    return {
        "short_answer": short,
        "em": exact_match(short, golds) if answered else 0.0,
        "f1": round(token_f1(short, golds), 6) if answered else 0.0,
        "contains": contains(text, golds) if answered else False,
    }


def _citation_scores(q: EvalQuestion, ans: dict[str, Any], answered: bool) -> dict[str, Any]:
    by_n: dict[int, list[str]] = {}
    for p in ans.get("passages", []):
        by_n.setdefault(p["n"], []).append(p.get("text", ""))
    cites = ans.get("citations", [])
    valid = [c for c in cites if citation_valid(c, by_n)]
    gold = set(q.gold_doc_ids)
    return {
        "count": len(cites),
        "valid": len(valid),
        "all_valid": answered and bool(cites) and len(valid) == len(cites),
        "cites_gold": any(c.get("article_id") in gold for c in valid) if gold else None,
    }


def score_question(q: EvalQuestion, ans: dict[str, Any] | None, top_k: int) -> dict[str, Any]:
    """Scores of one question from its `Answer.to_json()` object (None: the question failed)."""
    ans = ans or {"answer": "", "mode": "error", "citations": [], "passages": []}
    mode = ans.get("mode")
    answered = mode in ANSWERED_MODES
    passages = [p for p in ans.get("passages", [])[:top_k] if isinstance(p.get("n"), int)]
    picked = ans.get("choice_index")
    golds = [g for g in (q.answer or "", *q.aliases) if g]
    return {
        "mode": mode,
        "retrieval": _retrieval(q, passages, top_k) if q.gold_doc_ids else None,
        "answer_recall": _answer_recall(passages, golds) if golds else None,
        "evidence_hit": _evidence_hit(q, passages) if q.evidence else None,
        "answer": _answer_scores(q, ans.get("answer", ""), answered) if q.answer else None,
        "mc": (
            {"picked": picked, "correct": picked == q.answer_index}
            if q.choices is not None and q.answer_index is not None
            else None
        ),
        "refusal": {
            "refused": mode == "none",
            "unanswerable": None if q.answer is None else q.answer == "",
        },
        "citations": _citation_scores(q, ans, answered),
        "llm": _llm_scores(ans),
    }


def _llm_scores(ans: dict[str, Any]) -> dict[str, Any] | None:
    """The model's part of an answer: its verification verdict and token usage (None: the
    server reported none); None when no model answered."""
    llm = ans.get("llm")
    if not isinstance(llm, dict):
        return None
    usage = ans.get("usage")
    return {"verification": llm.get("verification"),
            "usage": dict(usage) if isinstance(usage, dict) else None}
