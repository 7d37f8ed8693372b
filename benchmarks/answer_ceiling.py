"""How much answer-text recall retrieval could reach: the share of questions whose normalised gold
answer occurs (on word boundaries, as `assistant eval` counts it) in some article of the corpus
published by the question's date, per question type, on the 2022 dev set and the 2023-2024 sample.

Answer-text recall@5 (benchmarks/retrieval.py, benchmarks/quality.py) counts the same match in the
five passages shown; this is its ceiling for each set. Needs no store: it reads the corpora.

    python benchmarks/answer_ceiling.py [--sets 2022,2324] [--full] [--name answer-ceiling]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from _common import SETS, need_data, pct, write_result
from retrieval import _questions

from assistant.eval.metrics import normalize_answer


def _articles(corpus: Path) -> tuple[list[tuple[str, str]], dict[str, set[int]]]:
    """(published day, normalised title and body) of each article, and word -> articles."""
    articles: list[tuple[str, str]] = []
    index: dict[str, set[int]] = defaultdict(set)
    with corpus.open(encoding="utf-8") as lines:
        for i, line in enumerate(lines):
            row = json.loads(line)
            text = normalize_answer(f"{row.get('title') or ''} {row.get('body') or row.get('text') or ''}")
            articles.append((str(row.get("published_at") or "")[:10], f" {text} "))
            for word in set(text.split()):
                index[word].add(i)
    return articles, index


def ceiling(rows: list[dict[str, Any]], corpus: Path) -> dict[str, Any]:
    articles, index = _articles(corpus)
    by_date: list[bool] = []
    by_type: dict[str, list[bool]] = defaultdict(list)
    anywhere: list[bool] = []
    for r in rows:
        gold = normalize_answer(r["answer"])
        words = gold.split()
        holders = set.intersection(*(index.get(w, set()) for w in words)) if words else set()
        holders = {i for i in holders if f" {gold} " in articles[i][1]}
        day = str(r["question_date"]).replace("/", "-")[:10]
        found = any(articles[i][0] and articles[i][0] <= day for i in holders)
        by_date.append(found)
        anywhere.append(bool(holders))
        by_type[r.get("question_type") or "-"].append(found)
    return {"questions": len(rows), "in_an_article_by_its_date": pct(by_date),
            "in_an_article_any_date": pct(anywhere),
            "by_type": {t: {"n": len(v), "by_its_date": pct(v)} for t, v in sorted(by_type.items())}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="2022,2324")
    ap.add_argument("--full", action="store_true", help="all 2,917 questions of 2023-2024, not the sample")
    ap.add_argument("--name", default="answer-ceiling")
    args = ap.parse_args()
    need_data()
    out: dict[str, Any] = {"full_2324": args.full, "sets": {}}
    for name in args.sets.split(","):
        out["sets"][name] = ceiling(_questions(name, args.full), SETS[name][1])
        print(name, json.dumps(out["sets"][name]), flush=True)
    print(f"written to {write_result(args.name, out)}")


if __name__ == "__main__":
    main()
