"""How much of the 2023-2024 tuning sample the share can answer: the share of sampled questions whose
answer text (normalised, on word boundaries) is in an article published by the question's date,
in the whole corpus and in the tuning share (benchmarks/_common.py:tuning_share).

    python benchmarks/share_presence.py
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from _common import CORPORA, QUESTIONS, SAMPLE_2324, need, tuning_share, write_result


def _norm(text: str) -> str:
    return " " + re.sub(r"\s+", " ", re.sub(r"[^a-z0-9 ]", " ", text.lower())).strip() + " "


def main() -> None:
    sample = set(json.loads(SAMPLE_2324.read_text("utf-8")))
    questions = [q for q in map(json.loads, need(QUESTIONS["2023-2024"]).open(encoding="utf-8"))
                 if q["id"] in sample]
    share = {json.loads(line)["id"] for line in
             tuning_share(Path(tempfile.mkdtemp(prefix="assistant-share-"))).open(encoding="utf-8")}
    articles = [(a["id"], (a.get("published_at") or "")[:10],
                 _norm(f"{a.get('title') or ''} {a.get('body') or ''}"))
                for a in map(json.loads, need(CORPORA["2023-2024"]).open(encoding="utf-8"))]
    full = in_share = 0
    for q in questions:
        answer, day = _norm(q["answer"]), q["question_date"][:10]
        hits = [i for i, published, text in articles if published <= day and answer in text]
        full += bool(hits)
        in_share += any(i in share for i in hits)
    result = {"questions": len(questions), "share_articles": len(share),
              "answer_in_corpus_by_date": round(100 * full / len(questions), 1),
              "answer_in_share_by_date": round(100 * in_share / len(questions), 1)}
    print(json.dumps(result))
    print(f"written to {write_result('share-presence', result)}")


if __name__ == "__main__":
    main()
