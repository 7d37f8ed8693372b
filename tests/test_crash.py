"""kill -9 an ingest (at random moments and at each final phase): the next ingest gives a clean build.

Ten kill points in all: five at seeded random moments of a full ingest (cold and warm embedding
cache), five at exact phases of a sync (vectors stored, manifest committed, stale vectors being
deleted, articles pruned, just before the run is marked clean). benchmarks/crash.py runs 100.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from test_sync import assert_consistent, backend, ingest, tiny_corpus  # noqa: F401

from assistant.app import App, build_app
from assistant.config import load_settings
from assistant.index.doctor import check_store, self_retrieval

N_ARTICLES = 200
RANDOM_KILLS = 5
SEED = 20261127

# Runs the CLI in a child that SIGKILLs itself at the nth call of a method (before or after it).
KILLER = """
import os, signal, sys
point, nth = sys.argv[1], int(sys.argv[2])
del sys.argv[1:3]
from assistant.index.manifest import Manifest
from assistant.store.chroma import ChromaStore
cls_name, method, when = point.split(".")
cls = {"ChromaStore": ChromaStore, "Manifest": Manifest}[cls_name]
orig = getattr(cls, method)
calls = [0]
def hit(args):
    if method == "set_meta" and args[:2] != ("dirty", "0"):
        return
    calls[0] += 1
    if calls[0] == nth:
        os.kill(os.getpid(), signal.SIGKILL)
def wrapped(self, *args, **kwargs):
    if when == "before":
        hit(args)
    result = orig(self, *args, **kwargs)
    if when == "after":
        hit(args)
    return result
setattr(cls, method, wrapped)
from assistant.cli.main import cli
cli(prog_name="assistant")
"""

PHASES = [
    ("ChromaStore.upsert.after", 1),           # vectors stored, the manifest does not know them
    ("ChromaStore.ids_for_articles.before", 1),  # manifest committed, stale vectors still stored
    ("ChromaStore.delete.before", 1),           # stale vectors about to be deleted
    ("ChromaStore.ids_for_articles.before", 2),  # pruned from the manifest, not yet from the store
    ("Manifest.set_meta.before", 1),            # everything done but the clean flag
]


def cli_env(model_cache: Path, chosen: dict[str, Any]) -> dict[str, str]:
    """The environment of an `assistant` child process using this backend."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "OPENAI_"))}
    env.update({"ASSISTANT_CACHE_DIR": str(model_cache), "PYTHONUNBUFFERED": "1"})
    if chosen.get("chroma_url"):
        env.update({"ASSISTANT_CHROMA_URL": chosen["chroma_url"],
                    "ASSISTANT_COLLECTION": chosen["collection"]})
    return env


def ingest_command(store: Path, *args: str, point: tuple[str, int] | None = None) -> list[str]:
    head = [sys.executable, "-c", KILLER, point[0], str(point[1])] if point else \
        [sys.executable, "-m", "assistant"]
    return [*head, "--store", str(store), "ingest", *args]


def wait_for(path: Path, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, "the ingest ended before it opened its manifest"
        assert time.monotonic() < deadline
        time.sleep(0.005)


def open_app(store: Path, model_cache: Path, chosen: dict[str, Any]) -> App:
    overrides = {"store": str(store), "cache_dir": str(model_cache), **chosen}
    return build_app(load_settings(overrides, environ={}, dotenv_path=store / "no.env"))


def copy_cache(src: Path, dst_store: Path) -> None:
    """A consistent copy of an embedding cache (SQLite in WAL mode) into another store."""
    dst_store.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(src) as a, sqlite3.connect(dst_store / "embed_cache.sqlite3") as b:
        a.backup(b)


def finish_and_compare(store: Path, model_cache: Path, chosen: dict[str, Any], folder: Path,
                       reference: dict[str, dict[str, Any]], prune: bool = False) -> int:
    """Re-run the ingest; the store must equal the clean build and its chunks find themselves."""
    app = open_app(store, model_cache, chosen)
    try:
        ingest(app, folder, prune=prune)
        assert assert_consistent(app) == reference
        found, sampled = self_retrieval(app.index_parts(), 50)
        assert found == sampled == 50
        assert check_store(app.index_parts(), sample=20).ok
        return found
    finally:
        app.close()


@pytest.fixture(scope="module")
def clean_build(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[
        tuple[Path, dict[str, str], Path, float]]:
    """(folder, store records of a clean CLI build, its store, seconds the ingest was busy)."""
    root = tmp_path_factory.mktemp("crash")
    folder = tiny_corpus(root / "docs", N_ARTICLES)
    store = root / "clean"
    proc = subprocess.Popen(ingest_command(store, str(folder)), env=cli_env(model_cache, {}),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_for(store / "manifest.sqlite3", proc)
    start = time.monotonic()
    _, err = proc.communicate(timeout=300)
    busy = time.monotonic() - start
    assert proc.returncode == 0, err.decode()
    app = open_app(store, model_cache, {})
    try:
        docs = assert_consistent(app)
    finally:
        app.close()
    assert len(docs) == N_ARTICLES
    yield folder, docs, store, busy


def test_kill_at_random_moments(clean_build: tuple[Path, dict[str, str], Path, float],
                                model_cache: Path, tmp_path: Path) -> None:
    folder, reference, clean_store, busy = clean_build
    rng = random.Random(SEED)
    killed = 0
    for trial in range(RANDOM_KILLS):
        store = tmp_path / f"s{trial}"
        warm = trial % 2 == 1  # cold: killed while embedding; warm: while storing and committing
        if warm:
            copy_cache(clean_store / "embed_cache.sqlite3", store)
        proc = subprocess.Popen(ingest_command(store, str(folder)), env=cli_env(model_cache, {}),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(store / "manifest.sqlite3", proc)
        time.sleep(rng.uniform(0.0, (0.35 if warm else 0.8) * busy))
        proc.kill()
        killed += proc.wait() == -9
        finish_and_compare(store, model_cache, {}, folder, reference)
        shutil.rmtree(store)
    assert killed >= RANDOM_KILLS - 1


def _versions(folder: Path) -> tuple[Callable[[], None], Callable[[], None]]:
    """Write the folder as version 1 (60 articles) or version 2 (10 edited, 10 gone, 10 new)."""
    def v1() -> None:
        shutil.rmtree(folder, ignore_errors=True)
        tiny_corpus(folder, 60)

    def v2() -> None:
        for i in range(10):
            (folder / f"a{i:04d}.md").unlink()
        for i in range(10, 20):
            path = folder / f"a{i:04d}.md"
            path.write_text(path.read_text().replace("approved", "rejected"))
        tiny_corpus(folder, 10, start=1000)

    return v1, v2


def test_kill_during_the_final_phases(model_cache: Path, backend: dict[str, Any],  # noqa: F811
                                      tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    v1, v2 = _versions(folder)
    v1()
    v2()
    ref_store = tmp_path / "ref"
    ref_backend = {**backend, "collection": backend["collection"] + "-ref"} if backend else {}
    app = open_app(ref_store, model_cache, ref_backend)
    ingest(app, folder)
    reference = assert_consistent(app)
    app.close()
    assert len(reference) == 60
    for n, point in enumerate(PHASES):
        v1()
        store = tmp_path / f"s{n}"
        trial_backend = {**backend, "collection": f"{backend['collection']}-{n}"} if backend else {}
        copy_cache(ref_store / "embed_cache.sqlite3", store)
        app = open_app(store, model_cache, trial_backend)
        ingest(app, folder)
        app.close()
        v2()
        proc = subprocess.run(ingest_command(store, "--prune", str(folder), point=point),
                              env=cli_env(model_cache, trial_backend), capture_output=True)
        assert proc.returncode == -9, (point, proc.stderr.decode()[-2000:])
        finish_and_compare(store, model_cache, trial_backend, folder, reference, prune=True)


def _store_saving_its_index_often(store: Path, model_cache: Path) -> None:
    """Create the collection as our store does, but with Chroma saving its HNSW files every 50
    vectors (the default is 1000), so that a 200-chunk store has index files to damage."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    app = open_app(store, model_cache, {})
    meta = {"embedder": app.embedder.name, "dim": app.embedder.dim}
    app.close()
    client = chromadb.PersistentClient(path=str(store),
                                       settings=ChromaSettings(anonymized_telemetry=False))
    client.create_collection("articles", embedding_function=None, metadata=meta, configuration={
        "hnsw": {"space": "cosine", "sync_threshold": 50, "batch_size": 50}})
    from assistant.store.access import forget_client

    forget_client(client)


def test_damaged_chroma_files_are_rebuilt_by_the_next_ingest(
    clean_build: tuple[Path, dict[str, str], Path, float], model_cache: Path, tmp_path: Path
) -> None:
    folder, reference, clean_store, _ = clean_build
    store = tmp_path / "store"
    copy_cache(clean_store / "embed_cache.sqlite3", store)
    _store_saving_its_index_often(store, model_cache)
    app = open_app(store, model_cache, {})
    ingest(app, folder)
    assert assert_consistent(app) == reference
    app.close()
    header = next(store.glob("*/header.bin"))
    header.write_bytes(header.read_bytes()[:10])  # what a kill while Chroma saves can leave

    app = open_app(store, model_cache, {})
    report = check_store(app.index_parts())
    assert report.opened and not report.ok and "doctor --repair" in report.error
    assert "status: DAMAGED" in report.lines()
    app.close()
    proc = subprocess.run(ingest_command(store, "--json", str(folder)),
                          env=cli_env(model_cache, {}), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["embedded"] == 0  # rebuilt from the manifest and the embedding cache
    assert len(result["notes"]) == 1 and "damaged" in result["notes"][0]
    kept = [p for p in store.iterdir() if p.name.startswith("damaged-")]
    assert len(kept) == 1 and (kept[0] / "chroma.sqlite3").exists()
    app = open_app(store, model_cache, {})
    try:
        assert assert_consistent(app) == reference
        assert check_store(app.index_parts(), sample=50).ok
    finally:
        app.close()
