"""Question -> numbered Passages: dense (llama-index over Chroma) + BM25, fused, dated, deduplicated."""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.dates import Window, question_window
from assistant.errors import ConfigError
from assistant.models import Passage
from assistant.store import day_number

if TYPE_CHECKING:
    from assistant.app import App

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


def _day_range(q: Query) -> tuple[int | None, int | None]:
    lo = day_number(q.since.isoformat()) if q.since else None
    ends = [d for d in (q.until, q.as_of) if d is not None]
    hi = day_number(min(ends).isoformat()) if ends else None
    return lo, hi


def _where(lo: int | None, hi: int | None, sources: list[str] | None) -> list[Any]:
    from llama_index.core.vector_stores import FilterOperator, MetadataFilter

    out: list[Any] = []
    if lo is not None:
        out.append(MetadataFilter(key="published_day", value=lo, operator=FilterOperator.GTE))
    if hi is not None:
        out.append(MetadataFilter(key="published_day", value=hi, operator=FilterOperator.LTE))
        out.append(MetadataFilter(key="published_day", value=0, operator=FilterOperator.GTE))
    if sources is not None:
        out.append(MetadataFilter(key="source", value=sources or ["-"], operator=FilterOperator.IN))
    return out


def _shingles(text: str) -> set[str]:
    words = re.findall(r"\w+", text.lower())
    return {" ".join(words[i : i + 5]) for i in range(max(1, len(words) - 4))}


def _near_duplicate(a: set[str], b: set[str]) -> bool:
    if not a or not b:
        return False
    inter = len(a & b)
    return inter / min(len(a), len(b)) >= 0.6


class Retriever:
    """Hybrid retrieval over the app's store, manifest and lexical index."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._dense: Any = None

    def _dense_index(self) -> Any:
        if self._dense is None:
            from llama_index.core import VectorStoreIndex

            from assistant.embeddings import LlamaIndexEmbedding

            self._dense = VectorStoreIndex.from_vector_store(
                self.app.store.llama_vector_store(),
                embed_model=LlamaIndexEmbedding(self.app.embedder),
            )
        return self._dense

    def _dense_hits(self, q: Query, vec: np.ndarray, filters: list[Any], n: int) -> list[str]:
        from llama_index.core.schema import QueryBundle
        from llama_index.core.vector_stores import FilterCondition, MetadataFilters

        mf = MetadataFilters(filters=filters, condition=FilterCondition.AND) if filters else None
        retriever = self._dense_index().as_retriever(similarity_top_k=n, filters=mf)
        nodes = retriever.retrieve(QueryBundle(query_str=q.text, embedding=vec.tolist()))
        return [n.node.node_id for n in nodes]

    def _lexical_hits(self, q: Query, lo: int | None, hi: int | None,
                      sources: list[str] | None, n: int) -> list[str]:
        lex = self.app.lexical()
        if not lex.ids:
            return []
        scores = lex.scores(q.text)
        mask = np.ones(len(lex.ids), dtype=bool)
        if lo is not None:
            mask &= lex.days >= lo
        if hi is not None:
            mask &= (lex.days <= hi) & (lex.days >= 0)
        if sources is not None:
            allowed = set(sources)
            mask &= np.fromiter((s in allowed for s in lex.sources), bool, len(lex.sources))
        scores = np.where(mask & (scores > 0), scores, -1.0)
        top = np.argsort(-scores)[:n]
        return [lex.ids[i] for i in top if scores[i] > 0]

    def _sources(self, q: Query) -> list[str] | None:
        if not q.source:
            return None
        want = q.source.lower().removeprefix("www.")
        known = self.app.manifest.db.execute("SELECT DISTINCT source FROM chunks").fetchall()
        return [s for (s,) in known if s and (s.lower() == want or s.lower().endswith("." + want)
                                             or want in s.lower())]

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
        vec = self.app.embedder.embed_query(q.text)
        t1 = time.perf_counter()
        dense, lexical = q.mode in ("hybrid", "dense"), q.mode in ("hybrid", "lexical")
        lists: list[list[str]] = []
        if dense:
            lists.append(self._dense_hits(q, vec, _where(lo, hi, sources), CANDIDATES))
        if lexical:
            lists.append(self._lexical_hits(q, lo, hi, sources, CANDIDATES))
        base = len(lists)
        if window is not None:
            wlo = max(day_number(window.start.isoformat()), lo if lo is not None else -10**9)
            whi = min(day_number(window.end.isoformat()), hi if hi is not None else 10**9)
            if wlo <= whi and dense:
                lists.append(self._dense_hits(q, vec, _where(wlo, whi, sources), CANDIDATES // 2))
            if wlo <= whi and lexical:
                lists.append(self._lexical_hits(q, wlo, whi, sources, CANDIDATES // 2))
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
        rows = self.app.manifest.chunk_rows(order[: top_k * 6])
        kept: list[tuple[dict[str, Any], set[str], list[str]]] = []
        extra: list[tuple[dict[str, Any], set[str], list[str]]] = []  # more chunks of kept articles
        for cid in order[: top_k * 6]:
            row = rows.get(cid)
            if row is None:
                continue
            sh = _shingles(row["text"])
            dup = next((k for k in kept if _near_duplicate(k[1], sh)
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
