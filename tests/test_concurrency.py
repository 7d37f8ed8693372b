"""One writer at a time: two ingests at once equal one; queries keep working during an ingest."""

from __future__ import annotations

import datetime as dt
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from test_crash import cli_env, copy_cache, ingest_command, open_app
from test_sync import assert_consistent, backend, ingest, tiny_corpus  # noqa: F401

from assistant.app import App
from assistant.index.doctor import self_retrieval
from assistant.retrieve.hybrid import Query


def test_two_ingests_started_together_equal_one(model_cache: Path, backend: dict[str, Any],  # noqa: F811
                                                tmp_path: Path) -> None:
    folder = tiny_corpus(tmp_path / "docs", 200)
    store = tmp_path / "store"
    env = cli_env(model_cache, backend)
    procs = [subprocess.Popen(ingest_command(store, str(folder)), env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    waited = ["waiting" in err for _, err in outs]
    assert sorted(waited) == [False, True]  # the second was told to wait, then found nothing to do
    first, second = (outs[1], outs[0]) if waited[0] else (outs[0], outs[1])
    assert "Indexed 200 new" in first[0] and "Indexed 0 new and 0 changed" in second[0]

    ref_store = tmp_path / "ref"
    copy_cache(store / "embed_cache.sqlite3", ref_store)
    ref_backend = {**backend, "collection": backend["collection"] + "-ref"} if backend else {}
    ref = open_app(ref_store, model_cache, ref_backend)
    app = open_app(store, model_cache, backend)
    try:
        ingest(ref, folder)
        assert assert_consistent(app) == assert_consistent(ref)
        assert self_retrieval(app.index_parts(), 200) == (200, 200)
    finally:
        ref.close()
        app.close()


def test_a_second_ingest_with_no_wait_is_told_the_store_is_busy(
    make_app: Callable[..., App], model_cache: Path, tmp_path: Path
) -> None:
    folder = tiny_corpus(tmp_path / "docs", 3)
    app = make_app()
    with app.writer_lock():
        proc = subprocess.run(ingest_command(app.state_dir, "--no-wait", str(folder)),
                              env=cli_env(model_cache, {}), capture_output=True, text=True)
    assert proc.returncode == 3
    assert proc.stderr.count("\n") == 1 and "Another ingest is writing" in proc.stderr
    assert "Traceback" not in proc.stderr and not (app.state_dir / "manifest.sqlite3").exists()


def _queries(n: int) -> list[Query]:
    """Dense and hybrid questions with date and source filters (filters reach Chroma's index)."""
    out = []
    for i in range(n):
        day = dt.date(2021, 1, 1) + dt.timedelta(days=(i * 37) % 300)
        out.append(Query(f"What did the council approve under code Z{(i * 37) % 300:04d}Q?",
                         top_k=5, since=day if i % 2 else None, source=f"outlet{i % 5}.com"
                         if i % 3 == 0 else None, mode="dense" if i % 2 else "hybrid"))
    return out


def test_queries_during_an_ingest_never_fail(make_app: Callable[..., App], model_cache: Path,
                                             backend: dict[str, Any], tmp_path: Path) -> None:  # noqa: F811
    folder = tiny_corpus(tmp_path / "docs", 100)
    reader = make_app(**backend)  # a long-lived reader, like `assistant chat`
    ingest(reader, folder)
    tiny_corpus(folder, 200, start=100)
    proc = subprocess.Popen(ingest_command(reader.state_dir, str(folder)),
                            env=cli_env(model_cache, backend), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    queries, latencies, errors = _queries(50), [], []
    while proc.poll() is None or not latencies:
        q = queries[len(latencies) % len(queries)]
        start = time.perf_counter()
        try:
            reader.retriever.retrieve(q)
        except Exception as exc:  # every failure is what this test counts
            errors.append(f"{type(exc).__name__}: {exc}")
        latencies.append(time.perf_counter() - start)
    assert proc.wait() == 0, proc.stderr.read() if proc.stderr else ""
    assert errors == []
    p95 = float(np.percentile(latencies, 95)) * 1000
    print(f"\n{len(latencies)} queries during the ingest, p95 {p95:.0f} ms")

    text = (folder / "a0287.md").read_text().split("---")[-1].strip()
    late = reader.retriever.retrieve(Query(text, top_k=3, since=dt.date(2021, 4, 11), mode="dense"))
    assert late.passages and "Z0287Q" in late.passages[0].text  # the reader sees the new chunks
    assert len(assert_consistent(reader)) == 300
    assert self_retrieval(reader.index_parts(), 100) == (100, 100)
