"""Shared helpers for the benchmark scripts: paths, the CLI in a subprocess, results files."""

from __future__ import annotations

import json
import os
import platform
import re
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


def set_arguments(ap: Any) -> None:
    """--sets and each set's store folder: the options every two-set benchmark takes."""
    ap.add_argument("--sets", default="2022,2324")
    ap.add_argument("--store-2022", type=Path, default=STORES / "rtqa2022")
    ap.add_argument("--store-2324", type=Path, default=STORES / "rtqa2324")


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


SAMPLE_2324 = ROOT / "benchmarks" / "data" / "sample-2324.json"
SHARE_SEED = 2324  # the random fill of the tuning share is the same on every machine
SHARE_PER_QUESTION = 5  # search results kept per sampled question (the corpus holds ~5.3 per question)
_WORD = re.compile(r"[a-z0-9]+")


def tuning_questions() -> set[str]:
    """Ids of the 2023-2024 questions the benchmarks ask on the tuning share: the 600-question
    sample, the news asked before it happened (news-2324.jsonl) and the follow-ups' sources."""
    data = ROOT / "benchmarks" / "data"
    ids = set(json.loads(SAMPLE_2324.read_text("utf-8")))
    ids.update(json.loads(line)["id"] for line in (data / "news-2324.jsonl").open(encoding="utf-8"))
    ids.update(p["source"] for p in map(json.loads, (data / "followups.jsonl").open(encoding="utf-8"))
               if p["set"] == "2324")
    return ids


def tuning_share(folder: Path) -> Path:
    """The 2023-2024 corpus cut to the questions the benchmarks tune on, built the way the corpus was.

    The whole corpus (~150k chunks) takes ~2 h to embed on this 2-core machine at ~20 chunks/s.
    The corpus is the news-search results the benchmark's authors collected per question (no gold
    ids). The share does the same for the tuning questions only (`tuning_questions`): each
    question's text (never its answer or choices) searches the corpus with BM25 and keeps its top
    SHARE_PER_QUESTION articles; a seeded random draw from the rest then fills it to the full
    corpus's articles per question (15,318 / 2,917), so a question meets the same density of
    unrelated news. Written to `folder` (outside the repository: publishers own the texts).
    """
    import math
    import random
    from collections import Counter, defaultdict

    corpus, questions = need(CORPORA["2023-2024"]), need(QUESTIONS["2023-2024"])
    wanted = tuning_questions()
    asked: dict[str, list[str]] = {}
    n_questions = 0
    for line in questions.open(encoding="utf-8"):
        q = json.loads(line)
        n_questions += 1
        if q["id"] in wanted:
            asked[q["id"]] = sorted(set(_WORD.findall(q["question"].lower())))
    vocab = {w for words in asked.values() for w in words}
    ids: list[str] = []
    lengths: list[int] = []
    postings: dict[str, list[tuple[int, int]]] = defaultdict(list)  # word -> (article, count)
    for line in corpus.open(encoding="utf-8"):
        art = json.loads(line)
        words = _WORD.findall(f"{art.get('title') or ''} {art.get('body') or ''}".lower())
        for w, c in Counter(w for w in words if w in vocab).items():
            postings[w].append((len(ids), c))
        ids.append(art["id"])
        lengths.append(len(words))
    n, avg = len(ids), sum(lengths) / max(1, len(lengths))
    keep: set[str] = set()
    for words in asked.values():  # BM25, k1 = 1.2, b = 0.75 (the textbook values)
        scores: dict[int, float] = defaultdict(float)
        for w in words:
            df = len(postings.get(w, ()))
            if not df:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            for i, c in postings[w]:
                scores[i] += idf * c * 2.2 / (c + 1.2 * (0.25 + 0.75 * lengths[i] / avg))
        top = sorted(scores, key=lambda i: (-scores[i], ids[i]))[:SHARE_PER_QUESTION]
        keep.update(ids[i] for i in top)
    searched = len(keep)
    target = round(n * len(asked) / n_questions)
    rest = sorted(set(ids) - keep)
    keep |= set(random.Random(SHARE_SEED).sample(rest, max(0, target - len(keep))))
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"2023-2024-share-{len(keep)}.jsonl"
    with corpus.open(encoding="utf-8") as src, out.open("w", encoding="utf-8") as dst:
        for i, line in zip(ids, src, strict=True):
            if i in keep:
                dst.write(line)
    print(f"tuning share: {len(keep)} of {n} articles ({searched} found by the "
          f"{len(asked)} tuning questions' searches, the rest drawn at random)", flush=True)
    return out


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


def pct(values: list[bool]) -> float | None:
    """The share of true values in percent, rounded to 0.1 (None for no values)."""
    return round(100 * sum(values) / len(values), 1) if values else None


def percentile(values: list[float], q: float) -> float:
    """The q-quantile of values (nearest rank), rounded to 0.1."""
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * (len(values) - 1) + 0.5))], 1)


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
