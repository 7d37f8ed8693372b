"""The embedding cache: round trips, per-embedder keys, no repeated embedding, several processes."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from assistant.config import PROJECT_ROOT
from assistant.embed.cache import CachedEmbedder, EmbedCache, text_hash
from assistant.errors import StoreError


class CountingEmbedder:
    """A real (hashed bag-of-words) embedder that records every text it is asked to embed."""

    def __init__(self, name: str = "fake:bow", dim: int = 64) -> None:
        self.name = name
        self.dim = dim
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.seen += list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        out[:, 0] += 1e-3
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def embed_query(self, text: str) -> np.ndarray:
        row: np.ndarray = self.embed([text])[0]
        return row


def test_put_get_round_trip_per_embedder(tmp_path: Path) -> None:
    cache = EmbedCache(tmp_path / "c.sqlite3")
    vecs = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    keys = [text_hash(t) for t in ("a", "b", "c")]
    assert cache.put_many("m1", zip(keys, vecs, strict=True)) == 3
    got = cache.get_many("m1", [*keys, text_hash("missing")])
    assert set(got) == set(keys)
    for key, vec in zip(keys, vecs, strict=True):
        assert got[key].dtype == np.float32 and np.array_equal(got[key], vec)
    assert cache.get_many("m2", keys) == {}  # another embedder's vectors are never mixed in
    assert cache.count("m1") == 3 and cache.count() == 3
    cache.close()
    with EmbedCache(tmp_path / "c.sqlite3") as again:  # persists across opens
        assert set(again.get_many("m1", keys)) == set(keys)


def test_file_is_in_wal_mode_and_large_lookups_are_chunked(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    cache = EmbedCache(path)
    items = [(text_hash(str(i)), np.full(4, i, np.float32)) for i in range(2345)]
    cache.put_many("m", iter(items))  # a generator is fine: written in bounded chunks
    got = cache.get_many("m", [k for k, _ in items])
    assert len(got) == 2345 and got[text_hash("2000")][0] == 2000
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_cached_embedder_embeds_each_text_once(tmp_path: Path) -> None:
    inner = CountingEmbedder()
    emb = CachedEmbedder(inner, EmbedCache(tmp_path / "c.sqlite3"))
    assert emb.name == "fake:bow" and emb.dim == 64
    texts = ["the cat sat", "a dog barked", "the cat sat", "stocks fell"]
    first = emb.embed(texts)
    assert inner.seen == ["the cat sat", "a dog barked", "stocks fell"] and emb.calls == 3
    assert np.array_equal(first[0], first[2])
    second = emb.embed(list(reversed(texts)))
    assert emb.calls == 3 and len(inner.seen) == 3  # all from the cache
    assert np.allclose(second, first[::-1])
    emb.embed(["stocks fell", "new text"])
    assert emb.calls == 4 and inner.seen[-1] == "new text"
    assert emb.embed([]).shape == (0, 64)
    assert np.allclose(emb.embed_query("a dog barked"), first[1])


def test_a_new_process_reuses_the_cache_with_zero_model_calls(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    texts = [f"chunk number {i} about topic {i % 7}" for i in range(50)]
    CachedEmbedder(CountingEmbedder(), EmbedCache(path)).embed(texts)
    later = CachedEmbedder(CountingEmbedder(), EmbedCache(path))
    later.embed(texts)
    assert later.calls == 0
    other_model = CachedEmbedder(CountingEmbedder(name="fake:other"), EmbedCache(path))
    other_model.embed(texts[:5])
    assert other_model.calls == 5  # the key includes the embedder


_WRITER = """
import sys, numpy as np
from assistant.embed.cache import EmbedCache, text_hash
cache = EmbedCache(sys.argv[1])
tag = sys.argv[2]
for start in range(0, 1200, 40):
    items = [(text_hash(f"{tag}-{i}"), np.full(16, i, np.float32))
             for i in range(start, start + 40)]
    cache.put_many("m", items)
    cache.get_many("m", [k for k, _ in items])
print("ok")
"""


def test_several_processes_write_at_once(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    EmbedCache(path).close()
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(path), tag],
                              cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={"PYTHONPATH": str(PROJECT_ROOT), "PATH": "/usr/bin:/bin"})
             for tag in ("a", "b", "c")]  # fmt: skip
    try:
        outputs = [p.communicate(timeout=60) for p in procs]
    finally:
        for p in procs:
            p.kill()
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0 and out.strip() == b"ok", err.decode()
    cache = EmbedCache(path)
    assert cache.count("m") == 3 * 1200
    assert cache.get_many("m", [text_hash("b-777")])[text_hash("b-777")][0] == 777


def test_threads_share_one_cache(tmp_path: Path) -> None:
    emb = CachedEmbedder(CountingEmbedder(), EmbedCache(tmp_path / "c.sqlite3"))
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(30):
                emb.embed([f"text {k} {i}", f"shared {i}"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert emb.cache.count("fake:bow") == 4 * 30 + 30


def test_unusable_cache_file_raises_store_error(tmp_path: Path) -> None:
    bad = tmp_path / "c.sqlite3"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="delete"):
        EmbedCache(bad).get_many("m", ["x"])
