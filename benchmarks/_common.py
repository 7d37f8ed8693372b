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
CORPORA = {"2022": CORPUS, "2023-2024": DATA_2324 / "corpus.jsonl"}
QUESTIONS = {"2022": DEV, "2023-2024": DATA_2324 / "questions.jsonl"}
RESULTS = ROOT / "benchmarks" / "results"
STORES = ROOT / "benchmarks" / "stores"
ASSISTANT = [sys.executable, "-m", "assistant"]


def need_data() -> None:
    """Exit with a one-line reason when the shared RealTime QA data is not beside the repository."""
    missing = [str(p) for pair in SETS.values() for p in pair if not p.exists()]
    if missing:
        raise SystemExit(f"benchmark data not found (expected beside the repository): {missing[0]}")


def run_cli(args: list[str], env: dict[str, str] | None = None, timeout: float | None = None,
            ok: tuple[int, ...] = (0, 4)) -> tuple[float, int, str, str]:
    """(seconds, peak RSS of the child in MB, stdout, stderr) of one `assistant` run.

    Exit codes in `ok` count as success (4: an ingest that skipped some lines).
    """
    full_env = {**os.environ, **(env or {})}
    start = time.perf_counter()
    proc = subprocess.Popen(ASSISTANT + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=full_env, cwd=ROOT)
    out, err = proc.communicate(timeout=timeout)
    seconds = time.perf_counter() - start
    rss = _peak_rss_mb()
    if proc.returncode not in ok:
        raise SystemExit(f"assistant {' '.join(args)} failed ({proc.returncode}):\n{err[-2000:]}")
    return seconds, rss, out, err


def _peak_rss_mb() -> int:
    """Largest RSS of any child waited for so far (the ingest is the first and biggest)."""
    import resource

    return int(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def need(path: Path) -> Path:
    """The data file, or exit with a clear message when the shared data is not there."""
    if not path.exists():
        raise SystemExit(f"{path} is missing: these benchmarks read the RealTime QA data from "
                         f"{ROOT.parent / 'shared' / 'data'} (see README, Benchmarks)")
    return path


def cpu_model() -> str:
    """The CPU's model name and whether it has AVX-512 VNNI (int8 speed depends on it)."""
    try:
        info = Path("/proc/cpuinfo").read_text("utf-8", "replace")
    except OSError:
        return platform.processor() or platform.machine()
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines()
                 if line.startswith("model name")), platform.machine())
    return f"{name} ({'avx512_vnni' if 'avx512_vnni' in info else 'avx2' if 'avx2' in info else 'no avx2'})"


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (the machine is shared: note them with every figure)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def write_result(name: str, data: dict[str, Any]) -> Path:
    """Write benchmarks/results/<name>.json with the machine's description and its load."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"benchmark": name, "when": time.strftime("%Y-%m-%d %H:%M:%S"),
            "machine": {"cpu": platform.machine(), "model": cpu_model(), "cores": os.cpu_count(),
                        "python": platform.python_version()},
            "load_average_at_end": load_average(), **data}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def corpus_subset(n: int | None, folder: Path, corpus: Path = CORPUS) -> Path:
    """The first n articles of the corpus as a JSONL file in folder (n=None: the corpus itself)."""
    need(corpus)
    if n is None:
        return corpus
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (f"corpus-{n}.jsonl" if corpus == CORPUS else f"{corpus.parent.name}-{n}.jsonl")
    with corpus.open(encoding="utf-8") as src, target.open("w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if i >= n:
                break
            dst.write(line)
    return target
