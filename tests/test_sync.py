"""Sync on a real store: re-ingest is free, an edit touches only its chunks, deletions disappear.

The `backend` fixture picks the vector store: the local folder here; test_server.py imports
these tests and runs them again against a real `chroma run` server.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import md, write_articles

from assistant.app import App
from assistant.index.indexer import IngestReport
from assistant.qa import AskOptions, ask, stale_files

Backend = dict[str, Any]
TOWNS = ["Varnholm", "Quellport", "Drissan", "Ostrava Nova", "Kelmarsh", "Pendwick", "Tarsuvo",
         "Bellacourt", "Mirrowby", "Saltrene", "Hovenmark", "Zellary"]
THINGS = ["bridges", "schools", "tram lines", "clinics", "parks", "libraries", "wind farms",
          "fire stations", "markets", "harbours"]


@pytest.fixture()
def backend() -> Backend:
    """Settings that choose the vector store: {} is the local folder (a server: test_server.py)."""
    return {}


def article(i: int) -> str:
    """A one-chunk markdown article with words of its own (so that each one is findable)."""
    rng = random.Random(i)
    town, thing = rng.choice(TOWNS), rng.choice(THINGS)
    day = dt.date(2021, 1, 1) + dt.timedelta(days=i)
    body = (f"Item {i}: the council of {town} approved {rng.randint(2, 90)} new {thing} "
            f"(code Z{i:04d}Q) after a vote of {rng.randint(5, 30)} to {rng.randint(0, 4)}.")
    return md(f"{town} report {i}", day.isoformat(), body, source=f"outlet{i % 5}.com")


def tiny_corpus(folder: Path, n: int, start: int = 0) -> Path:
    """n one-chunk articles a{i}.md."""
    return write_articles(folder, {f"a{i:04d}.md": article(i) for i in range(start, start + n)})


def ingest(app: App, *paths: Path, prune: bool = False, force: bool = False) -> IngestReport:
    with app.writer_lock():
        return app.indexer().run(list(paths), prune=prune, force=force)


def assert_consistent(app: App) -> dict[str, dict[str, Any]]:
    """The store holds exactly the manifest's chunks (an id is a hash of its text), each with its
    article and place in it; returns the store's records."""
    records = app.store.records()
    rows = app.manifest.chunk_rows(sorted(app.manifest.chunk_ids()))
    assert set(records) == set(rows)
    with app.store.session() as coll:  # texts live in the manifest only (no full-text index to feed)
        assert not any(coll.get(include=["documents"])["documents"] or [])
    assert {i: (m["article_id"], m["chunk_index"]) for i, m in records.items()} == {
        i: (r["article_id"], r["idx"]) for i, r in rows.items()}
    return records


LONG = " ".join(
    f"Paragraph {i} of the Harwick inquiry heard that the {w} contract was signed in {1990 + i}."
    for i, w in enumerate(["ferry", "dredging", "lighthouse", "pier", "canal", "sluice", "quay",
                           "breakwater", "slipway", "marina"] * 4)
)


def test_reingest_is_free_and_an_edit_changes_only_its_chunks(
    make_app: Callable[..., App], backend: Backend, tmp_path: Path
) -> None:
    folder = write_articles(tmp_path / "docs", {
        "long.md": md("Harwick inquiry", "2022-02-02", LONG),
        "b.md": article(1), "c.md": article(2),
    })
    app = make_app(**backend)
    first = ingest(app, folder)
    before = assert_consistent(app)
    long_id = next(iter(app.manifest.article_ids_for_file(str((folder / "long.md").resolve()))))
    long_old = app.manifest.chunk_ids(long_id)
    assert first.articles_new == 3 and len(long_old) >= 3

    again = make_app(**backend)  # what a new `assistant ingest` process starts with
    for force in (False, True):
        report = ingest(again, folder, force=force)
        assert (report.embedded, report.articles_indexed, report.articles_unchanged) == (0, 0, 3)
        assert again.embedder.calls == 0  # type: ignore[attr-defined]
        assert again.store.records() == before

    (folder / "long.md").write_text(md("Harwick inquiry", "2022-02-02",
                                       LONG.replace("signed in 2029", "cancelled in 2029")))
    edited = ingest(again, folder)
    after = assert_consistent(again)
    gone, new = set(before) - set(after), set(after) - set(before)
    assert gone and new and gone <= long_old and new <= again.manifest.chunk_ids(long_id)
    assert len(new) < len(long_old)  # unchanged paragraphs keep their chunks
    assert {i: before[i] for i in before if i not in long_old} == \
        {i: after[i] for i in after if i not in again.manifest.chunk_ids(long_id)}
    assert (edited.articles_changed, edited.articles_unchanged) == (1, 2)
    assert edited.embedded == len(new) == again.embedder.calls  # type: ignore[attr-defined]


def test_deleted_articles_are_gone_after_sync_and_never_cited(
    make_app: Callable[..., App], backend: Backend, tmp_path: Path
) -> None:
    folder = tiny_corpus(tmp_path / "docs", 6)
    write_articles(folder, {"zorblax.md": md(
        "Zorblax festival", "2022-08-01",
        "The Zorblax festival in Quentoria drew 41,000 visitors, its organisers said.")})
    lines = [{"id": f"j{i}", "title": f"Wire story {i}", "text": f"Wire story {i} about the "
              f"Ombrelle canal tolls, which rose by {i + 3} percent.", "date": "2022-09-0" + str(i + 1)}
             for i in range(3)]
    (folder / "wire.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    app = make_app(**backend)
    ingest(app, folder)
    question = "How many visitors did the Zorblax festival in Quentoria draw?"
    cited = ask(app, question, AskOptions()).citations
    assert cited and cited[0].title == "Zorblax festival"
    zid = cited[0].article_id

    (folder / "zorblax.md").unlink()
    (folder / "wire.jsonl").write_text("\n".join(json.dumps(x) for x in lines[:2]) + "\n")
    changed = stale_files(app)
    assert {Path(p).name for p in changed} == {"zorblax.md", "wire.jsonl"}
    assert any("changed since the last ingest" in w for w in ask(app, question, AskOptions()).warnings)

    plain = ingest(app, folder)  # without --prune nothing is removed
    assert plain.articles_removed == 0 and app.store.ids_for_articles([zid])
    synced = ingest(app, folder, prune=True)
    assert synced.articles_removed == 2  # the file and the line
    assert not app.store.ids_for_articles([zid, "j2"]) and not app.manifest.chunk_ids(zid)
    assert len(assert_consistent(app)) == 6 + 2
    assert stale_files(app) == []
    answer = ask(app, question, AskOptions())
    assert all(c.article_id != zid for c in answer.citations)
    assert all(p.article_id != zid for p in answer.passages)


def test_one_article_id_in_two_files_never_doubles_up(
    make_app: Callable[..., App], backend: Backend, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    write_articles(folder, {
        "a.json": json.dumps({"id": "same", "title": "First", "text": "The first version."}),
        "b.json": json.dumps({"id": "same", "title": "Second", "text": "The second version."}),
    })
    app = make_app(**backend)
    ingest(app, folder)
    docs = assert_consistent(app)
    assert len(docs) == 1 and app.store.ids_for_articles(["same"]) == set(docs)
    report = ingest(app, folder)
    assert report.embedded == 0 and assert_consistent(app) == docs


def test_metadata_edit_reaches_the_store(
    make_app: Callable[..., App], backend: Backend, tmp_path: Path
) -> None:
    folder = write_articles(tmp_path / "docs", {"a.md": article(7)})
    app = make_app(**backend)
    ingest(app, folder)
    ids = set(assert_consistent(app))
    (folder / "a.md").write_text(article(7).replace("outlet2.com", "moved.example"))
    report = ingest(app, folder)
    assert report.embedded == 0 and set(assert_consistent(app)) == ids  # same text, same ids
    rows = app.manifest.chunk_rows(sorted(ids))  # what answers and Sources show
    assert {r["source"] for r in rows.values()} == {"moved.example"}
    vec = app.embedder.embed_query("council approved new code Z0007Q")
    hits = app.store.query(vec, 3, {"article_id": next(iter(rows.values()))["article_id"]})
    assert [h.chunk_id for h in hits] == sorted(ids)
    assert isinstance(hits[0].score, float) and np.isfinite(hits[0].score)


def test_a_remounted_folder_with_the_same_bytes_is_not_stale(
    make_app: Callable[..., App], backend: Backend, tmp_path: Path
) -> None:
    folder = tiny_corpus(tmp_path / "docs", 4)
    (folder / "wire.jsonl").write_text(json.dumps(
        {"id": "w1", "title": "Wire", "text": "The Ombrelle canal tolls rose.", "date": "2022-09-01"}) + "\n")
    app = make_app(**backend)
    ingest(app, folder)
    files = sorted(folder.iterdir())
    for i, f in enumerate(files):  # every mtime moves (a remount), no byte changes
        st = f.stat()
        moved = st.st_mtime_ns + (i + 1) * 3_600_000_000_000
        os.utime(f, ns=(moved, moved))
    assert stale_files(app) == []
    assert stale_files(app) == []  # the second look is answered from the check cache
    warnings = ask(app, "How much did the Ombrelle canal tolls rise?", AskOptions()).warnings
    assert not any("changed since the last ingest" in w for w in warnings)

    edited = files[0]  # same size, other bytes, a moved mtime: still stale
    text = edited.read_text()
    edited.write_text(text[:-2] + ("x" if text[-2] != "x" else "y") + text[-1])
    assert [Path(p).name for p in stale_files(app)] == [edited.name]

    again = ingest(app, folder)  # the moved mtimes are recorded without reading those files again
    assert again.files_unchanged == len(files) - 1 and again.articles_changed == 1
    assert stale_files(app) == []
    assert ingest(app, folder).files_unchanged == len(files)

