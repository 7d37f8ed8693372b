"""Training pairs for the reader (a cross-encoder: does this passage answer this question?), built
only from what the project may train on: the 2023 questions of the 2023-2024 set and
self-supervised pairs from both shared corpora. Never the 2022 dev questions, never the 2024
questions (those stay for reporting).

    python benchmarks/reader_data.py --store-2324 DIR --out DIR [--self-per-corpus 6000] [--seed 13]

Writes DIR/pairs.jsonl ({"q", "p", "label", "kind", "split", "qid"}) and DIR/make-up.json (the
counts that go into the model card). DIR must be outside the repository: the pairs quote
publishers' texts.

- `quiz` pairs: each 2023 question, as of its date, through the retriever's own candidate gathering
  over the whole 2023-2024 store (dense + BM25, ~100 chunks). Chunks are cut into windows of two
  sentences. A window holding the answer text is a positive (up to POS_PER_Q, the one closest to
  the quiz's `evidence` fact first); windows of candidates that hold the answer nowhere are
  negatives: HARD_PER_Q from the best-ranked candidates, WRONG_PER_Q holding a wrong choice's text,
  RANDOM_PER_Q from the rest. Windows of answer-bearing chunks that lack the answer are left out.
- `self` pairs: an article's headline against a window of its own body (not its first sentence,
  which often repeats the headline) and against windows of the articles BM25 ranks highest for that
  headline (hard negatives, other articles).
- split: the last HELD_OUT_SHARE of 2023 questions by date, and the same share of `self` articles,
  are `dev` (early stopping); the rest `train`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from _common import CORPORA, QUESTIONS, ROOT, need

POS_PER_Q = 2  # positives per question: most questions have one or two answer-bearing windows
HARD_PER_Q = 4  # negatives from the best-ranked candidates: what the reader must out-rank
WRONG_PER_Q = 2  # negatives that hold a wrong choice's text: the multiple-choice confusions
RANDOM_PER_Q = 1  # negatives from anywhere in the candidates: keeps the easy cases calibrated
SELF_NEG = 2  # BM25 negatives per headline
HELD_OUT_SHARE = 0.1  # for early stopping, never trained on
WINDOW_SENTENCES = 2
WINDOW_MAX_WORDS = 70  # ~96 word pieces with the question: what the reader reads at question time


def norm(text: str) -> str:
    """Lower-cased, quotes and dashes straightened, single spaces (for answer-text containment)."""
    text = text.translate(str.maketrans({"“": '"', "”": '"', "’": "'", "‘": "'", "–": "-", "—": "-"}))
    return " ".join(re.sub(r"[^\w$%'.,-]+", " ", text.lower()).split())


def windows(text: str) -> list[str]:
    """Windows of WINDOW_SENTENCES sentences (overlapping by one), cut to WINDOW_MAX_WORDS words."""
    sys.path.insert(0, str(ROOT))
    from assistant.text import sentence_spans

    sents = [text[a:b] for a, b in sentence_spans(text) if b - a >= 20]
    out = []
    for i in range(max(1, len(sents) - WINDOW_SENTENCES + 1)):
        words = " ".join(sents[i:i + WINDOW_SENTENCES]).split()
        if len(words) >= 8:
            out.append(" ".join(words[:WINDOW_MAX_WORDS]))
    return out


def _overlap(a: str, b: str) -> int:
    return len(set(norm(a).split()) & set(norm(b).split()))


def quiz_pairs(store: Path, rng: random.Random) -> list[dict[str, Any]]:
    """Pairs from the 2023 questions over the whole 2023-2024 store (see the module docstring)."""
    sys.path.insert(0, str(ROOT))
    from assistant.app import build_app
    from assistant.config import load_settings
    from assistant.retrieve.hybrid import Query

    rows = [json.loads(line) for line in need(QUESTIONS["2023-2024"]).open(encoding="utf-8")]
    rows = sorted((r for r in rows if r["question_date"].startswith("2023")),
                  key=lambda r: (r["question_date"], r["id"]))
    dev_from = int(len(rows) * (1 - HELD_OUT_SHARE))
    app = build_app(load_settings({"store": str(store)}))
    out: list[dict[str, Any]] = []
    try:
        for i, r in enumerate(rows):
            asked = Query(r["question"], as_of=dt.date.fromisoformat(r["question_date"]))
            found = app.retriever.gather(asked)
            ranked = list(dict.fromkeys(c for lst in found.base + found.windowed for c in lst))
            split = "dev" if i >= dev_from else "train"
            out += _question_pairs(r, ranked, found.rows, split, rng)
            if i % 100 == 0:
                print(f"quiz {i}/{len(rows)}: {len(out)} pairs", flush=True)
    finally:
        app.close()
    return out


def _question_pairs(r: dict[str, Any], ranked: list[str], rows: dict[str, dict[str, Any]],
                    split: str, rng: random.Random) -> list[dict[str, Any]]:
    answer = norm(r["answer"])
    wrong = [norm(c) for i, c in enumerate(r["choices"]) if i != r["answer_index"] and norm(c)]
    fact = " ".join(e.get("fact", "") for e in r.get("evidence") or [])
    pos: list[str] = []
    hard: list[str] = []
    confusing: list[str] = []
    rest: list[str] = []
    for cid in ranked:
        text = (rows.get(cid) or {}).get("text") or ""
        if not text or not answer:
            continue
        wins = windows(text)
        if answer in norm(text):
            pos += [w for w in wins if answer in norm(w)]
            continue
        for w in wins:
            nw = norm(w)
            if any(c in nw for c in wrong if len(c) > 2):
                confusing.append(w)
            elif len(hard) < HARD_PER_Q * 3:
                hard.append(w)
            else:
                rest.append(w)
    if not pos:
        return []
    pos = sorted(dict.fromkeys(pos), key=lambda w: -_overlap(w, fact))[:POS_PER_Q]
    negs = (hard[:HARD_PER_Q] + rng.sample(confusing, min(WRONG_PER_Q, len(confusing)))
            + rng.sample(rest, min(RANDOM_PER_Q, len(rest))))
    base = {"q": r["question"], "qid": r["id"], "kind": "quiz", "split": split}
    return ([{**base, "p": w, "label": 1} for w in pos]
            + [{**base, "p": w, "label": 0} for w in dict.fromkeys(negs)])


def self_pairs(corpus: Path, n: int, rng: random.Random, name: str) -> list[dict[str, Any]]:
    """Headline -> own-article window (1) and BM25-ranked other articles' windows (0)."""
    import bm25s
    import Stemmer

    arts = [json.loads(line) for line in need(corpus).open(encoding="utf-8")]
    arts = [a for a in arts if a.get("title") and len((a.get("body") or "").split()) > 80]
    stemmer = Stemmer.Stemmer("english")
    index = bm25s.BM25()
    index.index(bm25s.tokenize([a["body"][:4000] for a in arts], stopwords="en", stemmer=stemmer,
                               show_progress=False), show_progress=False)
    picked = rng.sample(range(len(arts)), min(n, len(arts)))
    dev_from = int(len(picked) * (1 - HELD_OUT_SHARE))
    out: list[dict[str, Any]] = []
    for j, i in enumerate(picked):
        a = arts[i]
        title = re.sub(r"\s*[-|–]\s*(CNN|USA TODAY|The Week)\s*$", "", a["title"]).strip()
        own = windows(a["body"])[1:]  # not the lead, which often repeats the headline
        if len(title.split()) < 4 or not own:
            continue
        hits, _ = index.retrieve(bm25s.tokenize([title], stopwords="en", stemmer=stemmer,
                                                show_progress=False), k=SELF_NEG + 3,
                                 show_progress=False)
        others = [int(h) for h in hits[0] if int(h) != i][:SELF_NEG]
        base = {"q": title, "qid": f"{name}:{a['id']}", "kind": "self",
                "split": "dev" if j >= dev_from else "train"}
        out.append({**base, "p": rng.choice(own), "label": 1})
        for k in others:
            wins = windows(arts[k]["body"])
            if wins:
                out.append({**base, "p": rng.choice(wins[: 6]), "label": 0})
    print(f"self {name}: {len(out)} pairs", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store-2324", type=Path, required=True, help="a store of the whole 2023-2024 corpus")
    ap.add_argument("--out", type=Path, required=True, help="a folder outside the repository")
    ap.add_argument("--self-per-corpus", type=int, default=6000)
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    if args.out.resolve().is_relative_to(ROOT):
        raise SystemExit("--out must be outside the repository: the pairs quote publishers' texts")
    rng = random.Random(args.seed)
    pairs = quiz_pairs(args.store_2324, rng)
    pairs += self_pairs(CORPORA["2022"], args.self_per_corpus, rng, "2022")
    pairs += self_pairs(CORPORA["2023-2024"], args.self_per_corpus, rng, "2324")
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "pairs.jsonl").open("w", encoding="utf-8") as fh:
        for p in pairs:
            fh.write(json.dumps(p, ensure_ascii=False) + "\n")
    makeup = Counter(f"{p['kind']}/{p['split']}/{p['label']}" for p in pairs)
    quiz_q = {p["qid"] for p in pairs if p["kind"] == "quiz"}
    summary = {"pairs": len(pairs), "by_kind_split_label": dict(sorted(makeup.items())),
               "quiz_questions_with_a_positive": len(quiz_q), "seed": args.seed,
               "weights": {"POS_PER_Q": POS_PER_Q, "HARD_PER_Q": HARD_PER_Q, "WRONG_PER_Q": WRONG_PER_Q,
                           "RANDOM_PER_Q": RANDOM_PER_Q, "SELF_NEG": SELF_NEG,
                           "HELD_OUT_SHARE": HELD_OUT_SHARE}}
    (args.out / "make-up.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
