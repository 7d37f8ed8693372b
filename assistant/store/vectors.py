"""Exact dense search beside the store: every chunk vector in one memory-mapped matrix.

Chroma stays the store of record; this is a read copy for questions, rebuilt from it (vectors) and
the manifest (ids, days, outlets) whenever the manifest's generation moves, like the BM25 index.
Why: a Chroma query with a publication-day filter gathers the allowed ids first, ~0.5 s on 20k
chunks here (4 ms without the filter), and every question filters by day; a matrix product over
all vectors takes ~10-20 ms on 150k chunks, is exact, and needs neither chromadb nor llama-index
imported to answer (benchmarks/breakdown.py).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant.errors import EmbedderMismatchError

VECTORS_DIR = "vectors"  # the index's folder inside the store folder
_PAGE = 1000  # chunk ids per Chroma read while building
MATRIX = "matrix.f32"  # rows of float32, row-major, no header (shape in meta.json)


class ChunkSource(Protocol):
    """Where the chunk ids, days and outlets come from (the manifest)."""

    def generation(self) -> int: ...

    def iter_chunks(self) -> Iterator[list[tuple[Any, ...]]]: ...


class VectorSource(Protocol):
    """Where the vectors come from (the Chroma store, which checks its embedder when opened)."""

    embedder_name: str
    where: str

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]: ...


@dataclass
class VectorIndex:
    """Chunk ids, their publication days and outlets, and their unit vectors (rows, same order)."""

    generation: int
    ids: list[str]
    days: np.ndarray
    sources: list[str]
    matrix: np.ndarray
    _last: tuple[bytes, np.ndarray] | None = field(default=None, repr=False)

    def scores(self, vector: np.ndarray) -> np.ndarray:
        """Cosine of every chunk with the vector (the last vector's scores are kept: a question
        searches the whole range and then its date window with the same vector)."""
        key = np.asarray(vector, dtype=np.float32).tobytes()
        if self._last is None or self._last[0] != key:
            self._last = (key, self.matrix @ np.asarray(vector, dtype=np.float32))
        return self._last[1]

    def top(self, vector: np.ndarray, lo: int | None, hi: int | None, sources: list[str] | None,
            n: int) -> list[str]:
        """Ids of the n nearest chunks published in [lo, hi] (a bound excludes unknown dates, as
        Chroma's filters did) from these outlets; equal scores keep index order."""
        if not self.ids or n <= 0:
            return []
        mask = np.ones(len(self.ids), dtype=bool)
        if lo is not None:
            mask &= self.days >= lo
        if hi is not None:
            mask &= (self.days <= hi) & (self.days >= 0)
        if sources is not None:
            allowed = set(sources)
            mask &= np.fromiter((s in allowed for s in self.sources), bool, len(self.sources))
        allowed_rows = np.flatnonzero(mask)
        if not len(allowed_rows):
            return []
        scores = self.scores(vector)[allowed_rows]
        if len(allowed_rows) > n:
            part = np.argpartition(-scores, n - 1)[:n]
            cut = scores[part].min()
            part = np.flatnonzero(scores >= cut)  # every row tied with the n-th, for a stable order
        else:
            part = np.arange(len(allowed_rows))
        order = part[np.lexsort((allowed_rows[part], -scores[part]))][:n]
        return [self.ids[int(allowed_rows[i])] for i in order]


def _build(manifest: ChunkSource, store: VectorSource, folder: Path, generation: int) -> None:
    """Write the rows straight to disk (memory stays small whatever the corpus size)."""
    ids: list[str] = []
    days: list[int] = []
    sources: list[str] = []
    dim = 0
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with (tmp / MATRIX).open("wb") as out:
        for batch in manifest.iter_chunks():
            for start in range(0, len(batch), _PAGE):
                part = batch[start : start + _PAGE]
                found = store.vectors([str(r[0]) for r in part])
                for r in part:
                    vec = found.get(str(r[0]))
                    if vec is None:
                        continue  # not in the store: dense search could not find it either
                    row = np.asarray(vec, dtype=np.float32)
                    dim = len(row)
                    out.write(row.tobytes())
                    ids.append(str(r[0]))
                    sources.append(str(r[4] or ""))
                    days.append(int(r[5]))
    np.save(tmp / "days.npy", np.asarray(days, dtype=np.int32))
    (tmp / "meta.json").write_text(json.dumps({"generation": generation, "dim": dim,
                                               "embedder": store.embedder_name, "ids": ids,
                                               "sources": sources}), "utf-8")
    old = folder.with_name(f"{folder.name}.old-{os.getpid()}")
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def _generation(folder: Path) -> int | None:
    try:
        return int(json.loads((folder / "meta.json").read_text("utf-8"))["generation"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _load(folder: Path, store: VectorSource) -> VectorIndex | None:
    try:
        meta = json.loads((folder / "meta.json").read_text("utf-8"))
        if meta["embedder"] != store.embedder_name:
            raise EmbedderMismatchError(
                f"The store {store.where} was built with embedder {meta['embedder']!r} "
                f"({meta['dim']} dims), not {store.embedder_name!r}: set "
                f"ASSISTANT_EMBED_MODEL={meta['embedder']} or use another --store")
        days = np.load(folder / "days.npy")
        n, dim = len(meta["ids"]), int(meta["dim"])
        if (folder / MATRIX).stat().st_size != n * dim * 4 or len(days) != n:
            return None
        matrix = (np.memmap(folder / MATRIX, dtype=np.float32, mode="r", shape=(n, dim)) if n
                  else np.zeros((0, dim), dtype=np.float32))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return VectorIndex(int(meta["generation"]), list(meta["ids"]), days, list(meta["sources"]),
                       matrix)


def ensure_vectors(manifest: ChunkSource, store: VectorSource, folder: Path) -> bool:
    """Build the index when it is missing or stale (True when it was built); does not load it."""
    if _generation(folder) == manifest.generation():
        return False
    load_vectors(manifest, store, folder)
    return True


def load_vectors(manifest: ChunkSource, store: VectorSource, folder: Path) -> VectorIndex:
    """The index for the manifest's current generation, rebuilt when stale or damaged."""
    generation = manifest.generation()
    index = _load(folder, store)
    if index is None or index.generation != generation:
        from filelock import FileLock

        with FileLock(str(folder.with_name(folder.name + ".lock"))):  # one builder at a time
            index = _load(folder, store)
            if index is None or index.generation != generation:
                _build(manifest, store, folder, generation)
                index = _load(folder, store)
    if index is None:
        raise OSError(f"cannot build the vector index in {folder}")
    return index
