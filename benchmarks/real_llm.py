"""The LLM path against a real OpenAI-compatible server (whatever OPENAI_BASE_URL points at).

Runs, through the real CLI: the seed cases (`ask --json`: who represented India, where the summit
was, what Putin said, who joined in 2024, and a question the articles cannot answer), a follow-up
(in-process, with the first turn as history), a 20-question eval
(benchmarks/data/real_llm_questions.jsonl) and, given --store-2022 (the whole 2022 corpus), 40
multiple-choice questions of the 2022 dev set as of their dates (every fourth question in date
order), once through the LLM path and once offline: retrieval does not depend on the answerer, so
both answer from the same passages. Writes benchmarks/results/<name>.json with the verification
counts, refusals, latency and tokens; each eval's own output (the model's texts, for
benchmarks/fit_support.py) stays in benchmarks/results/eval/<name>*/ (not committed).

    OPENAI_BASE_URL=http://127.0.0.1:8080/v1 python benchmarks/real_llm.py \
        [--store DIR] [--store-2022 DIR] [--limit N] [--mc 40] [--only seed,eval,mc] [--name real_llm]

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

from _common import RESULTS, ROOT, SETS, run_cli, write_result

QUESTIONS = ROOT / "benchmarks" / "data" / "real_llm_questions.jsonl"
SEED_Q = "Who joined the SCO in 2024?"
FOLLOW_UP = "And who represented India?"
OUTSIDE = "Who won the 2022 World Cup?"
SEED_CASES = ("Who represented India at the summit?", "Where was the summit held?",
              "What did Putin say about relations with China?", SEED_Q, OUTSIDE)
MC_EVERY = 4  # every fourth dev question in date order: the 40 spread over the whole dev period


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


def mc_questions(path: Path, n: int) -> list[dict[str, Any]]:
    """n multiple-choice dev questions, every MC_EVERY-th in date order, each as of its date."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = sorted((r for r in rows if r.get("choices")), key=lambda r: (r["question_date"], r["id"]))
    return [{"id": r["id"], "question": r["question"], "choices": r["choices"],
             "answer_index": r["answer_index"], "as_of": r["question_date"]}
            for r in rows[::MC_EVERY][:n]]


def run_mc(store: str, name: str, n: int) -> dict[str, Any]:
    """The MC questions through the LLM path and offline, on the same store (same passages)."""
    qfile = RESULTS / "eval" / f"{name}-mc-questions.jsonl"
    qfile.parent.mkdir(parents=True, exist_ok=True)
    qfile.write_text("".join(json.dumps(q) + "\n" for q in mc_questions(SETS["2022"][0], n)))
    out: dict[str, Any] = {}
    for path, extra in (("llm", []), ("offline", ["--no-llm"])):
        folder = RESULTS / "eval" / f"{name}-mc-{path}"
        shutil.rmtree(folder, ignore_errors=True)
        seconds, _, _, _ = run_cli(["--store", store, "eval", str(qfile), "--out", str(folder),
                                    "--jobs", "1", *extra])
        rows = [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]
        metrics = json.loads((folder / "summary.json").read_text())["metrics"]
        own = [_model_choice(r) for r in rows]
        out[path] = {
            "questions": len(rows), "seconds": round(seconds, 1),
            "seconds_per_question": round(seconds / max(1, len(rows)), 1),
            "mc_shown": metrics["mc"]["accuracy"], "llm": metrics.get("llm"),
            "model_own_choice_correct": sum(c == r["question"]["answer_index"] for c, r in
                                            zip(own, rows, strict=True) if c is not None),
            "model_named_a_choice": sum(c is not None for c in own),
        }
    return out


def _model_choice(row: dict[str, Any]) -> int | None:
    """The option the model itself picked (kept even when its answer failed the check)."""
    llm = (row.get("answer") or {}).get("llm") or {}
    choice = llm.get("choice_index")
    return int(choice) if isinstance(choice, int) else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", help="store to use (default: a fresh seed store)")
    parser.add_argument("--limit", type=int, help="only the first N eval questions")
    parser.add_argument("--name", default="real_llm", help="results file name")
    parser.add_argument("--store-2022", help="a store of the whole 2022 corpus (for --only mc)")
    parser.add_argument("--mc", type=int, default=40, help="multiple-choice dev questions")
    parser.add_argument("--only", default="seed,eval,mc", help="stages: seed, eval, mc")
    args = parser.parse_args()
    only = set(args.only.split(","))
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
    stages: list[tuple[str, Any]] = []
    if "seed" in only:
        stages += [("seed_cases", lambda: [ask(q, env) for q in SEED_CASES]),
                   ("follow_up", lambda: follow_up(store))]
    if "eval" in only:
        stages.append(("eval", lambda: run_eval(env, RESULTS / "eval" / args.name, args.limit)))
    if "mc" in only and args.store_2022:
        stages.append(("mc_2022", lambda: run_mc(args.store_2022, args.name, args.mc)))
    for name, stage in stages:  # the file is written after every stage: a long run shows progress
        report[name] = stage()
        result = report[name]
        shown = ({k: v for k, v in result.items() if k != "rows"} if isinstance(result, dict)
                 else result)
        print(name, json.dumps(shown, indent=1, ensure_ascii=False)[:1500], flush=True)
        write_result(args.name, report)
    print(f"wrote {write_result(args.name, report)}")


if __name__ == "__main__":
    main()
