"""Build the question sets the quality benchmark needs, from ../shared/data (never copying text):

- For every RealTime QA question (2022 dev and 2023-2024): the first day an article of its corpus
  holds the gold answer text (normalised as SQuAD does). A question whose answer first appears
  at most RECENT_DAYS before its question date is news: asked the day before that first
  appearance it is unanswerable from the corpus (the answer is in no earlier article), and asked
  at its own date it is answerable. Only ids and dates are written: benchmarks/data/news-<set>.jsonl.
- The fictional questions of benchmarks/data/unanswerable-fictional.jsonl (hand-written) are
  checked: none of their distinctive names may occur in either corpus.
- The 600-question tuning sample of 2023-2024 (fixed seed): benchmarks/data/sample-2324.json.

    python benchmarks/build_sets.py
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import sys
from collections import defaultdict
from pathlib import Path

from _common import ROOT, SETS, need_data

_NON_WORD = re.compile(r"[^\w]+")


def normalize_answer(text: str) -> str:
    """Lower case, punctuation as spaces, single spaces (fast enough for 22 million words)."""
    return " ".join(_NON_WORD.sub(" ", text.lower().replace("’", "'").replace("'", "")).split())

DATA_OUT = ROOT / "benchmarks" / "data"
RECENT_DAYS = 365  # the answer first appears in the corpus at most this long before the quiz
SAMPLE = 600  # tuning sample of the 2023-2024 questions
SAMPLE_SEED = 20231


def _articles(corpus: Path) -> tuple[list[str], list[dt.date | None]]:
    texts: list[str] = []
    days: list[dt.date | None] = []
    with corpus.open(encoding="utf-8") as fh:
        for line in fh:
            obj = json.loads(line)
            texts.append(f" {normalize_answer((obj.get('title') or '') + ' ' + (obj.get('body') or ''))} ")
            try:
                days.append(dt.date.fromisoformat(str(obj.get("published_at"))[:10]))
            except ValueError:
                days.append(None)
    return texts, days


def _word_index(texts: list[str]) -> dict[str, set[int]]:
    index: dict[str, set[int]] = defaultdict(set)
    for i, text in enumerate(texts):
        for word in set(text.split()):
            index[word].add(i)
    return index


def first_seen(answer: str, texts: list[str], days: list[dt.date | None],
               index: dict[str, set[int]]) -> dt.date | None:
    """The earliest publication day of an article holding the normalised answer text."""
    norm = normalize_answer(answer)
    tokens = norm.split()
    if not tokens:
        return None
    candidates = set.intersection(*(index.get(t, set()) for t in tokens))
    found = [days[i] for i in candidates if days[i] is not None and f" {norm} " in texts[i]]
    return min(found) if found else None  # type: ignore[type-var]


def news_rows(questions: Path, corpus: Path) -> list[dict[str, str]]:
    texts, days = _articles(corpus)
    index = _word_index(texts)
    rows = []
    for line in questions.open(encoding="utf-8"):
        q = json.loads(line)
        asked = dt.date.fromisoformat(q["question_date"].replace("/", "-"))
        seen = first_seen(q["answer"], texts, days, index)
        if seen is None or seen > asked or (asked - seen).days > RECENT_DAYS:
            continue
        rows.append({"id": q["id"], "first_seen": seen.isoformat(),
                     "unanswerable_as_of": (seen - dt.timedelta(days=1)).isoformat()})
    return rows


def check_fictional(corpora: list[Path]) -> None:
    path = DATA_OUT / "unanswerable-fictional.jsonl"
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    common = {"the", "of", "lake", "bay", "mount", "island", "port", "falls", "valley", "uplands",
              "labs", "motors", "bank", "party", "cup", "open", "chess", "film", "festival", "rail",
              "foods", "mining", "airlines", "accord", "institute", "marine", "study", "symphony",
              "pharmaceuticals", "workers", "reach", "novo", "summit", "river", "rights", "ferry",
              "collision", "dam", "failure", "bridge", "collapse", "wildfire", "snap", "election",
              "water", "strike", "tram", "derailment", "blackout", "marathon", "on", "cobalt"}
    names = {normalize_answer(n) for r in rows for n in r["names"]}  # full names, and their
    names |= {normalize_answer(n).split()[-1] for r in rows for n in r["names"]  # distinctive last
              if normalize_answer(n).split()[-1] not in common}  # words (first names are common)
    hits: dict[str, int] = defaultdict(int)
    for corpus in corpora:
        for line in corpus.open(encoding="utf-8"):
            obj = json.loads(line)
            text = f" {normalize_answer((obj.get('title') or '') + ' ' + (obj.get('body') or ''))} "
            for name in names:
                if f" {normalize_answer(name)} " in text:
                    hits[name] += 1
    if hits:
        sys.exit(f"fictional names found in the corpora: {dict(hits)}")
    bad = [r["id"] for r in rows if not any(re.search(re.escape(n), r["question"], re.I)
                                            for n in r["names"])]
    if bad:
        sys.exit(f"fictional questions that do not name their fictional names: {bad}")
    print(f"{len(rows)} fictional questions, {len(names)} names: none in the corpora")


def main() -> None:
    need_data()
    DATA_OUT.mkdir(parents=True, exist_ok=True)
    for name, (questions, corpus) in SETS.items():
        rows = news_rows(questions, corpus)
        out = DATA_OUT / f"news-{name}.jsonl"
        out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        print(f"{name}: {len(rows)} news questions -> {out.relative_to(ROOT)}")
    ids = [json.loads(line)["id"] for line in SETS["2324"][0].open(encoding="utf-8")]
    sample = sorted(random.Random(SAMPLE_SEED).sample(ids, SAMPLE))
    (DATA_OUT / "sample-2324.json").write_text(json.dumps(sample) + "\n", encoding="utf-8")
    check_fictional([corpus for _, corpus in SETS.values()])


if __name__ == "__main__":
    main()
