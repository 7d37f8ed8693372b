"""The local embedder's runs: one at a time on all cores, against one per core side by side.

The int8 embedder runs one text per run (so a vector never depends on its batch-mates). This times
the same chunks both ways, alternating, and checks the vectors are bitwise the same:

    python benchmarks/embed_workers.py [--chunks 400] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import CORPUS, load_average, need, write_result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chunks", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--name", default="embed-workers")
    args = ap.parse_args()
    from ingest import sample_texts

    from assistant.config import load_settings
    from assistant.embed.onnx_minilm import OnnxMiniLM, quantized_model_path

    with tempfile.TemporaryDirectory(prefix="assistant-embedworkers-") as tmp:
        texts = sample_texts(need(CORPUS), Path(tmp) / "store", args.chunks)
    path = quantized_model_path(load_settings({}))
    cores = os.cpu_count() or 1
    ways = {"one run at a time on all cores": OnnxMiniLM(path, 0, one_core_runs=False),
            f"one run per core ({cores} threads)": OnnxMiniLM(path, cores)}
    speeds: dict[str, list[float]] = {k: [] for k in ways}
    vectors: dict[str, np.ndarray] = {}
    for _ in range(args.rounds):
        for label, runner in ways.items():
            start = time.perf_counter()
            vectors[label] = runner.embed(texts)
            speeds[label].append(round(len(texts) / (time.perf_counter() - start), 1))
    a, b = vectors.values()
    result = {"chunks": len(texts), "rounds": args.rounds, "chunks_per_s": speeds,
              "median_chunks_per_s": {k: float(np.median(v)) for k, v in speeds.items()},
              "bitwise_identical": bool(np.array_equal(a, b)), "load_average": load_average()}
    print(result)
    print(f"written to {write_result(args.name, result)}")


if __name__ == "__main__":
    main()
