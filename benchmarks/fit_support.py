"""SUPPORT_MIN measured on real model answers: how much of a claim's content a passage must hold.

Reads `assistant eval` results made against a real model server (each row keeps the model's text
and the passages it was shown), splits the model's text into claims as verification does, and
labels each (claim, passage) pair:
- supported: the claim is copied from the article (a sentence of its passages matches at >= COPIED);
- written by the model: the claim matches no sentence of any passage (< INVENTED); a hand label in
  benchmarks/data/support-labels.jsonl says whether the article states it (`--dump` writes the
  unlabelled ones to label; claims in between are left out);
Then reports, for each threshold, the share of supported pairs that pass and of unsupported ones
that slip through, and of correct claims in other words (hand-written paraphrases of the seed
article, the side this model cannot show: it copies or invents), and chooses the threshold with
the widest gap between paraphrases passing and unsupported claims passing (ties: the lower one).

    python benchmarks/fit_support.py RESULTS.jsonl [RESULTS.jsonl ...] [--dump FILE] [--name support-fit]
    python benchmarks/fit_support.py benchmarks/results/eval/real_llm*/results.jsonl   # after real_llm.py
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from _common import ROOT, write_result

LABELS = ROOT / "benchmarks" / "data" / "support-labels.jsonl"
PARAPHRASES = ROOT / "benchmarks" / "data" / "support-paraphrases.jsonl"  # hand-written, of the seed
SEED = ROOT / "seeds" / "000_e8d20170f0601f30.txt"
COPIED = 0.95  # a claim this close to a passage sentence was copied from it
INVENTED = 0.6  # a claim this far from every passage sentence was written by the model
MIN_WORDS = 4  # shorter claims ("Answer: Belarus") are not claims about the articles
THRESHOLDS = [round(x / 20, 2) for x in range(4, 20)]


def _key(claim: str) -> str:
    return hashlib.sha1(claim.encode("utf-8")).hexdigest()[:16]


def _sentences(text: str) -> list[str]:
    from assistant.text import sentence_spans

    return [text[a:b].strip() for a, b in sentence_spans(text) if text[a:b].strip()]


def _closeness(claim: str, text: str) -> float:
    norm = " ".join(claim.lower().split())
    return max((SequenceMatcher(None, norm, " ".join(s.lower().split())).ratio()
                for s in _sentences(text)), default=0.0)


def pairs(results: list[Path]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(labelled pairs, invented claims with no label yet)."""
    from assistant.answer.citations import check_sentences, support
    from assistant.models import Passage

    labels = {}
    if LABELS.exists():
        labels = {r["key"]: r for r in map(json.loads, LABELS.read_text("utf-8").splitlines()) if r}
    out: list[dict[str, Any]] = []
    todo: dict[str, dict[str, Any]] = {}
    seen: set[tuple[str, str]] = set()  # (claim, article text)
    for path in results:
        for row in map(json.loads, path.read_text("utf-8").splitlines()):
            answer = row.get("answer") or {}
            text = (answer.get("llm") or {}).get("text") or ""
            shown = answer.get("passages") or []
            if not text or not shown:
                continue
            passages = [Passage(n=p["n"], chunk_id=p["chunk_id"], article_id=p["article_id"],
                                title=p["title"], source=p.get("source"), url=p.get("url"),
                                path=p.get("path") or "", published_at=p.get("published_at"),
                                text=p["text"], score=p.get("score") or 0.0)
                        for p in shown]
            checks, _ = check_sentences(text, passages)
            articles: dict[int, str] = {}  # a marker names an article: its passages together
            for p in passages:
                articles[p.n] = f"{articles.get(p.n, '')} {p.text}".strip()
            for c in checks:
                claim = c.claim.strip()
                if not c.factual or len(re.findall(r"[A-Za-z]\w+", claim)) < MIN_WORDS:
                    continue
                close = {n: _closeness(claim, t) for n, t in articles.items()}
                for n, article in articles.items():
                    if (claim, article) in seen:
                        continue
                    seen.add((claim, article))
                    coverage, lacking = support(claim, article)
                    pair = {"claim": claim, "article": n, "coverage": round(coverage, 3),
                            "names_missing": bool(lacking)}
                    if close[n] >= COPIED:
                        out.append({**pair, "supported": True, "how": "copied"})
                    elif max(close.values()) < INVENTED:
                        label = labels.get(_key(claim))
                        if label is None:
                            todo[_key(claim)] = {"key": _key(claim), "claim": claim, "supported": None}
                        else:
                            out.append({**pair, "supported": bool(label["supported"]), "how": "hand label"})
    return out, list(todo.values())


def paraphrase_pairs() -> list[dict[str, Any]]:
    """Correct claims in other words than the article's (written by hand from the seed article):
    the side of the threshold this model cannot show, since it copies or invents."""
    from assistant.answer.citations import support

    article = SEED.read_text("utf-8")
    out = []
    for row in map(json.loads, PARAPHRASES.read_text("utf-8").splitlines()):
        coverage, lacking = support(row["claim"], article)
        out.append({"claim": row["claim"], "coverage": round(coverage, 3), "names_missing": bool(lacking),
                    "supported": True, "how": "paraphrase"})
    return out


def _passes(p: dict[str, Any], t: float) -> bool:
    return p["coverage"] >= t and not p["names_missing"]


def _share(pairs: list[dict[str, Any]], t: float) -> float:
    return round(sum(_passes(p, t) for p in pairs) / max(1, len(pairs)), 3)


def rates(labelled: list[dict[str, Any]], paraphrased: list[dict[str, Any]]) -> list[dict[str, float]]:
    pos = [p for p in labelled if p["supported"]]
    neg = [p for p in labelled if not p["supported"]]
    return [{"threshold": t, "copied_pass": _share(pos, t), "paraphrase_pass": _share(paraphrased, t),
             "unsupported_pass": _share(neg, t)} for t in THRESHOLDS]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+", type=Path)
    ap.add_argument("--dump", type=Path, help="write the invented claims still without a label here")
    ap.add_argument("--name", default="support-fit")
    args = ap.parse_args()
    labelled, todo = pairs(args.results)
    if args.dump:
        args.dump.write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in todo), "utf-8")
        print(f"{len(todo)} claims to label in {args.dump}")
    paraphrased = paraphrase_pairs()
    curve = rates(labelled, paraphrased)
    chosen = max(curve, key=lambda r: (r["paraphrase_pass"] - r["unsupported_pass"], -r["threshold"]))
    report = {"results": [str(p) for p in args.results],
              "pairs": {"supported": sum(p["supported"] for p in labelled),
                        "unsupported": sum(not p["supported"] for p in labelled)},
              "paraphrases": len(paraphrased), "unlabelled_claims": len(todo), "chosen": chosen,
              "curve": curve}
    print(json.dumps({k: v for k, v in report.items() if k != "curve"}, indent=1))
    for r in curve:
        print(r)
    print(f"wrote {write_result(args.name, report)}")


if __name__ == "__main__":
    main()
