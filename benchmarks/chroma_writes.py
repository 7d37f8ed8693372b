"""What Chroma's metadata costs an ingest: the same unit vectors written in batches of 256 into a new
local collection, with the metadata the store writes (`chunk_metadata`) and with the six display
fields it used to add (title, outlet, url, author, date text, path). Prints wall and process CPU
seconds, and the cost per chunk as the collection grows; writes benchmarks/results/<name>.json.

    python benchmarks/chroma_writes.py --n 61440

Synthetic texts and vectors (no article data): what is timed is Chroma's indexing of the fields.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import write_result

BATCH = 256  # chunks per write, as the ingest pipeline's batches
REPORT_EVERY = 40  # batches between the growth figures


def _display_fields(i: int) -> dict[str, Any]:
    """The six fields chunk_metadata wrote before it kept only what queries filter on."""
    return {"title": f"A news headline of ordinary length about topic number {i // 10}",
            "source": "example.com", "url": f"https://example.com/news/{i // 10}/a-long-slug",
            "author": "A. Reporter", "published_at": "2023-05-01", "path": "/data/corpus.jsonl"}


def run(variant: str, n: int, folder: Path) -> dict[str, Any]:
    import chromadb

    from assistant.models import Chunk
    from assistant.store.chroma import chunk_metadata

    client = chromadb.PersistentClient(str(folder / variant))
    coll = client.get_or_create_collection("bench", embedding_function=None,
                                           configuration={"hnsw": {"space": "cosine"}})
    rng = np.random.default_rng(0)
    growth: list[dict[str, float]] = []
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = seg = time.perf_counter()
    for b, s in enumerate(range(0, n, BATCH)):
        rows = range(s, min(n, s + BATCH))
        chunks = [Chunk(id=f"c{i}", article_id=f"a{i // 10}", index=i % 10, text="x", embed_text="x",
                        title="t", source="example.com", url="", author="",
                        published_at=f"2023-05-{1 + (i // 1000) % 28:02d}", path="p") for i in rows]
        metas = [chunk_metadata(c) | (_display_fields(i) if variant == "with-display-fields" else {})
                 for i, c in zip(rows, chunks, strict=True)]
        vecs = rng.standard_normal((len(chunks), 384)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        coll.upsert(ids=[c.id for c in chunks], embeddings=vecs, metadatas=metas)
        if b % REPORT_EVERY == REPORT_EVERY - 1:
            now = time.perf_counter()
            growth.append({"chunks": s + len(chunks),
                           "ms_per_chunk": round((now - seg) / (REPORT_EVERY * BATCH) * 1000, 2)})
            seg = now
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result = {"chunks": n, "wall_s": round(time.perf_counter() - start, 1), "cpu_s": round(cpu, 1),
              "growth": growth}
    print(variant, result, flush=True)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=61440, help="chunks written per variant")
    ap.add_argument("--name", default="chroma-writes", help="results file name")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="assistant-chroma-"))
    try:
        result = {v: run(v, args.n, folder) for v in ("chunk_metadata", "with-display-fields")}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"written to {write_result(args.name, result)}")


if __name__ == "__main__":
    main()
