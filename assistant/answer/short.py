"""Short answers (a span of the best evidence sentence) and multiple-choice picks, offline."""

from __future__ import annotations

from typing import Any

import numpy as np

from assistant.answer.sentences import content_terms, split_sentences
from assistant.models import Passage


def short_answer(question: str, evidence: list[Any], scored: list[Any]) -> str | None:
    """A name, number, date or phrase from the best evidence sentence, or None when unsure."""
    return None


def pick_choice(question: str, choices: list[str], passages: list[Passage], qvec: np.ndarray,
                embedder: Any) -> int | None:
    """The choice best supported by the retrieved passages (None without passages)."""
    if not choices or not passages:
        return None
    sentences = [s for i, p in enumerate(passages) for s in split_sentences(p.text, i)]
    if not sentences:
        return None
    vecs = np.asarray(embedder.embed([s.text for s in sentences]), dtype=np.float32)
    rel = vecs @ np.asarray(qvec, dtype=np.float32)
    best, best_score = None, -1.0
    for ci, choice in enumerate(choices):
        terms = content_terms(choice)
        if not terms:
            continue
        score = 0.0
        for s, r in zip(sentences, rel, strict=True):
            present = len(terms & content_terms(s.text)) / len(terms)
            score = max(score, float(r) * present)
        for i, p in enumerate(passages):
            present = len(terms & content_terms(p.text)) / len(terms)
            score += 0.3 * present / (i + 1)
        if score > best_score:
            best, best_score = ci, score
    return best
