"""Fit the offline answerer's confidence (a logistic model over its evidence signals) on the
2023-2024 runs of benchmarks/quality.py, choose the refusal threshold there, and check both on 2022.

Examples: the questions of the refusal runs (each news question as of its date, the same question
as of the day before its news first appeared, and the fictional questions), with their `signals`;
the model predicts what the refusal decides: answerable or not (`--target answerable`, the
default). `--target evidence` instead predicts "answerable and the gold text is in the top
passages" over every run (multiple choice too): it calls an answerable question whose retrieval
missed unanswerable, and on 2023-2024, where retrieval misses often, its refusals fell to
precision 0.29. The threshold is the confidence below which refusals keep the precision target on
2023-2024 with the most recall.

    python benchmarks/quality.py --only mc,refusal --name quality-signals   # collects the signals
    python benchmarks/fit_confidence.py --runs quality-signals [--precision 0.9]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from _common import RESULTS, write_result

L2 = 0.01  # a little shrinkage keeps weights of rare signals finite


def examples(folder: Path, target: str) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(signal names, X, y, unanswerable flags) of one set's runs."""
    names: list[str] = []
    xs, ys, unans = [], [], []
    runs = "refusal-*" if target == "answerable" else "*"
    for results in sorted(folder.glob(f"{runs}/results.jsonl")):
        for rec in map(json.loads, results.open(encoding="utf-8")):
            ans = rec.get("answer") or {}
            sig = ans.get("signals")
            if not sig:
                continue
            names = names or sorted(sig)
            scores = rec["scores"]
            unanswerable = bool(scores["refusal"]["unanswerable"])
            present = bool(scores.get("answer_recall") and scores["answer_recall"]["hit@k"])
            xs.append([sig.get(n, 0.0) for n in names])
            ys.append(0.0 if unanswerable else 1.0 if target == "answerable" else float(present))
            unans.append(unanswerable)
    return names, np.asarray(xs), np.asarray(ys), np.asarray(unans, dtype=bool)


def logistic(x: np.ndarray, y: np.ndarray, steps: int = 50) -> np.ndarray:
    """Weights (bias first) by Newton's method with L2 shrinkage."""
    a = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(a.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-a @ w))
        grad = a.T @ (p - y) + L2 * np.r_[0, w[1:]]
        hess = (a * (p * (1 - p))[:, None]).T @ a + L2 * np.diag(np.r_[0, np.ones(len(w) - 1)])
        w -= np.linalg.solve(hess, grad)
    return w


def refusal_curve(conf: np.ndarray, unans: np.ndarray, t: float) -> tuple[float, float]:
    refused = conf < t
    both = int((refused & unans).sum())
    return both / max(1, int(refused.sum())), both / max(1, int(unans.sum()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default="quality-signals", help="a benchmarks/results/eval/<name> folder")
    ap.add_argument("--precision", type=float, default=0.9)
    ap.add_argument("--target", choices=["answerable", "evidence"], default="answerable")
    args = ap.parse_args()
    base = RESULTS / "eval" / args.runs
    sets = {}
    for name in ("2324", "2022"):
        folder = base / name
        folder.mkdir(exist_ok=True)
        for sub in base.glob(f"*-{name}"):  # quality.py writes mc-<set>, refusal-<set>, ...
            target = folder / sub.name
            if not target.exists():
                target.symlink_to(sub.resolve())
        sets[name] = examples(folder, args.target)
    names, x, y, unans = sets["2324"]
    w = logistic(x, y)
    report: dict[str, Any] = {"target": args.target, "signals": names, "bias": round(float(w[0]), 3),
                              "weights": {n: round(float(v), 3) for n, v in zip(names, w[1:], strict=True)}}
    conf_fit = 1 / (1 + np.exp(-(np.hstack([np.ones((len(x), 1)), x]) @ w)))
    grid = [t / 100 for t in range(5, 96)]
    ok = [(refusal_curve(conf_fit, unans, t)[1], t) for t in grid
          if refusal_curve(conf_fit, unans, t)[0] >= args.precision]
    threshold = max(ok)[1] if ok else 0.5
    report["threshold"] = threshold
    for name, (n2, x2, _, u2) in sets.items():
        x2 = np.asarray([[row[n2.index(n)] for n in names] for row in x2]) if n2 != names else x2
        conf = 1 / (1 + np.exp(-(np.hstack([np.ones((len(x2), 1)), x2]) @ w)))
        p, r = refusal_curve(conf, u2, threshold)
        report[name] = {"examples": len(x2), "unanswerable": int(u2.sum()),
                        "refusal_precision": round(p, 3), "refusal_recall": round(r, 3)}
    print(json.dumps(report, indent=2))
    write_result("confidence-fit", report)


if __name__ == "__main__":
    main()
