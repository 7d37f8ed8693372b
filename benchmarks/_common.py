"""Shared helpers for the benchmark scripts: paths, the CLI in a subprocess, results files."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "realtimeqa"
CORPUS = DATA / "corpus.jsonl"
DEV = DATA / "dev.jsonl"
DATA_2324 = ROOT.parent / "shared" / "data" / "realtimeqa-2023-2024"
SETS = {  # name -> (questions, corpus)
    "2022": (DEV, CORPUS),
    "2324": (DATA_2324 / "questions.jsonl", DATA_2324 / "corpus.jsonl"),
}
RESULTS = ROOT / "benchmarks" / "results"
STORES = ROOT / "benchmarks" / "stores"
ASSISTANT = [sys.executable, "-m", "assistant"]


def need_data() -> None:
    """Exit with a one-line reason when the shared RealTime QA data is not beside the repository."""
    missing = [str(p) for pair in SETS.values() for p in pair if not p.exists()]
    if missing:
        raise SystemExit(f"benchmark data not found (expected beside the repository): {missing[0]}")


def run_cli(args: list[str], env: dict[str, str] | None = None,
            timeout: float | None = None) -> tuple[float, int, str, str]:
    """(seconds, peak RSS of the child in MB, stdout, stderr) of one `assistant` run."""
    full_env = {**os.environ, **(env or {})}
    start = time.perf_counter()
    proc = subprocess.Popen(ASSISTANT + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=full_env, cwd=ROOT)
    out, err = proc.communicate(timeout=timeout)
    seconds = time.perf_counter() - start
    rss = _peak_rss_mb()
    if proc.returncode != 0:
        raise SystemExit(f"assistant {' '.join(args)} failed ({proc.returncode}):\n{err[-2000:]}")
    return seconds, rss, out, err


def _peak_rss_mb() -> int:
    """Largest RSS of any child waited for so far (the ingest is the first and biggest)."""
    import resource

    return int(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def write_result(name: str, data: dict[str, Any]) -> Path:
    """Write benchmarks/results/<name>.json with the machine's description."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"benchmark": name, "when": time.strftime("%Y-%m-%d %H:%M:%S"),
            "machine": {"cpu": platform.machine(), "cores": os.cpu_count(),
                        "python": platform.python_version()}, **data}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def corpus_subset(n: int | None, folder: Path) -> Path:
    """The first n articles of the corpus as a JSONL file in folder (n=None: the corpus itself)."""
    if n is None:
        return CORPUS
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"corpus-{n}.jsonl"
    with CORPUS.open(encoding="utf-8") as src, target.open("w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if i >= n:
                break
            dst.write(line)
    return target
