"""The LLM path against a real OpenAI-compatible server (whatever OPENAI_BASE_URL points at).

Runs, through the real CLI: the seed question (`ask --json`), a follow-up (in-process, with the
first turn as history), a question the articles cannot answer, and a 20-question eval
(benchmarks/data/real_llm_questions.jsonl); writes benchmarks/results/real_llm.json with the
verification counts, refusals, latency and tokens, and keeps the eval's own output (the model's
texts, for benchmarks/fit_support.py) in benchmarks/results/eval/real_llm/ (not committed).

    OPENAI_BASE_URL=http://127.0.0.1:8080/v1 ASSISTANT_LLM_MODEL=gemma-3-270m \
        python benchmarks/real_llm.py [--store DIR] [--limit N] [--name real_llm]

The store defaults to a fresh one holding the seed article (indexed on first use).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import RESULTS, ROOT, run_cli, write_result

QUESTIONS = ROOT / "benchmarks" / "data" / "real_llm_questions.jsonl"
SEED_Q = "Who joined the SCO in 2024?"
FOLLOW_UP = "And who represented India?"
OUTSIDE = "Who won the 2022 World Cup?"


def summary_of(data: dict[str, Any], seconds: float) -> dict[str, Any]:
    """What one `ask --json` answer shows, and what the model's verdict on it was."""
    llm = data.get("llm") or {}
    return {
        "question": data["question"], "answer": data["answer"], "mode": data["mode"],
        "verification": llm.get("verification"), "model": llm.get("model"),
        "reasons": llm.get("reasons", []), "model_text": llm.get("text"),
        "citations": [c["n"] for c in data["citations"]], "usage": data.get("usage"),
        "seconds": round(seconds, 1), "llm_ms": data["timings_ms"].get("llm"),
        "warnings": data["warnings"][:6],
        "rewritten_question": data.get("rewritten_question"),
    }


def ask(question: str, env: dict[str, str]) -> dict[str, Any]:
    seconds, _, out, _ = run_cli(["ask", question, "--json"], env)
    return summary_of(json.loads(out), seconds)


def follow_up(store: str) -> dict[str, Any]:
    """The seed question, then the follow-up with it as history (what `chat` does)."""
    from assistant.app import build_app
    from assistant.config import load_settings
    from assistant.qa import AskOptions, ask

    app = build_app(load_settings({"store": store}))
    try:
        first = ask(app, SEED_Q, AskOptions(check_stale=False))
        start = time.perf_counter()
        second = ask(app, FOLLOW_UP, AskOptions(check_stale=False),
                     history=[(SEED_Q, first.answer)])
        return summary_of(second.to_json(), time.perf_counter() - start)
    finally:
        app.close()


def run_eval(env: dict[str, str], out: Path, limit: int | None) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)  # a fresh run, not the last one's answers
    args = ["eval", str(QUESTIONS), "--out", str(out)] + (["--limit", str(limit)] if limit else [])
    seconds, _, _, _ = run_cli(args, env)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    metrics = summary["metrics"]
    latencies = [r["latency_ms"] for r in rows]
    return {
        "questions": len(rows), "seconds": round(seconds, 1),
        "llm": metrics["llm"],
        "modes": {m: sum(r["answer"]["mode"] == m for r in rows if r["answer"])
                  for m in ("llm", "extractive", "none")},
        "errors": sum(r["error"] is not None for r in rows),
        "refusal": metrics["refusal"], "answer": metrics["answer"],
        "latency_ms": {"p50": round(statistics.median(latencies)),
                       "max": round(max(latencies))},
        "rows": [{"id": r["id"], "question": r["question"]["question"],
                  "mode": r["answer"]["mode"] if r["answer"] else "error",
                  "verification": ((r["answer"] or {}).get("llm") or {}).get("verification"),
                  "answer": (r["answer"] or {}).get("answer", r["error"])[:200],
                  "model_text": (((r["answer"] or {}).get("llm") or {}).get("text") or "")[:300]}
                 for r in rows],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", help="store to use (default: a fresh seed store)")
    parser.add_argument("--limit", type=int, help="only the first N eval questions")
    parser.add_argument("--name", default="real_llm", help="results file name")
    args = parser.parse_args()
    if not os.environ.get("OPENAI_BASE_URL"):
        raise SystemExit("Set OPENAI_BASE_URL (and ASSISTANT_LLM_MODEL) to the server to measure")
    tmp = Path(tempfile.mkdtemp(prefix="real-llm-"))
    store = args.store or str(tmp / "store")
    env = {"ASSISTANT_STORE": store}
    os.environ["ASSISTANT_STORE"] = store
    report: dict[str, Any] = {
        "server": os.environ["OPENAI_BASE_URL"],
        "model_asked": os.environ.get("ASSISTANT_LLM_MODEL", "gpt-4o-mini"),
        "settings": {k: os.environ[k] for k in sorted(os.environ)
                     if k.startswith("ASSISTANT_LLM_")},
    }
    stages = [("seed_question", lambda: ask(SEED_Q, env)),
              ("outside_question", lambda: ask(OUTSIDE, env)),
              ("follow_up", lambda: follow_up(store)),
              ("eval", lambda: run_eval(env, RESULTS / "eval" / args.name, args.limit))]
    for name, stage in stages:  # the file is written after every stage: a long run shows progress
        report[name] = stage()
        shown = {k: v for k, v in report[name].items() if k != "rows"}
        print(name, json.dumps(shown, indent=1, ensure_ascii=False)[:1500], flush=True)
        write_result(args.name, report)
    print(f"wrote {write_result(args.name, report)}")


if __name__ == "__main__":
    main()
