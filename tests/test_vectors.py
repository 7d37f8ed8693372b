"""The exact dense index beside the store: same hits as Chroma, filters by day and outlet, rebuilt
when the manifest moves on, and the ingest builds it (and BM25) before the first question."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from helpers import md, write_articles

from assistant.app import App
from assistant.dates import day_number
from assistant.store.vectors import VECTORS_DIR, VectorIndex

TOPICS = ["A storm closed the harbour of Varnholm for three days.",
          "The council of Quellport approved a new tram line.",
          "Drissan's football club signed a striker from Brazil.",
          "Farmers near Kelmarsh reported the driest spring in decades.",
          "A museum in Pendwick reopened after a long renovation.",
          "The mayor of Tarsuvo resigned over a budget scandal.",
          "Researchers in Bellacourt found a new species of frog.",
          "Mirrowby's bakery won the national bread prize."]


def _index(rows: list[tuple[str, int, str, list[float]]]) -> VectorIndex:
    ids, days, sources, vecs = zip(*rows, strict=True)
    m = np.asarray(vecs, dtype=np.float32)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    return VectorIndex(1, list(ids), np.asarray(days, dtype=np.int32), list(sources), m)


def test_top_filters_and_ties() -> None:
    index = _index([("a", 10, "x.com", [1, 0]), ("b", 20, "y.com", [1, 0]), ("c", -1, "x.com", [1, 0.1]),
                    ("d", 30, "x.com", [0, 1]), ("e", 15, "y.com", [1, 0.5])])
    q = np.asarray([1, 0], dtype=np.float32)
    assert index.top(q, None, None, None, 3) == ["a", "b", "c"]  # a and b tie: index order
    assert index.top(q, None, None, None, 10) == ["a", "b", "c", "e", "d"]
    assert index.top(q, 12, None, None, 10) == ["b", "e", "d"]
    assert index.top(q, None, 20, None, 10) == ["a", "b", "e"]  # a bound drops unknown dates
    assert index.top(q, None, None, ["y.com"], 10) == ["b", "e"]
    assert index.top(q, None, None, [], 10) == []
    assert index.top(q, 40, None, None, 10) == []


def _ingest(app: App, folder: Path) -> None:
    with app.writer_lock():
        app.indexer().run([folder])


def test_same_hits_as_chroma(make_app: Callable[..., App], tmp_path: Path) -> None:
    docs = {f"t{i}.md": md(f"News {i}", f"2023-0{1 + i % 8}-1{i % 9}", text, source=f"site{i % 3}.com")
            for i, text in enumerate(TOPICS)}
    app = make_app()
    _ingest(app, write_articles(tmp_path / "docs", docs))
    assert (app.state_dir / VECTORS_DIR / "meta.json").exists()  # built by the ingest
    assert (app.state_dir / "bm25" / "meta.json").exists()
    index = app.vectors()
    assert len(index.ids) == app.store.count()
    hi = day_number("2023-05-31")
    for text in ["harbour storm", "tram line vote", "football transfer", "frog species"]:
        vec = app.embedder.embed_query(text)
        chroma = [h.chunk_id for h in app.store.query(vec, 5, None)]
        assert index.top(vec, None, None, None, 5) == chroma
        where = {"$and": [{"published_day": {"$lte": hi}}, {"published_day": {"$gte": 0}}]}
        chroma = [h.chunk_id for h in app.store.query(vec, 3, where)]
        assert index.top(vec, None, hi, None, 3) == chroma


def test_rebuilt_when_the_manifest_moves_on(make_app: Callable[..., App], tmp_path: Path) -> None:
    folder = write_articles(tmp_path / "docs", {"a.md": md("Harbour", "2023-01-02", TOPICS[0])})
    app = make_app()
    _ingest(app, folder)
    first = app.vectors()
    write_articles(folder, {"b.md": md("Frogs", "2023-01-03", TOPICS[6])})
    _ingest(app, folder)
    second = app.vectors()
    assert second.generation > first.generation and len(second.ids) == len(first.ids) + 1
    (app.state_dir / VECTORS_DIR / "meta.json").write_text("{broken", "utf-8")
    app._cache.pop("vectors")
    assert app.vectors().ids == second.ids  # a damaged index is rebuilt from the store
