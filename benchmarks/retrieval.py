"""Retrieval on the 2022 dev set and the 2023-2024 questions, each question as of its date:
answer-text recall@5 (the gold answer in the top 5 passages; needs no gold ids), per question type,
and gold-article hit@1/hit@5/MRR where gold ids exist (2022).

Each question is searched once (dense and BM25, over everything up to its date and inside its
time window); the date preferences are then applied to the same candidates, so a grid of them
costs seconds. `--fit` picks, for each kind of time cue, the preference with the best recall on
the 2023-2024 questions, and reports it on 2022 beside the current one.

    python benchmarks/retrieval.py [--sets 2022,2324] [--full] [--fit] [--name retrieval]
        [--store-2022 DIR] [--store-2324 DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import itertools
import json
import time
from pathlib import Path
from typing import Any

from _common import ROOT, SETS, need_data, pct, set_arguments, write_result

DATA = ROOT / "benchmarks" / "data"
GRID = {  # candidate preferences searched by --fit, for each kind of cue
    "window_weight": [0.0, 0.5, 1.0, 1.5],
    "recency_weight": [0.0, 0.002, 0.005, 0.01],
    "half_life_days": [7.0, 30.0, 180.0],
}


def _questions(name: str, full: bool) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in SETS[name][0].open(encoding="utf-8")]
    if name == "2324" and not full:
        keep = set(json.loads((DATA / "sample-2324.json").read_text()))
        rows = [r for r in rows if r["id"] in keep]
    return rows


def gather_all(store: Path, rows: list[dict[str, Any]], mode: str = "hybrid") -> list[Any]:
    from assistant.app import build_app
    from assistant.config import load_settings
    from assistant.retrieve.hybrid import Query

    app = build_app(load_settings({"store": str(store)}))
    out = []
    for r in rows:
        as_of = dt.date.fromisoformat(r["question_date"].replace("/", "-")[:10])
        out.append(app.retriever.gather(Query(r["question"], top_k=5, as_of=as_of, mode=mode)))
    return out


def score(rows: list[dict[str, Any]], found: list[Any], prefs: dict[str, Any],
          diverse: bool = True) -> dict[str, Any]:
    from assistant.eval.metrics import contains
    from assistant.retrieve.hybrid import rank

    recall: list[bool] = []
    by_type: dict[str, list[bool]] = {}
    hits1, hits5, rr, gold_n = 0, 0, 0.0, 0
    for r, g in zip(rows, found, strict=True):
        passages = rank(g, prefs[g.cue.kind], 5, diverse)
        hit = any(contains(p.text, [r["answer"]]) for p in passages)
        recall.append(hit)
        by_type.setdefault(r.get("question_type") or "-", []).append(hit)
        if r.get("gold_doc_ids"):
            gold_n += 1
            ranks = [i for i, p in enumerate(passages) if p.article_id in set(r["gold_doc_ids"])]
            hits1 += bool(ranks and ranks[0] == 0)
            hits5 += bool(ranks)
            rr += 1 / (ranks[0] + 1) if ranks else 0.0
    by_kind = {t: pct(v) for t, v in sorted(by_type.items())}
    out: dict[str, Any] = {"answer_recall@5": pct(recall), "by_type": by_kind}
    if gold_n:
        out.update({"gold_hit@1": round(hits1 / gold_n, 3), "gold_hit@5": round(hits5 / gold_n, 3),
                    "gold_mrr": round(rr / gold_n, 3)})
    return out


def fit(rows: list[dict[str, Any]], found: list[Any], start: dict[str, Any]) -> dict[str, Any]:
    """Per cue kind, the grid point with the best recall on these questions (the others held)."""
    from assistant.retrieve.recency import DatePreference

    best = dict(start)
    for kind in ("none", "relative", "named"):
        subset = [(r, g) for r, g in zip(rows, found, strict=True) if g.cue.kind == kind]
        if not subset:
            continue
        sub_rows, sub_found = [s[0] for s in subset], [s[1] for s in subset]
        scored = []
        for w, rw, hl in itertools.product(*GRID.values()):
            pref = dict(best, **{kind: DatePreference(w, rw, hl)})
            scored.append((score(sub_rows, sub_found, pref)["answer_recall@5"], -rw, -abs(w - 1), w, rw, hl))
        top = max(scored)
        best[kind] = DatePreference(top[3], top[4], top[5])
        print(f"fit {kind}: {len(subset)} questions, recall@5 {top[0]} with {best[kind]}")
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    set_arguments(ap)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--fit", action="store_true")
    ap.add_argument("--name", default="retrieval")
    args = ap.parse_args()
    need_data()
    from assistant.retrieve.recency import PREFERENCES, DatePreference

    names = args.sets.split(",")
    rows = {n: _questions(n, args.full) for n in names}
    found = {}
    for n in names:
        start = time.perf_counter()
        found[n] = gather_all(getattr(args, f"store_{n}"), rows[n])
        print(f"{n}: gathered {len(rows[n])} questions in {time.perf_counter() - start:.0f} s")
    no_dates = {k: DatePreference(0.0, 0.0, 30.0) for k in PREFERENCES}
    variants: dict[str, dict[str, Any]] = {"relevance only (as-of cut-off)": no_dates,
                                           "current preferences": dict(PREFERENCES)}
    if args.fit and "2324" in found:
        variants["fitted on 2023-2024"] = fit(rows["2324"], found["2324"], dict(PREFERENCES))
    report: dict[str, Any] = {}
    for label, prefs in variants.items():
        report[label] = {n: score(rows[n], found[n], prefs) for n in names}
        report[label]["preferences"] = {k: dataclasses.asdict(v) for k, v in prefs.items()}
        print(label, json.dumps({n: {k: v for k, v in report[label][n].items() if k != "by_type"}
                                 for n in names}))
    cues = {n: {k: sum(g.cue.kind == k for g in found[n]) for k in PREFERENCES} for n in names}
    write_result(args.name, {"full_2324": args.full, "questions": {n: len(rows[n]) for n in names},
                             "cues": cues, "variants": report})


if __name__ == "__main__":
    main()
