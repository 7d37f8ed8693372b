"""Ingest benchmark: chunks/s end to end against the raw embedder on the same corpus in the same run,
peak memory, store size, where the time went, and the re-ingest of the unchanged corpus (which must
embed nothing).

    python benchmarks/ingest.py --n 300                        # the first 300 articles of 2022
    python benchmarks/ingest.py --n all                        # the whole 2022 corpus
    python benchmarks/ingest.py --corpus 2023-2024 --n all --store /work/stores/rtqa2324

The raw embedder is timed twice on the same sample of chunks (spread over the corpus, chunked by
the same code): just before and just after the ingest, so that a shared machine's changing load
shows up in both figures. The pipeline's share is its chunks/s over the mean of the two.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import CORPORA, STORES, corpus_subset, load_average, need, run_cli, tuning_share, write_result

RAW_SAMPLE = 600  # chunks; --raw-sample overrides


def sample_texts(corpus: Path, store: Path, sample: int) -> list[str]:
    """`sample` chunk texts as the embedder sees them, from articles spread over the corpus."""
    from assistant.config import load_settings
    from assistant.ingest import chunk_article, iter_articles
    from assistant.models import Article

    settings = load_settings({"store": str(store)})
    lines = sum(1 for _ in corpus.open("rb"))
    step = max(1, lines // max(1, sample // 8))  # ~8 chunks per article on average
    texts: list[str] = []
    for i, art in enumerate(iter_articles([corpus], settings)):
        if i % step == 0 and isinstance(art, Article):
            texts.extend(c.embed_text for c in chunk_article(art, settings.chunk_tokens,
                                                             settings.chunk_overlap))
    return texts[:: max(1, len(texts) // sample)][:sample]


def raw_embedder_rate(texts: list[str], store: Path) -> dict[str, float]:
    """The embedder alone (a fresh model, no cache, no store) on these texts, in this process."""
    from assistant.config import load_settings
    from assistant.embed import make_embedder

    emb = make_embedder(load_settings({"store": str(store)}))
    emb.embed(texts[:8])
    start = time.perf_counter()
    emb.embed(texts)
    secs = time.perf_counter() - start
    return {"chunks": len(texts), "seconds": round(secs, 2),
            "chunks_per_s": round(len(texts) / secs, 1), "load_average": load_average()}


def folder_mb(folder: Path) -> float:
    return round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20, 1)


def store_tokens(store: Path) -> int:
    from assistant.index.manifest import Manifest
    from assistant.ingest.chunking import count_tokens

    manifest = Manifest(store / "manifest.sqlite3")
    try:
        return sum(count_tokens(r[2]) for rows in manifest.iter_chunks() for r in rows)
    finally:
        manifest.close()


def measure(corpus: Path, store: Path, work: Path, sample: int) -> dict[str, Any]:
    texts = sample_texts(corpus, work / "raw-store", sample)
    before = raw_embedder_rate(texts, work / "raw-store")
    print("raw embedder before:", before, flush=True)
    env = {"ASSISTANT_STORE": str(store)}
    load_start = load_average()
    secs, rss, out, _ = run_cli(["ingest", str(corpus), "--json"], env)
    first = json.loads(out)
    load_end = load_average()
    print(f"ingest: {first['chunks_added']} chunks in {secs:.1f} s", flush=True)
    after = raw_embedder_rate(texts, work / "raw-store")
    print("raw embedder after:", after, flush=True)
    secs2, _, out2, _ = run_cli(["ingest", str(corpus), "--json"], env)
    second = json.loads(out2)
    rate = first["chunks_added"] / secs
    raw = (before["chunks_per_s"] + after["chunks_per_s"]) / 2
    stages = first.get("stage_seconds", {})
    return {
        "articles": first["articles_new"],
        "chunks": first["chunks_added"],
        "skipped": len(first["skipped"]),
        "seconds": round(secs, 1),
        "chunks_per_s": round(rate, 1),
        "tokens_per_s": round(store_tokens(store) / secs, 0),
        "raw_embedder_before": before,
        "raw_embedder_after": after,
        "raw_embedder_chunks_per_s": round(raw, 1),
        "pipeline_share_of_raw": round(rate / raw, 3),
        "pipeline_share_of_faster_raw": round(rate / max(before["chunks_per_s"], after["chunks_per_s"]), 3),
        "stage_seconds": stages,
        "embedder_in_pipeline_chunks_per_s": round(first["chunks_added"] / stages["embed"], 1)
        if stages.get("embed") else None,
        "peak_rss_mb": rss,
        "store_mb": folder_mb(store),
        "load_average_during": {"start": load_start, "end": load_end},
        "reingest_seconds": round(secs2, 2),
        "reingest_embedding_calls": second["embedded"],
        "reingest_articles_indexed": second["articles_new"] + second["articles_changed"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", choices=sorted(CORPORA), default="2022", help="which RealTime QA corpus")
    ap.add_argument("--n", default="300",
                    help="articles to ingest (the first n), 'all', or 'share' (2023-2024 only: the tuning "
                         "sample's articles at the full corpus's density, see _common.tuning_share)")
    ap.add_argument("--store", type=Path, help="build the store here and keep it (must not exist yet)")
    ap.add_argument("--keep", action="store_true", help="keep the store in benchmarks/stores/")
    ap.add_argument("--name", help="results file name (default ingest[-<corpus>][-full])")
    ap.add_argument("--raw-sample", type=int, default=RAW_SAMPLE, help="chunks the raw embedder is timed on")
    args = ap.parse_args()
    n = None if args.n in ("all", "share") else int(args.n)
    source = need(CORPORA[args.corpus])
    work = Path(tempfile.mkdtemp(prefix="assistant-bench-"))
    if args.n == "share" and args.corpus != "2023-2024":
        raise SystemExit("--n share is the 2023-2024 tuning share")
    corpus = tuning_share(work) if args.n == "share" else corpus_subset(n, work, source)
    label = f"{args.corpus}-{args.n}"
    store = args.store or ((STORES / f"ingest-{label}") if args.keep else work / "store")
    if args.store and args.store.exists() and any(args.store.iterdir()):
        raise SystemExit(f"{args.store} already holds files: give a new folder (it is never deleted)")
    if not args.store:
        shutil.rmtree(store, ignore_errors=True)
    try:
        result = measure(corpus, store.resolve(), work, args.raw_sample)
    finally:
        shutil.rmtree(work / "raw-store", ignore_errors=True)
    name = args.name or ("ingest" + ("" if args.corpus == "2022" else f"-{args.corpus}")
                         + ("-share" if args.n == "share" else "-full" if n is None else ""))
    print(json.dumps(result, indent=2))
    meta = {"corpus": args.corpus, "n": args.n, "store": str(store)}
    print(f"written to {write_result(name, {**meta, **result})}")
    if not (args.keep or args.store):
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
