"""Quality benchmark: the offline answerer on the 2022 dev set and on the 2023-2024 questions, side by
side (the second is the tuning set; a rule that helps one and not the other is fitted, not learned).

For each set, through `assistant eval` (each question as of its question date):
- multiple choice: accuracy, on each half of the set (in date order), and split by whether the
  answer text is in the top 5 passages (present / absent); accuracy when no passage names any choice;
- open answers: gold text in the answer; answer-text recall@5; gold-article hit@5 (2022 only);
- refusals: news questions asked the day before their answer first appears in the corpus and
  120 fictional questions must be refused; the same news questions at their own date must not be;
- follow-ups: hand-written pairs whose second question needs the first one's subject.

    python benchmarks/build_sets.py                      # once: the refusal sets and the sample
    python benchmarks/quality.py [--full] [--only mc,refusal,followups] [--sets 2022,2324]
        [--store-2022 DIR] [--store-2324 DIR] [--name quality]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from _common import RESULTS, ROOT, SETS, need_data, pct, run_cli, set_arguments, write_result

DATA = ROOT / "benchmarks" / "data"
PUBLISHED_2022 = {
    "GPT-3 + news search (top-5 articles)": {"mc": 70.8, "em": 30.7, "f1": 43.9},
    "RAG + news search": {"mc": 59.9, "em": 25.5, "f1": 30.9},
    "GPT-3, no retrieval": {"mc": 45.8, "em": 14.1, "f1": 21.4},
}


RESUME = [False]  # --resume: finish runs of the same questions left in the results folder


def _questions(name: str, full: bool) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in SETS[name][0].open(encoding="utf-8")]
    if name == "2324" and not full:
        keep = set(json.loads((DATA / "sample-2324.json").read_text()))
        rows = [r for r in rows if r["id"] in keep]
    return sorted(rows, key=lambda r: (r["question_date"], r["id"]))


def _eval(store: Path, rows: list[dict[str, Any]], out: Path, jobs: int | None,
          resume: bool | None = None) -> list[dict[str, Any]]:
    """Run `assistant eval` on rows; the result records, in the rows' order."""
    out.mkdir(parents=True, exist_ok=True)
    qfile = out / "questions.jsonl"
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    same = qfile.exists() and qfile.read_text(encoding="utf-8") == text and (out / "results.jsonl").exists()
    cmd = ["--store", str(store), "eval", str(qfile), "--no-llm", "--out", str(out)]
    if same and (RESUME[0] if resume is None else resume):  # finish the earlier run of these questions
        cmd.append("--resume")
    else:
        qfile.write_text(text, encoding="utf-8")
        (out / "results.jsonl").unlink(missing_ok=True)
    if jobs:
        cmd += ["--jobs", str(jobs)]
    run_cli(cmd)
    by_id = {r["id"]: r for r in map(json.loads, (out / "results.jsonl").open(encoding="utf-8"))}
    return [by_id[r["id"]] for r in rows if r["id"] in by_id]


def multiple_choice(name: str, store: Path, full: bool, work: Path, jobs: int | None) -> dict[str, Any]:
    rows = _questions(name, full)
    asked = [{k: r[k] for k in ("id", "question", "answer", "choices", "answer_index", "question_date",
                                "question_type", "gold_doc_ids", "evidence") if k in r} for r in rows]
    results = _eval(store, asked, work / f"mc-{name}", jobs)
    mc = [r["scores"]["mc"]["correct"] for r in results]
    present = [bool(r["scores"]["answer_recall"] and r["scores"]["answer_recall"]["hit@5"]) for r in results]
    none = [r["scores"]["mc"]["correct"] for r in results
            if r["answer"] and r["answer"].get("choice_evidence") == "none"]
    half = len(mc) // 2
    hits = [r["scores"]["retrieval"]["hit@5"] for r in results if r["scores"].get("retrieval")]
    return {
        "n": len(results),
        "mc": pct(mc),
        "mc_first_half": pct(mc[:half]),
        "mc_second_half": pct(mc[half:]),
        "mc_answer_present": pct([c for c, p in zip(mc, present, strict=True) if p]),
        "mc_answer_absent": pct([c for c, p in zip(mc, present, strict=True) if not p]),
        "answer_present_share": pct(present),
        "mc_no_choice_named": pct(none),
        "no_choice_named_n": len(none),
        "answer_text_recall@5": pct(present),
        "gold_text_in_answer": pct([bool(r["scores"]["answer"] and r["scores"]["answer"]["contains"])
                                     for r in results]),
        "gold_article_hit@5": pct(hits) if hits else None,
        "p50_ms": sorted(r["latency_ms"] for r in results)[len(results) // 2] if results else None,
    }


def refusals(name: str, store: Path, work: Path, jobs: int | None) -> dict[str, Any]:
    source = {r["id"]: r for r in map(json.loads, SETS[name][0].open(encoding="utf-8"))}
    news = [json.loads(line) for line in (DATA / f"news-{name}.jsonl").open(encoding="utf-8")]
    latest = max(r["question_date"] for r in source.values())
    rows: list[dict[str, Any]] = []
    for n in news:
        q = source[n["id"]]
        rows.append({"id": f"{n['id']}@date", "question": q["question"], "answer": q["answer"],
                     "as_of": q["question_date"], "question_type": "answerable"})
        rows.append({"id": f"{n['id']}@before", "question": q["question"], "answer": "",
                     "as_of": n["unanswerable_as_of"], "question_type": "news-before"})
    for f in map(json.loads, (DATA / "unanswerable-fictional.jsonl").open(encoding="utf-8")):
        rows.append({"id": f["id"], "question": f["question"], "answer": "", "as_of": latest,
                     "question_type": "fictional"})
    results = _eval(store, rows, work / f"refusal-{name}", jobs)
    refused = {r["id"]: r["scores"]["refusal"]["refused"] for r in results}
    unanswerable = {r["id"]: r["scores"]["refusal"]["unanswerable"] for r in results}
    both = sum(refused[i] and unanswerable[i] for i in refused)
    answerable = [r for r in results if not unanswerable[r["id"]]]
    return {
        "unanswerable": sum(unanswerable.values()),
        "answerable": len(answerable),
        "refused": sum(refused.values()),
        "precision": round(both / max(1, sum(refused.values())), 3),
        "recall": round(both / max(1, sum(unanswerable.values())), 3),
        "recall_news_before": pct([refused[r["id"]] for r in results if r["id"].endswith("@before")]),
        "recall_fictional": pct([refused[r["id"]] for r in results if r["id"].startswith("fiction")]),
        "answerable_refused": pct([refused[r["id"]] for r in answerable]),
        "answerable_gold_in_answer": pct([bool(r["scores"]["answer"]["contains"]) for r in answerable]),
        "curve": _curve(results, unanswerable),
    }


def _curve(results: list[dict[str, Any]], unanswerable: dict[str, bool]) -> list[dict[str, float]]:
    """Refusal precision and recall at each confidence threshold (the operating point's choice)."""
    conf = {r["id"]: (r["answer"] or {}).get("confidence") for r in results}
    points = []
    for t in [x / 20 for x in range(1, 20)]:
        refused = {i for i, c in conf.items() if c is not None and c < t}
        both = sum(unanswerable[i] for i in refused)
        points.append({"threshold": t, "precision": round(both / max(1, len(refused)), 3),
                       "recall": round(both / max(1, sum(unanswerable.values())), 3)})
    return points


def followups(name: str, store: Path, work: Path, jobs: int | None) -> dict[str, Any]:
    pairs = [p for p in map(json.loads, (DATA / "followups.jsonl").open(encoding="utf-8"))
             if p["set"] == name]
    source = {r["id"]: r for r in map(json.loads, SETS[name][0].open(encoding="utf-8"))}
    rows: list[dict[str, Any]] = []
    for p in pairs:
        src = source[p["source"]]
        rows.append({"id": f"{p['id']}-1", "question": p["first"], "as_of": src["question_date"]})
        rows.append({"id": f"{p['id']}-2", "question": p["followup"], "answer": src["answer"],
                     "as_of": src["question_date"], "previous": f"{p['id']}-1"})
    results = _eval(store, rows, work / f"followups-{name}", jobs)
    second = [r for r in results if r["id"].endswith("-2")]
    return {"pairs": len(second),
            "gold_text_in_answer": pct([bool(r["scores"]["answer"]["contains"]) for r in second])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    set_arguments(ap)
    ap.add_argument("--only", default="mc,refusal,followups")
    ap.add_argument("--full", action="store_true", help="all 2,917 questions of 2023-2024, not the sample")
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--name", default="quality")
    ap.add_argument("--resume", action="store_true",
                    help="keep finished answers of an earlier run of the same questions (same code only)")
    args = ap.parse_args()
    RESUME[0] = args.resume
    need_data()
    work = RESULTS / "eval" / args.name
    work.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {}
    for name in args.sets.split(","):
        store = getattr(args, f"store_{name}")
        part: dict[str, Any] = {}
        if "mc" in args.only:
            part["questions"] = multiple_choice(name, store, args.full, work, args.jobs)
        if "refusal" in args.only:
            part["refusal"] = refusals(name, store, work, args.jobs)
        if "followups" in args.only:
            part["followups"] = followups(name, store, work, args.jobs)
        report[name] = part
        print(name, json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "curve"}
                                for k, v in part.items()}, indent=1))
    data = {"full_2324": args.full, "sets": report, "published_2022": PUBLISHED_2022}
    print(f"written to {write_result(args.name, data)}")


if __name__ == "__main__":
    main()
