"""Latency benchmark: warm in-process question latency (p50/p95, plain and multiple choice, with
where the time went) and cold `assistant ask` (process start to answer, median of --runs starts).

    python benchmarks/latency.py                          # 1k/10k-chunk 2022 stores (built if missing)
    python benchmarks/latency.py --store full=/work/stores/rtqa2022
    python benchmarks/latency.py --store 4x=/work/stores/rtqa2324 --questions 2023-2024

Warm questions are asked twice in one process, half of them plain and half with their choices: the
first pass embeds the evidence sentences it has not seen (cold sentence cache), the second finds
them in the store's embedding cache (as a second eval run over the same questions does). Cold starts
run with compiled bytecode cached in a folder of the benchmark's own (PYTHONPYCACHEPREFIX), as an
installed package has; the start that compiles it is not counted. Then the store's parse cache is
deleted: the first counted start (first_start_s) parses its sentences and caches them, the next
--runs starts (median_s) find them there, as a question asked again does (a name question then
never imports spaCy). --cold-only skips the warm questions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import QUESTIONS, STORES, corpus_subset, load_average, need, percentile, run_cli, write_result

from assistant.answer.offline.nlp import PARSE_CACHE

SIZES = {"1k": 100, "10k": 1000}  # label -> first n articles of the 2022 corpus
COLD = {"name": "Which US national park was hit by severe flooding in June 2022?",
        "other": "What did the SCO add in 2024?"}


def questions(which: str, n: int) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in need(QUESTIONS[which]).open(encoding="utf-8")]
    step = max(1, len(rows) // n)
    return [r for r in rows[::step] if r.get("choices")][:n]


def _summary(times: list[float], timings: list[dict[str, float]]) -> dict[str, Any]:
    parts = sorted({k for t in timings for k in t})
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": percentile(times, 0.95),
            "median_parts_ms": {k: round(statistics.median(t.get(k, 0.0) for t in timings), 1)
                                for k in parts}}


def warm(store: Path, which: str, n: int) -> dict[str, Any]:
    from assistant.app import build_app
    from assistant.config import load_settings
    from assistant.qa import AskOptions, ask

    app = build_app(load_settings({"store": str(store), "no_llm": True}))
    start = time.perf_counter()
    ask(app, "warm up the model", AskOptions(check_stale=False))
    if app.parser is not None:  # a warm process has its models loaded, the parser too
        app.parser.warm()
    first_question_s = time.perf_counter() - start
    out: dict[str, Any] = {"chunks": app.manifest.counts()["chunks"],
                           "first_question_in_process_s": round(first_question_s, 2)}
    qs = questions(which, n)
    halves = {"plain": qs[0::2], "choice": qs[1::2]}  # each pass: its own questions per kind
    for label in ("first_pass", "second_pass"):
        for kind in ("plain", "choice"):
            times: list[float] = []
            timings: list[dict[str, float]] = []
            for row in halves[kind]:
                day = dt.date.fromisoformat(row["question_date"].replace("/", "-")[:10])
                opts = AskOptions(as_of=day, check_stale=False,
                                  choices=tuple(row["choices"]) if kind == "choice" else None)
                t0 = time.perf_counter()
                answer = ask(app, row["question"], opts)
                times.append((time.perf_counter() - t0) * 1000)
                timings.append(answer.timings_ms)
            out[f"{label}_{kind}"] = _summary(times, timings)
            print(store.name, label, kind, out[f"{label}_{kind}"]["p50_ms"],
                  out[f"{label}_{kind}"]["p95_ms"], flush=True)
    app.close()
    return out


def forget_parses(store: Path) -> None:
    """Delete the store's parse cache (a cache: the next name question parses and rebuilds it)."""
    for suffix in ("", "-wal", "-shm"):
        (store / f"{PARSE_CACHE}{suffix}").unlink(missing_ok=True)


def cold(store: Path, runs: int) -> dict[str, Any]:
    cache = Path(tempfile.gettempdir()) / "assistant-bench-pycache"
    env = {"PYTHONPYCACHEPREFIX": str(cache), "PYTHONDONTWRITEBYTECODE": ""}
    out: dict[str, Any] = {}
    for label, question in COLD.items():
        args = ["--store", str(store), "ask", "--no-llm", "--json", question]
        forget_parses(store)
        run_cli(args, env)  # compiles the bytecode once (spaCy's too: its parses are not cached yet)
        forget_parses(store)  # the first counted start parses the sentences again and caches them
        walls, cpus = [], []
        for _ in range(runs + 1):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            secs, _, _, _ = run_cli(args, env)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            walls.append(secs)
            cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        out[label] = {"first_start_s": round(walls[0], 2), "first_start_cpu_s": round(cpus[0], 2),
                      "median_s": round(statistics.median(walls[1:]), 2),
                      "median_cpu_s": round(statistics.median(cpus[1:]), 2),
                      "runs_s": [round(w, 2) for w in walls[1:]], "load_average": load_average()}
        print(store.name, "cold", label, out[label], flush=True)
    return out


def folder_mb(folder: Path) -> float:
    return round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", action="append", default=[], metavar="LABEL=PATH",
                    help="an existing store to measure (repeatable); default: the 1k and 10k stores")
    ap.add_argument("--questions", choices=sorted(QUESTIONS), default="2022")
    ap.add_argument("--n", type=int, default=60, help="questions per pass (half plain, half choice)")
    ap.add_argument("--runs", type=int, default=5, help="cold process starts per question")
    ap.add_argument("--cold-only", action="store_true", help="only the cold process starts")
    ap.add_argument("--name", default="latency", help="results file name")
    args = ap.parse_args()
    stores: dict[str, Path] = {}
    for item in args.store:
        label, _, path = item.partition("=")
        stores[label] = Path(path).resolve()
    if not stores:
        for label, n in SIZES.items():
            store = STORES / f"latency-{label}"
            if not (store / "manifest.sqlite3").exists():
                run_cli(["--store", str(store), "ingest", str(corpus_subset(n, STORES / "subsets"))])
            stores[label] = store
    result: dict[str, Any] = {}
    for label, store in stores.items():
        started = load_average()
        hot = {} if args.cold_only else warm(store, args.questions, args.n)
        result[label] = {**hot, "cold_ask": cold(store, args.runs),
                         "store_mb": folder_mb(store), "load_average_start": started}
    env = {k: os.environ.get(k, "") for k in ("PYTHONDONTWRITEBYTECODE",)}
    data = {"questions": args.questions, "env": env, "stores": result}
    print(f"written to {write_result(args.name, data)}")


if __name__ == "__main__":
    main()
