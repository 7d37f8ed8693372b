"""How far the two rankers can carry answer-text recall@5, on 2022 dev and the 2023-2024 sample.

For each question, as of its date: the rank of the best answer-bearing chunk (the normalised gold
answer on word boundaries, as `assistant eval` counts it) in the *whole* dense ranking and the whole
BM25 ranking of the chunks published by that date. "either@k" is the share of questions with an
answer-bearing chunk in the top k of one of them: a re-ranker that shows the answer for more than
either@5 of the questions must lift it from further down these rankings (a perfect one, given the
top 40 of both, would reach either@40). Beside it, what the product shows (fused recall@5) and
three query-side variants measured on the same questions:

- choices: each choice's own search ("question + choice", dense and BM25) fused in beside the
  question's lists (RRF weight 1). Its control: how often a *wrong* choice's text is in the top 5
  (mean over the wrong choices); a gain that the wrong choices share is inclusion, not evidence;
- feedback: pseudo-relevance feedback, the dense query moved towards its 5 best chunks (Rocchio,
  0.5) and BM25's query given the 5 words most shared by the best 10 chunks of both lists.

    python benchmarks/retrieval_bound.py [--sets 2022,2324] [--store-2022 DIR] [--store-2324 DIR]
        [--name retrieval-bound]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from _common import need_data, pct, set_arguments, write_result
from retrieval import _questions

KS = (5, 20, 40, 100, 300, 1000)
ROCCHIO = 0.5  # weight of the best chunks' centroid added to the question's vector
FEEDBACK_CHUNKS = 5  # best dense chunks averaged by Rocchio
FEEDBACK_POOL = 10  # best chunks of each list the expansion words are counted in
FEEDBACK_WORDS = 5  # words added to BM25's query (each in >= 2 of the pooled chunks)


def _as_of(r: dict[str, Any]) -> dt.date:
    return dt.date.fromisoformat(r["question_date"].replace("/", "-")[:10])


def _best_rank(scores: np.ndarray, allowed: np.ndarray, bearing: np.ndarray) -> int | None:
    """0-based rank, among the allowed chunks, of the best-scored answer-bearing one."""
    hit = bearing & allowed
    if not hit.any():
        return None
    best = scores[hit].max()
    return int(((scores > best) & allowed).sum())


def _feedback_words(app: Any, lex: Any, question: str, lists: list[list[str]]) -> list[str]:
    pool = list(dict.fromkeys(c for ranked in lists for c in ranked[:FEEDBACK_POOL]))
    rows = app.manifest.chunk_rows(pool)
    asked = set(lex.terms(question))
    seen: Counter[str] = Counter()
    for cid in pool:
        seen.update(set(lex.terms(rows[cid]["text"])) if cid in rows else set())
    idf = lex.idf(list(seen))
    words = [w for w in seen if w not in asked and seen[w] >= 2]
    return sorted(words, key=lambda w: (-seen[w] * idf[w], w))[:FEEDBACK_WORDS]


def measure(store: Path, rows: list[dict[str, Any]]) -> dict[str, Any]:
    from assistant.app import build_app
    from assistant.config import load_settings
    from assistant.dates import day_number
    from assistant.eval.metrics import contains, normalize_answer
    from assistant.retrieve.hybrid import CANDIDATES, Query, lexical_hits, rank
    from assistant.retrieve.recency import PREFERENCES

    app = build_app(load_settings({"store": str(store)}))
    ret = app.retriever
    vec_index, lex = ret.vectors(), ret.lexical()
    norm: dict[str, str] = {}
    for batch in app.manifest.iter_chunks():
        for cid, _aid, text, *_ in batch:
            norm[cid] = f" {normalize_answer(text)} "
    texts = [norm[c] for c in vec_index.ids]
    row_of = {c: i for i, c in enumerate(vec_index.ids)}
    lex_pos = np.array([row_of[c] for c in lex.ids]) if lex.ids != vec_index.ids else None
    ranks: dict[str, list[int | None]] = {"dense": [], "bm25": []}
    shown: dict[str, list[bool]] = {k: [] for k in ("question", "choices", "feedback")}
    wrong: dict[str, list[float]] = {"question": [], "choices": []}
    for r in rows:
        as_of = _as_of(r)
        hi = day_number(as_of.isoformat())
        gold = f" {normalize_answer(r['answer'])} "
        bearing = np.fromiter((gold in t for t in texts), bool, len(texts))
        q = Query(r["question"], top_k=5, as_of=as_of)
        found = ret.gather(q)
        dense_ok = (vec_index.days <= hi) & (vec_index.days >= 0)
        ranks["dense"].append(_best_rank(vec_index.scores(found.vector), dense_ok, bearing))
        lex_ok = (lex.days <= hi) & (lex.days >= 0)
        lex_bearing = bearing[lex_pos] if lex_pos is not None else bearing
        ranks["bm25"].append(_best_rank(lex.scores(r["question"]), lex_ok, lex_bearing))

        def shows(passages: list[Any], answer: str) -> bool:
            return any(contains(p.text, [answer]) for p in passages)

        pref = PREFERENCES[found.cue.kind]
        plain = rank(found, pref, 5)
        shown["question"].append(shows(plain, r["answer"]))
        others = [c for i, c in enumerate(r["choices"] or []) if i != r.get("answer_index")]
        if others:
            wrong["question"].append(float(np.mean([shows(plain, c) for c in others])))
        if r.get("choices"):
            extra = []
            for c in r["choices"]:
                text = f"{r['question']} {c}"
                extra.append(vec_index.top(app.embedder.embed_query(text), None, hi, None, CANDIDATES))
                extra.append(lexical_hits(lex, text, None, hi, None, CANDIDATES))
            with_choices = _regather(ret, found, found.base + extra, found.windowed)
            picked = rank(with_choices, pref, 5)
            shown["choices"].append(shows(picked, r["answer"]))
            wrong["choices"].append(float(np.mean([shows(picked, c) for c in others])) if others else 0.0)
        centroid = vec_index.matrix[[row_of[c] for c in found.base[0][:FEEDBACK_CHUNKS]]].mean(axis=0)
        moved = found.vector + ROCCHIO * centroid
        moved = moved / np.linalg.norm(moved)
        words = _feedback_words(app, lex, r["question"], found.base)
        lists = [vec_index.top(moved, None, hi, None, CANDIDATES),
                 lexical_hits(lex, " ".join([r["question"], *words]), None, hi, None, CANDIDATES)]
        shown["feedback"].append(shows(rank(_regather(ret, found, lists, found.windowed),
                                            pref, 5), r["answer"]))
    n = len(rows)
    curve = {f"{label}@{k}": round(100 * sum(x is not None and x < k for x in ranks[label]) / n, 1)
             for label in ("dense", "bm25") for k in KS}
    curve.update({f"either@{k}": round(100 * sum(any(ranks[lab][i] is not None and ranks[lab][i] < k
                                                      for lab in ranks) for i in range(n)) / n, 1)
                  for k in KS})
    wrong_share = {k: round(100 * float(np.mean(v)), 1) for k, v in wrong.items()}
    return {
        "questions": n,
        "ceiling: answer text in a chunk by the question's date":
            pct([x is not None for x in ranks["dense"]]),
        "best answer-bearing chunk in the top k of the whole ranking": curve,
        "recall@5 shown: question only (the product)": pct(shown["question"]),
        "recall@5 shown: with each choice's search": pct(shown["choices"]),
        "recall@5 shown: with feedback": pct(shown["feedback"]),
        "wrong choice's text in the top 5: question only": wrong_share["question"],
        "wrong choice's text in the top 5: with each choice's search": wrong_share["choices"],
    }


def _regather(ret: Any, found: Any, base: list[list[str]], windowed: list[list[str]]) -> Any:
    """The same question with other candidate lists (their rows read from the manifest)."""
    rows = dict(found.rows)
    missing = {c for ranked in base + windowed for c in ranked} - rows.keys()
    rows.update(ret.manifest.chunk_rows(list(missing)))
    from assistant.retrieve.hybrid import Gathered

    return Gathered(base, windowed, found.cue, found.vector, rows, found.ref_day, {})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    set_arguments(ap)
    ap.add_argument("--name", default="retrieval-bound")
    args = ap.parse_args()
    need_data()
    report: dict[str, Any] = {}
    for name in args.sets.split(","):
        start = time.perf_counter()
        report[name] = measure(getattr(args, f"store_{name}"), _questions(name, full=False))
        report[name]["seconds"] = round(time.perf_counter() - start, 1)
        print(name, report[name], flush=True)
    write_result(args.name, report)


if __name__ == "__main__":
    main()
