"""What embedding fewer evidence sentences saves on a question's first pass: the same questions in one
process, each round with an empty embedding cache, alternating every sentence of the passages with
each passage's SENTENCES_EMBEDDED_PER_PASSAGE best by wording (assistant/answer/offline/weights.py).

    python benchmarks/first_pass.py --store DIR --questions 2023-2024 --n 60

A first round (not counted) fills the parse cache, so the rounds differ only in what they embed; the
figures are plain questions as of their dates, offline.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import QUESTIONS, load_average, need, percentile, write_result

ALL = 10_000  # "every sentence": more than a passage ever holds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--questions", choices=sorted(QUESTIONS), default="2023-2024")
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=2, help="rounds of each setting, alternating")
    ap.add_argument("--name", default="first-pass")
    args = ap.parse_args()

    import assistant.answer.offline.extractive as extractive
    from assistant.app import build_app
    from assistant.config import load_settings
    from assistant.embed.cache import CachedEmbedder, EmbedCache
    from assistant.qa import AskOptions, ask

    rows = [json.loads(line) for line in need(QUESTIONS[args.questions]).open(encoding="utf-8")]
    rows = rows[7 :: max(1, len(rows) // args.n)][: args.n]
    app = build_app(load_settings({"store": str(args.store), "no_llm": True}))
    embedder = app.embedder
    assert isinstance(embedder, CachedEmbedder)
    kept = extractive.SENTENCES_EMBEDDED_PER_PASSAGE
    work = Path(tempfile.mkdtemp(prefix="first-pass-"))

    def one_round(per_passage: int, label: str) -> dict[str, Any]:
        extractive.SENTENCES_EMBEDDED_PER_PASSAGE = per_passage
        embedder.cache = EmbedCache(work / f"{label}.sqlite3")  # nothing embedded yet
        calls, times = embedder.calls, []
        for r in rows:
            day = dt.date.fromisoformat(r["question_date"].replace("/", "-")[:10])
            t0 = time.perf_counter()
            ask(app, r["question"], AskOptions(as_of=day, check_stale=False))
            times.append((time.perf_counter() - t0) * 1000)
        return {"p50_ms": round(statistics.median(times), 1), "p95_ms": percentile(times, 0.95),
                "texts_embedded_per_question": round((embedder.calls - calls) / len(rows), 1)}

    one_round(ALL, "fill-parse-cache")
    out: dict[str, list[dict[str, Any]]] = {"every sentence": [], f"best {kept} per passage": []}
    for i in range(args.rounds):
        for per_passage, label in ((ALL, "every sentence"), (kept, f"best {kept} per passage")):
            got = one_round(per_passage, f"{i}-{per_passage}")
            out[label].append(got)
            print(label, got, flush=True)
    extractive.SENTENCES_EMBEDDED_PER_PASSAGE = kept
    path = write_result(args.name, {"store": str(args.store), "questions": args.questions,
                                    "n": len(rows), "rounds": out, "load_average": load_average()})
    print("written to", path)


if __name__ == "__main__":
    main()
