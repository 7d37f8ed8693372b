"""`assistant eval --jobs N` against one process: wall time, and whether every answer is the same.

    python benchmarks/eval_jobs.py --store benchmarks/stores/ingest-2022-100 --jobs 2
    python benchmarks/eval_jobs.py --store /work/stores/rtqa2324 --questions 2023-2024 --jobs 2

Each run works on its own copy of the store, made before either starts, so both begin from the
same embedding cache (the store itself is not changed).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from _common import QUESTIONS, load_average, need, run_cli, write_result


def _answers(out: Path) -> dict[str, Any]:
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text("utf-8").splitlines()]
    return {r["id"]: {k: v for k, v in (r["answer"] or {}).items() if k != "timings_ms"} for r in rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--questions", choices=sorted(QUESTIONS), default="2022")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--limit", type=int, help="only the first N questions")
    ap.add_argument("--name", default="eval-jobs")
    args = ap.parse_args()
    questions = need(QUESTIONS[args.questions])
    work = Path(tempfile.mkdtemp(prefix="assistant-evaljobs-"))
    runs: dict[str, Any] = {}
    try:
        for jobs in (1, args.jobs):
            shutil.copytree(args.store, work / f"store-{jobs}")
        for jobs in (args.jobs, 1):
            out = work / f"out-{jobs}"
            cmd = ["--store", str(work / f"store-{jobs}"), "eval", str(questions), "--out", str(out),
                   "--no-llm", "--jobs", str(jobs)] + (["--limit", str(args.limit)] if args.limit else [])
            load = load_average()
            secs, rss, _, _ = run_cli(cmd)
            summary = json.loads((out / "summary.json").read_text("utf-8"))
            runs[f"jobs_{jobs}"] = {"seconds": round(secs, 1), "questions": summary["n"] if "n" in summary
                                    else len(_answers(out)), "load_average_start": load,
                                    "mc_accuracy": summary["metrics"].get("mc", {}).get("accuracy"),
                                    "answers": _answers(out)}
            print(f"--jobs {jobs}: {secs:.0f} s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    one, many = runs["jobs_1"].pop("answers"), runs[f"jobs_{args.jobs}"].pop("answers")
    differ = sorted(k for k in one if one[k] != many.get(k))
    result = {"store": str(args.store), "questions": args.questions, "runs": runs,
              "speedup": round(runs["jobs_1"]["seconds"] / runs[f"jobs_{args.jobs}"]["seconds"], 2),
              "answers_compared": len(one), "answers_differing": differ}
    print(json.dumps(result, indent=2))
    print(f"written to {write_result(args.name, result)}")


if __name__ == "__main__":
    main()
