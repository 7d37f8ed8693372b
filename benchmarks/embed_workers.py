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
    ways = {"one run at a time on all cores": _all_cores(path),
            f"one run per core ({cores} threads)": OnnxMiniLM(path, cores)}
    speeds: dict[str, list[float]] = {k: [] for k in ways}
    vectors: dict[str, np.ndarray] = {}
    for _ in range(args.rounds):
        for label, runner in ways.items():
            start = time.perf_counter()
            vectors[label] = runner.embed(texts)  # type: ignore[attr-defined]
            speeds[label].append(round(len(texts) / (time.perf_counter() - start), 1))
    a, b = vectors.values()
    result = {"chunks": len(texts), "rounds": args.rounds, "chunks_per_s": speeds,
              "median_chunks_per_s": {k: float(np.median(v)) for k, v in speeds.items()},
              "bitwise_identical": bool(np.array_equal(a, b)), "load_average": load_average()}
    print(result)
    print(f"written to {write_result(args.name, result)}")


def _all_cores(path: object) -> object:
    """The runner as it was: one run at a time (workers 1), each run spread over every core."""
    import onnxruntime as ort

    from assistant.embed.onnx_minilm import OnnxMiniLM

    runner = OnnxMiniLM(path, 1)  # type: ignore[arg-type]
    options = ort.SessionOptions()
    options.intra_op_num_threads = 0
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    runner._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"],
                                           disabled_optimizers=["SkipLayerNormFusion"])
    return runner


if __name__ == "__main__":
    main()
