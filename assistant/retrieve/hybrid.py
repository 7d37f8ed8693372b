"""Question -> numbered Passages: dense (exact, beside Chroma) + BM25, fused, dated, deduplicated."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from assistant.dates import Window, day_number, question_window
from assistant.embed import Embedder
from assistant.errors import ConfigError
from assistant.models import Passage
from assistant.retrieve.dedup import near_duplicate, shingles
from assistant.store.lexical import LexicalIndex
from assistant.store.vectors import VectorIndex

RRF_K = 60
CANDIDATES = 40
WINDOW_WEIGHT = 1.0  # RRF weight of the date-window lists (2.0 and 0.5 measured: no better)
RECENT_DAYS = 7  # with --as-of and no date in the question, the latest week is looked at first


@dataclass(frozen=True)
class Query:
    """A retrieval request."""

    text: str
    top_k: int = 5
    as_of: dt.date | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    source: str | None = None
    use_window: bool = True
    mode: str = "hybrid"  # "hybrid" | "dense" | "lexical" (benchmarks compare them)
    diverse: bool = True  # one passage per article first, then further chunks


@dataclass
class Retrieval:
    """Passages for a question, the date window used, and where the time went."""

    passages: list[Passage]
    window: Window | None
    query_vector: np.ndarray
    timings_ms: dict[str, float] = field(default_factory=dict)


class ChunkTable(Protocol):
    """What retrieval reads from the manifest: chunk rows by id and the known outlets."""

    def chunk_rows(self, ids: list[str]) -> dict[str, dict[str, Any]]: ...

    def sources(self) -> list[str]: ...


def _day_range(q: Query) -> tuple[int | None, int | None]:
    lo = day_number(q.since.isoformat()) if q.since else None
    ends = [d for d in (q.until, q.as_of) if d is not None]
    hi = day_number(min(ends).isoformat()) if ends else None
    return lo, hi


def lexical_hits(lex: LexicalIndex, text: str, lo: int | None, hi: int | None,
                 sources: list[str] | None, n: int) -> list[str]:
    """Ids of the n best BM25 chunks within the day range and outlets."""
    if not lex.ids:
        return []
    scores = lex.scores(text)
    mask = np.ones(len(lex.ids), dtype=bool)
    if lo is not None:
        mask &= lex.days >= lo
    if hi is not None:
        mask &= (lex.days <= hi) & (lex.days >= 0)
    if sources is not None:
        allowed = set(sources)
        mask &= np.fromiter((s in allowed for s in lex.sources), bool, len(lex.sources))
    found = np.flatnonzero(mask & (scores > 0))
    if len(found) > n:  # the n best without sorting every chunk; ties keep index order
        cut = np.partition(scores[found], len(found) - n)[len(found) - n]
        found = found[scores[found] >= cut]
    top = found[np.lexsort((found, -scores[found]))][:n]
    return [lex.ids[i] for i in top]


class Retriever:
    """Hybrid retrieval over the vector index, an embedder, the manifest and the BM25 index.

    `vectors` and `lexical` return the current indexes (reloaded when an ingest moves the manifest on).
    """

    def __init__(self, vectors: Callable[[], VectorIndex], embedder: Embedder, manifest: ChunkTable,
                 lexical: Callable[[], LexicalIndex]) -> None:
        self.embedder = embedder
        self.manifest = manifest
        self.lexical = lexical
        self.vectors = vectors

    def _sources(self, q: Query) -> list[str] | None:
        if not q.source:
            return None
        want = q.source.lower().removeprefix("www.")
        return [s for s in self.manifest.sources()
                if s.lower() == want or s.lower().endswith("." + want) or want in s.lower()]

    def retrieve(self, q: Query) -> Retrieval:
        if q.mode not in ("hybrid", "dense", "lexical"):
            raise ConfigError(f"Unknown retrieval mode {q.mode!r}: set ASSISTANT_RETRIEVAL to "
                              "hybrid, dense or lexical")
        t0 = time.perf_counter()
        ref = q.as_of or dt.date.today()
        window = question_window(q.text, ref) if q.use_window else None
        if window is None and q.use_window and q.as_of is not None:
            window = Window(q.as_of - dt.timedelta(days=RECENT_DAYS), q.as_of, "the week before as-of")
        lo, hi = _day_range(q)
        sources = self._sources(q)
        vec = self.embedder.embed_query(q.text)
        t1 = time.perf_counter()
        dense, lexical = q.mode in ("hybrid", "dense"), q.mode in ("hybrid", "lexical")
        lex = self.lexical() if lexical else None
        lists: list[list[str]] = []
        if dense:
            lists.append(self.vectors().top(vec, lo, hi, sources, CANDIDATES))
        if lex is not None:
            lists.append(lexical_hits(lex, q.text, lo, hi, sources, CANDIDATES))
        base = len(lists)
        if window is not None:
            wlo = max(day_number(window.start.isoformat()), lo if lo is not None else -10**9)
            whi = min(day_number(window.end.isoformat()), hi if hi is not None else 10**9)
            if wlo <= whi and dense:
                lists.append(self.vectors().top(vec, wlo, whi, sources, CANDIDATES // 2))
            if wlo <= whi and lex is not None:
                lists.append(lexical_hits(lex, q.text, wlo, whi, sources, CANDIDATES // 2))
        t2 = time.perf_counter()
        weights = [1.0] * base + [WINDOW_WEIGHT] * (len(lists) - base)
        passages = self._fuse(lists, weights, q.top_k, q.diverse)
        t3 = time.perf_counter()
        timings = {"embed_query": (t1 - t0) * 1000, "search": (t2 - t1) * 1000,
                   "fuse": (t3 - t2) * 1000}
        return Retrieval(passages, window, vec, timings)

    def _fuse(self, lists: list[list[str]], weights: list[float], top_k: int,
              diverse: bool = True) -> list[Passage]:
        fused: dict[str, float] = {}
        for ranked, weight in zip(lists, weights, strict=True):
            for rank, cid in enumerate(ranked):
                fused[cid] = fused.get(cid, 0.0) + weight / (RRF_K + rank + 1)
        order = sorted(fused, key=lambda c: (-fused[c], c))
        rows = self.manifest.chunk_rows(order[: top_k * 6])
        kept: list[tuple[dict[str, Any], set[str], list[str]]] = []
        extra: list[tuple[dict[str, Any], set[str], list[str]]] = []  # more chunks of kept articles
        for cid in order[: top_k * 6]:
            row = rows.get(cid)
            if row is None:
                continue
            sh = shingles(row["text"])
            dup = next((k for k in kept if near_duplicate(k[1], sh)
                        and k[0]["article_id"] != row["article_id"]), None)
            if dup is not None:
                label = f"{row['source'] or row['title']} ({row['published_at'] or 'date unknown'})"
                if label not in dup[2]:
                    dup[2].append(label)
                continue
            if diverse and any(k[0]["article_id"] == row["article_id"] for k in kept):
                extra.append((row, sh, []))
            elif len(kept) < top_k:
                kept.append((row, sh, []))
        kept = sorted(kept + extra[: max(0, top_k - len(kept))], key=lambda k: -fused[k[0]["chunk_id"]])
        return [
            Passage(n=i + 1, chunk_id=r["chunk_id"], article_id=r["article_id"], title=r["title"],
                    source=r["source"] or None, url=r["url"] or None, path=r["path"],
                    published_at=r["published_at"] or None, text=r["text"],
                    score=fused[r["chunk_id"]], also_reported_by=tuple(also))
            for i, (r, _, also) in enumerate(kept)
        ]
