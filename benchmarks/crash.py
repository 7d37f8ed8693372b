"""Crash benchmark: kill -9 `assistant ingest` at random moments, re-run it, compare with a clean build.

    python benchmarks/crash.py --kills 100        # ~30 min here; writes benchmarks/results/crash.json

Each trial starts an ingest of the first --articles corpus articles (one JSONL file) into a fresh
store, kills it at a random moment of its work, looks at what the kill left (doctor), re-runs
`assistant ingest`, and compares ids and texts with a clean build; a sample of chunks must find
themselves. Most trials start with a warm embedding cache (the kill lands while storing and
committing); every --cold-every-th one starts cold (the kill lands while embedding, too).
Then: two ingests started together on one store, and queries in a loop during an ingest (p95).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ASSISTANT, ROOT, corpus_subset, write_result

sys.path.insert(0, str(ROOT))

from assistant.app import App, build_app  # noqa: E402
from assistant.config import load_settings  # noqa: E402
from assistant.index.doctor import check_store, self_retrieval  # noqa: E402


def open_app(store: Path) -> App:
    return build_app(load_settings({"store": str(store), "no_llm": True}, environ={},
                                   dotenv_path=store / "no.env"))


def records(store: Path) -> dict[str, dict[str, Any]]:
    app = open_app(store)
    try:
        return app.store.records()
    finally:
        app.close()


def start(store: Path, folder: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*ASSISTANT, "--store", str(store), "ingest", "--json", *extra,
                             str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT)


def wait_started(store: Path, proc: subprocess.Popen[str]) -> float:
    while not (store / "manifest.sqlite3").exists():
        if proc.poll() is not None:
            raise SystemExit(f"ingest ended early: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.005)
    return time.monotonic()


def clean_build(store: Path, folder: Path) -> float:
    """Build the store with the CLI; returns the seconds the ingest was busy."""
    proc = start(store, folder)
    began = wait_started(store, proc)
    _, err = proc.communicate()
    if proc.returncode:
        raise SystemExit(err)
    return time.monotonic() - began


def copy_cache(src_store: Path, dst_store: Path) -> None:
    dst_store.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(src_store / "embed_cache.sqlite3") as a, \
            sqlite3.connect(dst_store / "embed_cache.sqlite3") as b:
        a.backup(b)


def kill_ingest(store: Path, folder: Path, busy: float, rng: random.Random) -> float | None:
    """Start an ingest and kill -9 it at a random moment of its work: the seconds into its work
    when it was killed, or None when it finished first (busy was too long)."""
    proc = start(store, folder)
    began = wait_started(store, proc)
    try:
        proc.wait(timeout=rng.uniform(0, busy))
    except subprocess.TimeoutExpired:
        proc.kill()
        if proc.wait() == -9:
            return time.monotonic() - began
    return None


def kill_trial(n: int, work: Path, folder: Path, ref: Path, reference: dict[str, dict[str, Any]],
               busy: list[float], cold: bool, rng: random.Random, sample: int) -> dict[str, Any]:
    """One kill point (busy[0] shrinks to what the runs take when one finishes before its kill)."""
    store = work / f"trial-{n}"
    while True:
        shutil.rmtree(store, ignore_errors=True)
        if not cold:
            copy_cache(ref, store)
        began = time.monotonic()
        killed_at = kill_ingest(store, folder, busy[0], rng)
        if killed_at is not None:
            break
        busy[0] = min(busy[0], time.monotonic() - began) * 0.9
    app = open_app(store)
    try:
        after_kill = check_store(app.index_parts(), sample=20)
    finally:
        app.close()
    rerun = subprocess.run([*ASSISTANT, "--store", str(store), "ingest", "--json", str(folder)],
                           capture_output=True, text=True, cwd=ROOT)
    report = json.loads(rerun.stdout) if rerun.returncode == 0 else {"notes": [rerun.stderr]}
    app = open_app(store)
    try:
        equal = app.store.records() == reference
        found, sampled = self_retrieval(app.index_parts(), sample, seed=n)
    finally:
        app.close()
    shutil.rmtree(store)
    return {"trial": n, "cold": cold, "killed_at_s": round(killed_at, 2),
            "opened_after_kill": after_kill.opened,
            "damaged_after_kill": bool(after_kill.error) or after_kill.found_self < after_kill.sampled,
            "orphans_after_kill": after_kill.extra, "missing_after_kill": after_kill.missing,
            "rerun_ok": rerun.returncode == 0, "notes": report.get("notes", []),
            "equal_to_clean": equal, "found_self": found, "sampled": sampled}


def two_ingests(work: Path, folder: Path, ref: Path, reference: dict[str, dict[str, Any]]) -> dict[str, Any]:
    store = work / "two"
    copy_cache(ref, store)
    procs = [start(store, folder) for _ in range(2)]
    outs = [p.communicate() for p in procs]
    app = open_app(store)
    try:
        equal = app.store.records() == reference
        found, sampled = self_retrieval(app.index_parts(), len(reference))
    finally:
        app.close()
    shutil.rmtree(store)
    return {"exit_codes": [p.returncode for p in procs],
            "told_to_wait": sum("waiting" in err for _, err in outs),
            "equal_to_single_ingest": equal, "found_self": found, "sampled": sampled}


def queries_during_ingest(work: Path, ref: Path, n_first: int, n_more: int) -> dict[str, Any]:
    """A long-lived reader (like chat) queries while another process ingests (and embeds) more."""
    import datetime as dt

    import numpy as np

    from assistant.retrieve.hybrid import Query

    lines = corpus_subset(n_first + n_more, work / "more").read_text("utf-8").splitlines(True)
    folder = work / "growing"
    folder.mkdir()
    (folder / "first.jsonl").write_text("".join(lines[:n_first]), encoding="utf-8")
    store = work / "reader"
    copy_cache(ref, store)  # the first part is in the cache; the rest is embedded during the test
    app = open_app(store)
    with app.writer_lock():
        app.indexer().run([folder])
    (folder / "second.jsonl").write_text("".join(lines[n_first:]), encoding="utf-8")
    rows = [json.loads(x) for x in lines]
    questions = [Query(str(r.get("title") or "news"), top_k=5, mode="hybrid" if i % 2 else "dense",
                       since=dt.date(2020, 1, 1) if i % 3 == 0 else None) for i, r in enumerate(rows)]
    proc = start(store, folder)
    times: list[float] = []
    errors: list[str] = []
    while proc.poll() is None:
        t0 = time.perf_counter()
        try:
            app.retriever.retrieve(questions[len(times) % len(questions)])
        except Exception as exc:  # counted, not raised: this is what we measure
            errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
        times.append((time.perf_counter() - t0) * 1000)
    out, _ = proc.communicate()
    found, sampled = self_retrieval(app.index_parts(), 100)
    app.close()
    return {"ingest_exit_code": proc.returncode, "ingest": json.loads(out or "{}").get("seconds"),
            "queries": len(times), "errors": len(errors), "first_errors": errors[:3],
            "p50_ms": round(float(np.percentile(times, 50)), 1),
            "p95_ms": round(float(np.percentile(times, 95)), 1),
            "max_ms": round(max(times), 1), "reader_found_self": f"{found}/{sampled}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--cold-every", type=int, default=10)
    parser.add_argument("--sample", type=int, default=50, help="chunks checked per trial")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--more", type=int, default=100,
                        help="articles ingested while the reader queries")
    args = parser.parse_args()
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    work = Path(tempfile.mkdtemp(prefix="crash-bench-"))
    try:
        corpus = corpus_subset(args.articles, work / "docs")
        folder = corpus.parent
        ref = work / "clean"
        cold_busy = clean_build(ref, folder)
        warm_store = work / "warm"
        copy_cache(ref, warm_store)
        warm_busy = clean_build(warm_store, folder)
        shutil.rmtree(warm_store)
        reference = records(ref)
        print(f"clean build: {len(reference)} chunks; busy {cold_busy:.1f} s cold, "
              f"{warm_busy:.1f} s warm", flush=True)
        rng = random.Random(args.seed)
        trials = []
        busy = {True: [cold_busy], False: [warm_busy]}
        for n in range(args.kills):
            cold = args.cold_every > 0 and n % args.cold_every == args.cold_every - 1
            t = kill_trial(n, work, folder, ref, reference, busy[cold], cold, rng, args.sample)
            trials.append(t)
            print(json.dumps({k: v for k, v in t.items() if k != "notes"}), flush=True)
        summary = summarize(trials)
        print(json.dumps(summary, indent=2))
        two = two_ingests(work, folder, ref, reference)
        print("two ingests:", json.dumps(two))
        during = queries_during_ingest(work, ref, args.articles, args.more)
        print("queries during an ingest:", json.dumps(during))
        path = write_result("crash", {"articles": args.articles, "chunks": len(reference),
                                      "busy_seconds": {"cold": round(cold_busy, 1),
                                                       "warm": round(warm_busy, 1)},
                                      "summary": summary, "two_ingests": two,
                                      "queries_during_ingest": during, "trials": trials})
        print(f"wrote {path}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def summarize(trials: list[dict[str, Any]]) -> dict[str, Any]:
    found = sum(t["found_self"] for t in trials)
    sampled = sum(t["sampled"] for t in trials)
    return {
        "trials": len(trials),
        "opened_after_kill": sum(t["opened_after_kill"] for t in trials),
        "damaged_after_kill": sum(t["damaged_after_kill"] for t in trials),
        "with_orphans_after_kill": sum(t["orphans_after_kill"] > 0 for t in trials),
        "with_missing_after_kill": sum(t["missing_after_kill"] > 0 for t in trials),
        "rerun_ok": sum(t["rerun_ok"] for t in trials),
        "rebuilt": sum(any("damaged" in x for x in t["notes"]) for t in trials),
        "recovered": sum(any("interrupted" in x for x in t["notes"]) for t in trials),
        "equal_to_clean": sum(t["equal_to_clean"] for t in trials),
        "self_retrieval": f"{found}/{sampled}",
    }


if __name__ == "__main__":
    main()
