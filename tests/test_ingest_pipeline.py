"""The ingest pipeline: one big JSONL file is recorded batch by batch, a failing stage stops the
run with its own error, and the next run finishes the job."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

import assistant.index.indexer as indexer_module
from assistant.app import App
from assistant.index.manifest import Manifest


def _jsonl(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "corpus.jsonl"
    rows = [{"id": f"a{i}", "title": f"Report {i}", "published_at": f"2023-01-{1 + i % 28:02d}",
             "body": f"Item {i}: the council of town {i} approved {i + 3} new bridges on Monday."}
            for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_one_big_file_is_recorded_batch_by_batch(make_app: Callable[..., App], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(indexer_module, "FLUSH_CHUNKS", 4)
    monkeypatch.setattr(indexer_module, "FIRST_FLUSH", 2)
    commits: list[int] = []
    real = Manifest.transaction

    @contextmanager
    def counting(self: Manifest) -> Iterator[None]:
        with real(self):
            yield
        commits.append(self.counts()["chunks"])

    monkeypatch.setattr(Manifest, "transaction", counting)
    app = make_app()
    with app.writer_lock():
        report = app.indexer().run([_jsonl(tmp_path / "docs", 40)])
    assert report.articles_new == 40 and report.outcome == "complete"
    assert len(commits) >= 5 and commits == sorted(commits) and commits[-1] == 40
    assert app.store.count() == 40
    assert set(report.stage_seconds) >= {"read+chunk", "embed", "store", "manifest", "bm25"}


def test_a_failing_stage_stops_the_run_and_the_next_run_finishes(
        make_app: Callable[..., App], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(indexer_module, "FLUSH_CHUNKS", 4)
    monkeypatch.setattr(indexer_module, "FIRST_FLUSH", 2)
    corpus = _jsonl(tmp_path / "docs", 30)
    app = make_app()
    calls = {"n": 0}
    real_embed = app.embedder.embed

    def flaky(texts: list[str]) -> np.ndarray:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("the model fell over")
        return real_embed(texts)

    monkeypatch.setattr(app.embedder, "embed", flaky)
    with app.writer_lock(), pytest.raises(RuntimeError, match="fell over"):
        app.indexer().run([corpus])
    assert app.manifest.get_meta("dirty") == "1"
    monkeypatch.undo()
    with app.writer_lock():
        report = app.indexer().run([corpus])
    assert app.manifest.counts()["articles"] == 30 and app.store.count() == 30
    assert report.outcome == "complete" and app.manifest.get_meta("dirty") == "0"
