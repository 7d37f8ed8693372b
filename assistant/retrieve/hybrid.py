"""Question -> numbered Passages: dense (exact, beside Chroma) + BM25, fused, dated, deduplicated."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from assistant.dates import Window, day_number
from assistant.embed import Embedder
from assistant.errors import ConfigError
from assistant.models import Passage
from assistant.retrieve.dedup import near_duplicate, shingles
from assistant.retrieve.recency import PREFERENCES, DatePreference, TimeCue, recency_bonus, time_cue
from assistant.store.lexical import LexicalIndex
from assistant.store.vectors import VectorIndex

RRF_K = 60
CANDIDATES = 40


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


@dataclass(frozen=True)
class Gathered:
    """What a question's searches found, before ranking (benchmarks rank it many ways)."""

    base: list[list[str]]  # dense and BM25 over everything up to the as-of date
    windowed: list[list[str]]  # the same inside the question's time window
    cue: TimeCue
    vector: np.ndarray
    rows: dict[str, dict[str, Any]]  # every candidate's manifest row
    ref_day: int  # the reference day (as-of, else today) as a day number
    timings_ms: dict[str, float]


class ChunkTable(Protocol):
    """What retrieval reads from the manifest: chunk rows by id and the known outlets."""

    def chunk_rows(self, ids: list[str]) -> dict[str, dict[str, Any]]: ...

    def lead_rows(self, article_ids: list[str]) -> dict[str, dict[str, Any]]: ...

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

    def gather(self, q: Query) -> Gathered:
        """The candidate lists for a question: dense and BM25 over everything up to the as-of
        date, and again inside the question's time window; and the candidates' rows."""
        if q.mode not in ("hybrid", "dense", "lexical"):
            raise ConfigError(f"Unknown retrieval mode {q.mode!r}: set ASSISTANT_RETRIEVAL to "
                              "hybrid, dense or lexical")
        t0 = time.perf_counter()
        cue = time_cue(q.text, q.as_of, dt.date.today()) if q.use_window else TimeCue("none", None)
        lo, hi = _day_range(q)
        sources = self._sources(q)
        vec = self.embedder.embed_query(q.text)
        t1 = time.perf_counter()
        dense, lexical = q.mode in ("hybrid", "dense"), q.mode in ("hybrid", "lexical")
        lex = self.lexical() if lexical else None
        base: list[list[str]] = []
        if dense:
            base.append(self.vectors().top(vec, lo, hi, sources, CANDIDATES))
        if lex is not None:
            base.append(lexical_hits(lex, q.text, lo, hi, sources, CANDIDATES))
        windowed: list[list[str]] = []
        if cue.window is not None:
            wlo = max(day_number(cue.window.start.isoformat()), lo if lo is not None else -10**9)
            whi = min(day_number(cue.window.end.isoformat()), hi if hi is not None else 10**9)
            if wlo <= whi and dense:
                windowed.append(self.vectors().top(vec, wlo, whi, sources, CANDIDATES // 2))
            if wlo <= whi and lex is not None:
                windowed.append(lexical_hits(lex, q.text, wlo, whi, sources, CANDIDATES // 2))
        ids = list(dict.fromkeys(c for ranked in base + windowed for c in ranked))
        rows = self.manifest.chunk_rows(ids)
        ref = q.as_of or dt.date.today()
        t2 = time.perf_counter()
        return Gathered(base, windowed, cue, vec, rows, day_number(ref.isoformat()),
                        {"embed_query": (t1 - t0) * 1000, "search": (t2 - t1) * 1000})

    def retrieve(self, q: Query, preferences: dict[str, DatePreference] | None = None) -> Retrieval:
        """The question's passages: gathered, then ranked with the date preference of its cue."""
        found = self.gather(q)
        t0 = time.perf_counter()
        pref = (preferences or PREFERENCES)[found.cue.kind]
        passages = rank(found, pref, q.top_k, q.diverse)
        timings = {**found.timings_ms, "fuse": (time.perf_counter() - t0) * 1000}
        return Retrieval(passages, found.cue.window, found.vector, timings)


def with_leads(passages: list[Passage], manifest: ChunkTable, articles: int) -> list[Passage]:
    """The passages, then the first chunk of each of the first `articles` articles shown when it
    is not shown already (news puts its facts in the lead), numbered on after them."""
    shown = {p.chunk_id for p in passages}
    wanted = list(dict.fromkeys(p.article_id for p in passages))[:articles]
    rows = manifest.lead_rows(wanted) if wanted else {}
    out = list(passages)
    for aid in wanted:
        r = rows.get(aid)
        if r is None or r["chunk_id"] in shown:
            continue
        best = next(p for p in passages if p.article_id == aid)
        out.append(dataclasses.replace(best, n=len(out) + 1, chunk_id=r["chunk_id"], text=r["text"]))
    return out


def rank(found: Gathered, pref: DatePreference, top_k: int, diverse: bool = True) -> list[Passage]:
    """Fuse the gathered lists (reciprocal rank fusion, the window lists weighted by the cue's
    preference), add the recency bonus, fold near-duplicates, keep one passage per article first."""
    fused: dict[str, float] = {}
    weighted = [(r, 1.0) for r in found.base] + [(r, pref.window_weight) for r in found.windowed]
    for ranked, weight in weighted:
        for i, cid in enumerate(ranked):
            fused[cid] = fused.get(cid, 0.0) + weight / (RRF_K + i + 1)
    for cid in fused:
        day = (found.rows.get(cid) or {}).get("published_day")
        age = found.ref_day - int(day) if isinstance(day, int) and day >= 0 else None
        fused[cid] += recency_bonus(pref, age)
    return _select(fused, found.rows, top_k, diverse)


def _select(fused: dict[str, float], rows: dict[str, dict[str, Any]], top_k: int,
            diverse: bool) -> list[Passage]:
    """The top_k passages by fused score: near-duplicates folded into "also reported by", one
    passage per article first (when diverse), then further chunks of the kept articles."""
    order = sorted(fused, key=lambda c: (-fused[c], c))
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
