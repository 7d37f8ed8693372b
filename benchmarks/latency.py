"""Latency benchmark: cold `assistant ask` (process start to answer) and warm in-process query
latency (p50/p95) on stores of about 1k and 10k chunks and the full corpus.

    python benchmarks/latency.py              # builds the 1k/10k stores if missing
    python benchmarks/latency.py --full STORE   # also a full-corpus store
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from _common import DEV, STORES, corpus_subset, run_cli, write_result

SIZES = {"1k": 100, "10k": 1000}


def questions(n: int = 40) -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in DEV.open(encoding="utf-8")][:n]
    return [(r["question"], r["question_date"].replace("/", "-")) for r in rows]


def warm(store: Path) -> dict[str, float]:
    import datetime as dt

    from assistant.app import build_app
    from assistant.config import load_settings
    from assistant.qa import AskOptions, ask

    app = build_app(load_settings({"store": str(store), "no_llm": True}))
    ask(app, "warm up the model", AskOptions(check_stale=False))
    times = []
    for q, day in questions():
        start = time.perf_counter()
        ask(app, q, AskOptions(as_of=dt.date.fromisoformat(day), check_stale=False))
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
            "chunks": app.store.count()}


def cold(store: Path, runs: int = 3) -> float:
    best = []
    for _ in range(runs):
        secs, _, _, _ = run_cli(["--store", str(store), "ask", "--no-llm", "--json",
                                 "Which US national park was hit by severe flooding in June 2022?"])
        best.append(secs)
    return round(statistics.median(best), 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--full", type=Path, help="store of the full corpus")
    args = ap.parse_args()
    stores: dict[str, Path] = {}
    for label, n in SIZES.items():
        store = STORES / f"latency-{label}"
        if not (store / "manifest.sqlite3").exists():
            corpus = corpus_subset(n, STORES / "subsets")
            run_cli(["--store", str(store), "ingest", str(corpus)])
        stores[label] = store
    if args.full:
        stores["full"] = args.full.resolve()
    result = {}
    for label, store in stores.items():
        result[label] = {**warm(store), "cold_ask_s": cold(store)}
        print(label, result[label])
    print(f"written to {write_result('latency', {'stores': result})}")


if __name__ == "__main__":
    main()
