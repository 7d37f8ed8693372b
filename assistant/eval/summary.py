"""Aggregate per-question scores into the summary's metric blocks (overall and by question type)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assistant.eval.metrics import ANSWERED_MODES
from assistant.eval.questions import EvalQuestion


@dataclass(frozen=True)
class ScoredRow:
    """One question with its scores and latency, as read back from results.jsonl."""

    question: EvalQuestion
    scores: dict[str, Any]
    latency_ms: float
    error: str | None = None


def _mean(values: Sequence[float | bool]) -> float | None:
    return round(sum(float(v) for v in values) / len(values), 6) if values else None


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 6) if den else None


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Linear-interpolated percentile (numpy's default method); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * pct / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo), 1)


def _retrieval(rows: Sequence[ScoredRow], top_k: int) -> dict[str, Any]:
    ret = [r.scores["retrieval"] for r in rows if r.scores.get("retrieval")]
    ev = [r.scores["evidence_hit"] for r in rows if r.scores.get("evidence_hit") is not None]
    rec = [r.scores["answer_recall"] for r in rows if r.scores.get("answer_recall")]
    return {
        "k": top_k,
        "answer_recall_n": len(rec),
        "answer_recall@5": _mean([s["hit@5"] for s in rec]),
        "answer_recall@k": _mean([s["hit@k"] for s in rec]),
        "n": len(ret),
        "hit@1": _mean([s["hit@1"] for s in ret]),
        "hit@5": _mean([s["hit@5"] for s in ret]),
        "hit@k": _mean([s["hit@k"] for s in ret]),
        "mrr": _mean([s["rr"] for s in ret]),
        "evidence_n": len(ev),
        "evidence_hit@k": _mean(ev),
    }


def _answer(rows: Sequence[ScoredRow]) -> dict[str, Any]:
    scores = [r.scores["answer"] for r in rows if r.scores.get("answer")]
    return {
        "n": len(scores),
        "em": _mean([s["em"] for s in scores]),
        "f1": _mean([s["f1"] for s in scores]),
        "contains": _mean([s["contains"] for s in scores]),
    }


def _mc(rows: Sequence[ScoredRow]) -> dict[str, Any]:
    scores = [r.scores["mc"] for r in rows if r.scores.get("mc")]
    return {
        "n": len(scores),
        "accuracy": _mean([s["correct"] for s in scores]),
        "picked": _mean([s["picked"] is not None for s in scores]),
    }


def _refusal(rows: Sequence[ScoredRow]) -> dict[str, Any]:
    gold = [r.scores["refusal"] for r in rows if r.scores["refusal"]["unanswerable"] is not None]
    refused = sum(s["refused"] for s in gold)
    unanswerable = sum(bool(s["unanswerable"]) for s in gold)
    both = sum(s["refused"] and bool(s["unanswerable"]) for s in gold)
    return {
        "n": len(gold),
        "unanswerable": unanswerable,
        "refused": refused,
        # no unanswerable question: no refusal precision to speak of (every refusal is a miss,
        # which the answer metrics already count), so None rather than 0.0
        "precision": _ratio(both, refused) if unanswerable else None,
        "recall": _ratio(both, unanswerable),
    }


def _citations(rows: Sequence[ScoredRow]) -> dict[str, Any]:
    answered = [r.scores["citations"] for r in rows if r.scores["mode"] in ANSWERED_MODES]
    gold = [s["cites_gold"] for s in answered if s["cites_gold"] is not None]
    return {
        "n": len(answered),
        "all_valid": _mean([s["all_valid"] for s in answered]),
        "n_gold": len(gold),
        "cites_gold": _mean(gold),
        "mean_count": _mean([s["count"] for s in answered]),
    }


def _latency(rows: Sequence[ScoredRow]) -> dict[str, Any]:
    ms = [r.latency_ms for r in rows]
    return {
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "mean": round(sum(ms) / len(ms), 1) if ms else None,
        "max": round(max(ms), 1) if ms else None,
        "total": round(sum(ms), 1),
    }


def _llm(rows: Sequence[ScoredRow]) -> dict[str, Any]:
    """Answers the model wrote, by verdict, and their tokens (only what servers reported)."""
    scored = [r.scores["llm"] for r in rows if r.scores.get("llm")]
    reported = [s["usage"] for s in scored if s["usage"]]
    verdicts = [s["verification"] for s in scored]
    return {
        "n": len(scored),
        **{v: verdicts.count(v) for v in ("verified", "partly", "unverified", "refusal")},
        "usage_reported": len(reported),
        "usage_unknown": len(scored) - len(reported),
        "prompt_tokens": sum(int(u.get("prompt_tokens", 0)) for u in reported),
        "completion_tokens": sum(int(u.get("completion_tokens", 0)) for u in reported),
        "total_tokens": sum(int(u.get("total_tokens", 0)) for u in reported),
    }


def metric_block(rows: Sequence[ScoredRow], top_k: int) -> dict[str, Any]:
    """The metric groups of the summary for a set of questions (llm only when a model wrote
    some of the answers)."""
    block = {
        "retrieval": _retrieval(rows, top_k),
        "answer": _answer(rows),
        "mc": _mc(rows),
        "refusal": _refusal(rows),
        "citations": _citations(rows),
        "latency_ms": _latency(rows),
    }
    llm = _llm(rows)
    if llm["n"]:
        block["llm"] = llm
    return block


def build_summary(rows: Sequence[ScoredRow], top_k: int, config: dict[str, Any]) -> dict[str, Any]:
    """{"n", "errors", "metrics", "by_type", "config"}; types sorted by name, untyped left out."""
    types = sorted({r.question.qtype for r in rows if r.question.qtype})
    by_type = {}
    for qtype in types:
        subset = [r for r in rows if r.question.qtype == qtype]
        by_type[qtype] = {"n": len(subset), **metric_block(subset, top_k)}
    return {
        "n": len(rows),
        "errors": sum(r.error is not None for r in rows),
        "metrics": metric_block(rows, top_k),
        "by_type": by_type,
        "config": config,
    }
