"""The BM25 index beside the store, rebuilt from the manifest whenever its generation moves."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

LEXICAL_DIR = "bm25"  # the index's folder inside the store folder


class ChunkSource(Protocol):
    """Where the index reads chunks from (the manifest): its generation and every chunk row."""

    def generation(self) -> int: ...

    def iter_chunks(self) -> Iterator[list[tuple[Any, ...]]]: ...


def _quiet_bm25s() -> None:
    """bm25s sets its own logger to DEBUG at import: keep its progress chatter off the terminal."""
    import logging

    import bm25s  # noqa: F401

    logging.getLogger("bm25s").setLevel(logging.WARNING)


def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # bm25s' default token pattern (scikit-learn's)


@functools.cache
def _stopwords() -> frozenset[str]:
    from bm25s.tokenization import _infer_stopwords

    return frozenset(_infer_stopwords("en"))


def tokenize(texts: list[str], stemmer: Any) -> list[list[str]]:
    """Lower-cased, stop-worded, stemmed word tokens: the tokens of bm25s.tokenize(texts,
    stopwords="en", stemmer=stemmer, return_ids=False) (tests/test_lexical.py compares them),
    without its progress bars, which cost ~0.3 ms a call even when hidden: a question tokenizes
    its passages some twenty times."""
    stop = _stopwords()
    words = [[w for w in _TOKEN.findall(t.lower()) if w not in stop] for t in texts]
    unique = list(dict.fromkeys(w for ws in words for w in ws))  # each word stemmed once
    stems = dict(zip(unique, stemmer.stemWords(unique), strict=True))
    return [[stems[w] for w in ws] for ws in words]


@dataclass
class LexicalIndex:
    """A loaded BM25 index: chunk ids, their publication days and sources, and the scorer."""

    generation: int
    ids: list[str]
    days: np.ndarray
    sources: list[str]
    bm25: Any
    stemmer: Any
    _last: tuple[str, np.ndarray] | None = field(default=None, repr=False)

    def terms(self, text: str) -> list[str]:
        """The text's BM25 tokens (stop words out, stemmed): what rarity is measured on."""
        return tokenize([text], self.stemmer)[0]

    def idf(self, terms: list[str]) -> dict[str, float]:
        """BM25's inverse document frequency of each term over the indexed chunks; a term no chunk
        holds gets the largest value (rarer than anything indexed)."""
        n = len(self.ids)
        vocab = self.bm25.vocab_dict if self.bm25 is not None else {}
        indptr = self.bm25.scores["indptr"] if self.bm25 is not None else None
        out: dict[str, float] = {}
        for t in terms:
            tid = vocab.get(t)
            df = int(indptr[tid + 1] - indptr[tid]) if tid is not None and indptr is not None else 0
            out[t] = float(np.log((n - df + 0.5) / (df + 0.5) + 1.0))
        return out

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk (the last query's scores are kept: a question searches the
        whole range and then its date window with the same words)."""
        if self._last is not None and self._last[0] == query:
            return self._last[1]
        tokens = tokenize([query], self.stemmer)[0]
        known = [t for t in tokens if t in self.bm25.vocab_dict] if self.bm25 is not None else []
        if not known or not self.ids:
            out = np.zeros(len(self.ids), dtype=np.float32)
        else:
            out = np.asarray(self.bm25.get_scores(known), dtype=np.float32)
        self._last = (query, out)
        return out


def _build(manifest: ChunkSource, folder: Path, generation: int) -> None:
    import bm25s

    ids: list[str] = []
    days: list[int] = []
    sources: list[str] = []
    corpus: list[list[str]] = []
    stemmer = _stemmer()
    for rows in manifest.iter_chunks():
        texts = [f"{r[3] or ''}\n{r[2]}" for r in rows]
        corpus.extend(tokenize(texts, stemmer))
        ids.extend(str(r[0]) for r in rows)
        sources.extend(str(r[4] or "") for r in rows)
        days.extend(int(r[5]) for r in rows)
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if corpus:
        bm25 = bm25s.BM25()
        bm25.index(corpus, show_progress=False)
        bm25.save(str(tmp))
    np.save(tmp / "days.npy", np.asarray(days, dtype=np.int32))
    (tmp / "meta.json").write_text(
        json.dumps({"generation": generation, "ids": ids, "sources": sources}), "utf-8"
    )
    old = folder.with_name(f"{folder.name}.old-{os.getpid()}")
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def _load(folder: Path) -> LexicalIndex | None:
    import bm25s

    try:
        meta = json.loads((folder / "meta.json").read_text("utf-8"))
        days = np.load(folder / "days.npy")
        bm25 = bm25s.BM25.load(str(folder)) if meta["ids"] else None
    except (OSError, ValueError, KeyError):
        return None
    return LexicalIndex(int(meta["generation"]), list(meta["ids"]), days, list(meta["sources"]),
                        bm25, _stemmer())


def _generation(folder: Path) -> int | None:
    """The generation an index on disk was built for, without loading it (None: no usable index)."""
    try:
        return int(json.loads((folder / "meta.json").read_text("utf-8"))["generation"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def ensure_lexical(manifest: ChunkSource, folder: Path) -> bool:
    """Build the index when it is missing or stale (True when it was built); does not load it."""
    if _generation(folder) == manifest.generation():
        return False
    load_lexical(manifest, folder)
    return True


def load_lexical(manifest: ChunkSource, folder: Path) -> LexicalIndex:
    """The BM25 index for the manifest's current generation, rebuilding it when stale or damaged."""
    _quiet_bm25s()
    generation = manifest.generation()
    index = _load(folder)
    if index is None or index.generation != generation:
        from filelock import FileLock

        with FileLock(str(folder.with_name(folder.name + ".lock"))):  # one builder at a time
            index = _load(folder)  # another process may have built it while we waited
            if index is None or index.generation != generation:
                _build(manifest, folder, generation)
                index = _load(folder)
    if index is None:
        raise OSError(f"cannot build the lexical index in {folder}")
    return index
