"""Quality benchmark: `assistant eval` on the RealTime QA dev set (192 questions, each with its
question_date as as-of) over the full corpus, offline answerer, beside the published systems.

    python benchmarks/ingest.py --n all --keep       # builds benchmarks/stores/ingest-all
    python benchmarks/quality.py [--retrieval hybrid|dense|lexical] [--name quality]
"""

from __future__ import annotations

import argparse
import json

from _common import DEV, RESULTS, STORES, run_cli, write_result

PUBLISHED = {
    "GPT-3 + news search (top-5 articles)": {"mc": 70.8, "em": 30.7, "f1": 43.9},
    "RAG + news search": {"mc": 59.9, "em": 25.5, "f1": 30.9},
    "GPT-3, no retrieval": {"mc": 45.8, "em": 14.1, "f1": 21.4},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--store", default=str(STORES / "ingest-all"))
    ap.add_argument("--retrieval", default="hybrid")
    ap.add_argument("--name", default=None)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    name = args.name or ("quality" if args.retrieval == "hybrid" else f"quality-{args.retrieval}")
    out = RESULTS / "eval" / name
    cmd = ["--store", args.store, "eval", str(DEV), "--no-llm", "--out", str(out)]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    if (out / "results.jsonl").exists():
        (out / "results.jsonl").unlink()
    secs, _, _, _ = run_cli(cmd, {"ASSISTANT_RETRIEVAL": args.retrieval})
    summary = json.loads((out / "summary.json").read_text())
    m = summary["metrics"]
    ours = {
        "mc": round(100 * (m["mc"].get("accuracy") or 0), 1),
        "em": round(100 * (m["answer"].get("em") or 0), 1),
        "f1": round(100 * (m["answer"].get("f1") or 0), 1),
        "contains": round(100 * (m["answer"].get("contains") or 0), 1),
        "gold_hit@5": m["retrieval"].get("hit@5"),
        "gold_hit@1": m["retrieval"].get("hit@1"),
        "mrr": m["retrieval"].get("mrr"),
        "citations_valid": m["citations"].get("all_valid"),
        "p50_ms": m["latency_ms"].get("p50"),
    }
    print(f"{'system':40} {'MC':>6} {'EM':>6} {'F1':>6}")
    print(f"{'assistant (' + args.retrieval + ', offline)':40} {ours['mc']:6} {ours['em']:6} {ours['f1']:6}")
    for system, s in PUBLISHED.items():
        print(f"{system:40} {s['mc']:6} {s['em']:6} {s['f1']:6}")
    print(json.dumps(ours, indent=2))
    write_result(name, {"retrieval": args.retrieval, "seconds": round(secs, 1), "ours": ours,
                        "published": PUBLISHED, "n": summary["n"]})


if __name__ == "__main__":
    main()
