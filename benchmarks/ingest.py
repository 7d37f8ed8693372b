"""Ingest benchmark: chunks/s and tokens/s end to end, the raw embedder on the same chunks, peak
memory, and the re-ingest of the unchanged corpus (which must embed nothing).

    python benchmarks/ingest.py --n 300        # the first 300 articles
    python benchmarks/ingest.py --n all        # the full RealTime QA corpus (3,718 articles)
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from _common import STORES, corpus_subset, run_cli, write_result


def raw_embedder_rate(corpus: Path, store: Path, sample: int) -> dict[str, float]:
    """The embedder alone on `sample` chunks of the same articles, in this process."""
    from assistant.config import load_settings
    from assistant.embed import make_embedder
    from assistant.ingest import chunk_article, iter_articles

    settings = load_settings({"store": str(store)})
    chunks = []
    for art in iter_articles([corpus], settings):
        if hasattr(art, "text"):
            chunks.extend(chunk_article(art, settings.chunk_tokens, settings.chunk_overlap))
        if len(chunks) >= sample:
            break
    texts = [c.embed_text for c in chunks[:sample]]
    emb = make_embedder(settings)
    emb.embed(texts[:8])
    start = time.perf_counter()
    emb.embed(texts)
    secs = time.perf_counter() - start
    return {"chunks": len(texts), "seconds": round(secs, 2), "chunks_per_s": round(len(texts) / secs, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", default="300", help="articles to ingest, or 'all'")
    ap.add_argument("--keep", action="store_true", help="keep the store in benchmarks/stores/")
    args = ap.parse_args()
    n = None if args.n == "all" else int(args.n)
    work = Path(tempfile.mkdtemp(prefix="assistant-bench-"))
    corpus = corpus_subset(n, work)
    store = (STORES / f"ingest-{args.n}") if args.keep else work / "store"
    shutil.rmtree(store, ignore_errors=True)
    env = {"ASSISTANT_STORE": str(store)}
    secs, rss, out, _ = run_cli(["ingest", str(corpus), "--json"], env)
    first = json.loads(out)
    secs2, _, out2, _ = run_cli(["ingest", str(corpus), "--json"], env)
    second = json.loads(out2)
    from assistant.index.manifest import Manifest

    manifest = Manifest(store / "manifest.sqlite3")
    tokens = 0
    from assistant.ingest.chunking import count_tokens

    for rows in manifest.iter_chunks():
        tokens += sum(count_tokens(r[2]) for r in rows)
    manifest.close()
    raw = raw_embedder_rate(corpus, work / "raw-store", sample=min(400, first["chunks_added"]))
    rate = first["chunks_added"] / secs
    result = {
        "articles": first["articles_new"],
        "chunks": first["chunks_added"],
        "skipped": len(first["skipped"]),
        "seconds": round(secs, 1),
        "chunks_per_s": round(rate, 1),
        "tokens_per_s": round(tokens / secs, 0),
        "raw_embedder_chunks_per_s": raw["chunks_per_s"],
        "pipeline_share_of_raw": round(rate / raw["chunks_per_s"], 3),
        "peak_rss_mb": rss,
        "reingest_seconds": round(secs2, 2),
        "reingest_embedding_calls": second["embedded"],
        "reingest_articles_indexed": second["articles_new"] + second["articles_changed"],
    }
    name = "ingest" if n is not None else "ingest-full"
    print(json.dumps(result, indent=2))
    print(f"written to {write_result(name, {'n': args.n, **result})}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
