"""Retrieval ablation on the RealTime QA dev questions that have gold articles: gold-article hit@1,
hit@5 and MRR for dense, lexical and hybrid retrieval, with and without the date preferences, all
with each question's date as --as-of.

    python benchmarks/retrieval.py [--store benchmarks/stores/ingest-all] [--name retrieval]
    python benchmarks/retrieval.py --store benchmarks/stores/ingest-all-shipped \
        --embed-model local:minilm-l6 --only 1,5,6 --name retrieval-shipped   # un-quantized model
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import time

from _common import DEV, STORES, write_result

VARIANTS = [  # (label, mode, date preference, one passage per article first)
    ("dense, as-of filter only", "dense", False, False),
    ("lexical (BM25), as-of filter only", "lexical", False, False),
    ("hybrid (RRF), as-of filter only", "hybrid", False, False),
    ("hybrid + date preference (question window / latest week)", "hybrid", True, False),
    ("hybrid + date preference + article diversity (default)", "hybrid", True, True),
    ("dense + date preference + article diversity", "dense", True, True),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--store", default=str(STORES / "ingest-all"))
    ap.add_argument("--embed-model", default=None)
    ap.add_argument("--name", default="retrieval")
    ap.add_argument("--only", default="", help="comma-separated variant numbers (1-based)")
    args = ap.parse_args()
    variants = [v for i, v in enumerate(VARIANTS, 1)
                if not args.only or str(i) in args.only.split(",")]
    from assistant.app import build_app
    from assistant.config import load_settings
    from assistant.retrieve.hybrid import Query

    app = build_app(load_settings({"store": args.store, "embed_model": args.embed_model}))
    rows = [json.loads(line) for line in DEV.open(encoding="utf-8")]
    rows = [r for r in rows if r.get("gold_doc_ids")]
    result: dict[str, dict[str, float]] = {}
    for label, mode, window, diverse in variants:
        hits1 = hits5 = rr = 0.0
        start = time.perf_counter()
        for r in rows:
            as_of = dt.date.fromisoformat(r["question_date"].replace("/", "-")[:10])
            q = Query(r["question"], top_k=5, as_of=as_of, mode=mode, use_window=window, diverse=diverse)
            ids = [p.article_id for p in app.retriever.retrieve(dataclasses.replace(q)).passages]
            gold = set(r["gold_doc_ids"])
            ranks = [i for i, a in enumerate(ids) if a in gold]
            hits1 += bool(ranks and ranks[0] == 0)
            hits5 += bool(ranks)
            rr += 1 / (ranks[0] + 1) if ranks else 0.0
        n = len(rows)
        result[label] = {"hit@1": round(hits1 / n, 3), "hit@5": round(hits5 / n, 3),
                         "mrr": round(rr / n, 3),
                         "ms_per_query": round(1000 * (time.perf_counter() - start) / n, 1)}
        print(f"{label:60} {result[label]}")
    write_result(args.name, {"store": args.store, "embedder": app.settings.embed_model,
                             "questions": len(rows), "variants": result})


if __name__ == "__main__":
    main()
