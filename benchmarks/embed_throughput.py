"""Embedding throughput: FLOP ceilings, the packaged model as shipped, ours (local:minilm-l6-q8).

Run: python benchmarks/embed_throughput.py [--n 400] [--rounds 4] [--sweep] [--workers]

Chunks are ~220-token windows (222 tokens with [CLS]/[SEP]) of the first RealTime QA articles,
cut with the embedder's own tokenizer. Other processes on the machine skew timings, so every
figure is measured in short interleaved trials, and a trial counts only when the rest of the
machine used under 5% of the CPUs meanwhile (read from /proc/stat); "trials" says how many did.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import load_settings  # noqa: E402
from assistant.embed import make_embedder  # noqa: E402
from assistant.embed.onnx_minilm import (  # noqa: E402
    DIM,
    FFN,
    LAYERS,
    OnnxMiniLM,
    load_tokenizer,
    packaged_model_path,
    quantized_model_path,
)

CORPUS = ROOT.parent / "shared" / "data" / "realtimeqa" / "corpus.jsonl"
RESULTS = ROOT / "benchmarks" / "results" / "embed_throughput.json"
WINDOW = 220
QUIET = 0.05  # a trial counts when other processes used less than this share of all CPUs
TRIAL_CHUNKS = 40
SETTLE = 0.05  # seconds between trials: onnxruntime's idle threads spin for a while after a run


# -- data ----------------------------------------------------------------------------------
def corpus_chunks(n: int) -> tuple[list[str], int]:
    """n windows of exactly WINDOW tokens from the first articles; also how many articles."""
    tokenizer = load_tokenizer()
    tokenizer.no_truncation()
    out: list[str] = []
    articles = 0
    with CORPUS.open(encoding="utf-8") as handle:
        for line in handle:
            doc = json.loads(line)
            text = f"{doc['title']}\n{doc['body']}"
            offsets = tokenizer.encode(text, add_special_tokens=False).offsets
            articles += 1
            for s in range(0, len(offsets) - WINDOW + 1, WINDOW):
                out.append(text[offsets[s][0] : offsets[s + WINDOW - 1][1]])
                if len(out) == n:
                    return out, articles
    return out, articles


def flops_per_text(tokens: float) -> float:
    """Matmul FLOPs of MiniLM-L6 on one text of `tokens` tokens.

    Per layer, L tokens, d = 384, f = 1536: QKV 2L*d*3d, output 2L*d*d, FFN 2*(2L*d*f),
    scores QK^T 2L*L*d, context AV 2L*L*d  ->  2L(4d^2 + 2df) + 4L^2*d; times 6 layers.
    (Heads do not change the count: 12 heads x 32 dims = d.) LayerNorm, softmax, GELU and the
    embedding lookup are left out (well under 1%).
    """
    d, f, seq = DIM, FFN, tokens
    return LAYERS * (2 * seq * (4 * d * d + 2 * d * f) + 4 * seq * seq * d)


# -- quiet-trial timing ----------------------------------------------------------------------
def _busy_jiffies() -> int:
    with open("/proc/stat") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4]  # all but idle and iowait


def _own_jiffies(pids: Sequence[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                parts = handle.read().rsplit(")", 1)[1].split()
            total += int(parts[11]) + int(parts[12])  # utime + stime
        except (OSError, IndexError, ValueError):
            pass
    return total


class Timer:
    """Times trials; keeps those during which the rest of the machine stayed quiet."""

    def __init__(self, pids: Callable[[], Sequence[int]] = lambda: [os.getpid()]) -> None:
        self.pids = pids
        self.hz = os.sysconf("SC_CLK_TCK")
        self.cpus = os.cpu_count() or 1
        self.trials: dict[str, list[tuple[int, float, bool]]] = {}

    def run(self, key: str, fn: Callable[[], Any], count: int) -> None:
        time.sleep(SETTLE)  # let the previous session's spinning threads park
        busy0, own0, t0 = _busy_jiffies(), _own_jiffies(self.pids()), time.perf_counter()
        fn()
        seconds = time.perf_counter() - t0
        others = (_busy_jiffies() - busy0) - (_own_jiffies(self.pids()) - own0)
        quiet = others / self.hz <= QUIET * self.cpus * seconds + 1.0 / self.hz
        self.trials.setdefault(key, []).append((count, seconds, quiet))

    def rate(self, key: str) -> dict[str, Any]:
        trials = self.trials[key]
        good = [t for t in trials if t[2]] or sorted(trials, key=lambda t: t[0] / t[1])[-3:]
        rate = sum(t[0] for t in good) / sum(t[1] for t in good)
        return {"per_s": round(rate, 1), "trials": f"{sum(t[2] for t in trials)}/{len(trials)}"}


def wait_for_quiet(limit_s: float, window_s: float = 3.0) -> float:
    """Wait (up to limit_s) until other processes use < QUIET of the CPUs for window_s; seconds."""
    start = time.perf_counter()
    hz, cpus = os.sysconf("SC_CLK_TCK"), os.cpu_count() or 1
    while time.perf_counter() - start < limit_s:
        busy0, own0 = _busy_jiffies(), _own_jiffies([os.getpid()])
        time.sleep(window_s)
        others = (_busy_jiffies() - busy0) - (_own_jiffies([os.getpid()]) - own0)
        if others / hz <= QUIET * cpus * window_s:
            break
    return round(time.perf_counter() - start, 1)


def interleave(timer: Timer, configs: dict[str, Callable[[list[str]], Any]],
               chunks: list[str], rounds: int, size: int = TRIAL_CHUNKS) -> dict[str, Any]:
    """Run every config on every slice, rounds times, interleaved; rates per config."""
    for fn in configs.values():
        fn(chunks[:8])  # warm up
    slices = [chunks[i : i + size] for i in range(0, len(chunks), size)]
    for _ in range(rounds):
        for part in slices:
            for key, fn in configs.items():
                timer.run(key, lambda fn=fn, part=part: fn(part), len(part))
    return {key: timer.rate(key) for key in configs}


# -- ceilings ------------------------------------------------------------------------------
_GEMM = """
import ctypes, glob, os, time, numpy as np
lib = glob.glob(os.path.join(os.path.dirname(np.__file__), '..', 'numpy.libs', '*openblas*.so'))
core = 'unknown'
if lib:
    so = ctypes.CDLL(lib[0]); f = getattr(so, 'scipy_openblas_get_corename64_', None)
    if f: f.restype = ctypes.c_char_p; core = f().decode()
n = 2048; a = np.random.rand(n, n).astype(np.float32); b = np.random.rand(n, n).astype(np.float32)
best = 0.0
for _ in range(6):
    t = time.perf_counter(); a @ b; best = max(best, 2 * n**3 / (time.perf_counter() - t) / 1e9)
print(core, best)
"""


def numpy_gemm(unset_coretype: bool) -> dict[str, Any]:
    """numpy fp32 GEMM GFLOP/s (2048^3, 2 threads) in a fresh process."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2")
    if unset_coretype:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    out = subprocess.run([sys.executable, "-c", _GEMM], env=env, capture_output=True, text=True,
                         check=True).stdout.split()  # fmt: skip
    return {"kernel": out[0], "gflops": round(float(out[1]), 1)}


def ort_matmul(kind: str, m: int, k: int = DIM, n: int = FFN, threads: int = 2) -> float:
    """onnxruntime GFLOP/s (GOP/s for int8) of one [m,k]x[k,n] matmul: fp32, int8 or dynamic."""
    import onnxruntime as ort
    from onnx import TensorProto as T
    from onnx import helper, numpy_helper

    rng = np.random.default_rng(0)
    w8 = rng.integers(-127, 128, (k, n)).astype(np.int8)
    if kind == "fp32":
        nodes, a_type, inits = [helper.make_node("MatMul", ["a", "w"], ["y"])], T.FLOAT, {"w": w8.astype(np.float32)}  # noqa: E501
    elif kind == "int8":  # u8 x s8 -> i32: the integer kernel alone
        nodes, a_type, inits = [helper.make_node("MatMulInteger", ["a", "w"], ["y"])], T.UINT8, {"w": w8}  # noqa: E501
    else:  # quantize A, integer matmul, scale back: what the model runs
        nodes = [helper.make_node("DynamicQuantizeMatMul", ["a", "w", "s"], ["y"], domain="com.microsoft")]  # noqa: E501
        a_type, inits = T.FLOAT, {"w": w8, "s": np.full(n, 0.01, np.float32)}
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("a", a_type, [m, k])],
                              [helper.make_tensor_value_info("y", T.INT32 if kind == "int8"
                                                             else T.FLOAT, None)],
                              [numpy_helper.from_array(v, name) for name, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    sess = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])  # noqa: E501
    a = rng.integers(0, 256, (m, k)).astype(np.uint8) if kind == "int8" else rng.standard_normal((m, k)).astype(np.float32)  # noqa: E501
    best = 0.0
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(20):
            sess.run(None, {"a": a})
        best = max(best, 20 * 2 * m * k * n / (time.perf_counter() - t0) / 1e9)
    return round(best, 1)


# -- embedders -------------------------------------------------------------------------------
def shipped_runner(threads: int = 2) -> Callable[[list[str]], np.ndarray]:
    """The packaged model as shipped: one text per call, `threads` threads, 256 tokens max."""
    model = OnnxMiniLM(packaged_model_path(), threads=threads, batch=1, shipped=True)
    return lambda texts: np.concatenate([model.embed([t]) for t in texts])


def sweep(chunks: list[str], rounds: int, timer: Timer, path: Path) -> dict[str, Any]:
    """Batch size x token budget x threads on long chunks, short texts (~48 tokens), tiny (~14)."""
    short = [c[:200] for c in chunks]
    tiny = [c[:50] for c in chunks]
    out: dict[str, Any] = {}
    for threads in (1, 2):
        configs = {f"t{threads} batch {b} budget {g}": OnnxMiniLM(path, threads, b, budget=g).embed
                   for b, g in [(1, 10**6), (4, 10**6), (16, 10**6), (16, 256), (16, 512),
                                (16, 1024), (32, 512)]}  # fmt: skip
        for name, texts in (("long", chunks), ("short", short), ("tiny", tiny)):
            named = {f"{name} {k}": fn for k, fn in configs.items()}
            got = interleave(timer, named, texts, rounds, size=48)
            out.update(got)
            for k, v in got.items():
                print(f"  {k:34s} {v['per_s']:8.1f}/s  trials {v['trials']}", flush=True)
    return out


def _worker(path: str, inbox: Any, outbox: Any) -> None:
    model = OnnxMiniLM(Path(path), threads=1)
    outbox.put("ready")
    for texts in iter(inbox.get, None):
        outbox.put(model.embed(texts))


def workers_vs_threads(chunks: list[str], rounds: int, path: Path) -> dict[str, Any]:
    """Two processes with one thread each against one process with two threads."""
    ctx = mp.get_context("spawn")
    queues = [(ctx.Queue(), ctx.Queue()) for _ in range(2)]
    procs = [ctx.Process(target=_worker, args=(str(path), q[0], q[1]), daemon=True) for q in queues]
    for p in procs:
        p.start()
    for _, outbox in queues:
        outbox.get(timeout=120)

    def two_procs(texts: list[str]) -> np.ndarray:
        half = (len(texts) + 1) // 2
        for (inbox, _), part in zip(queues, (texts[:half], texts[half:]), strict=True):
            inbox.put(part)
        return np.concatenate([outbox.get() for _, outbox in queues])

    try:
        timer = Timer(lambda: [os.getpid()] + [p.pid for p in procs if p.pid])
        one = OnnxMiniLM(path, threads=2)
        return interleave(timer, {"1 process x 2 threads": one.embed,
                                  "2 processes x 1 thread": two_procs}, chunks, rounds)
    finally:
        for inbox, _ in queues:
            inbox.put(None)
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()


def machine() -> dict[str, Any]:
    """CPU model, cores, whether int8 dot-product instructions exist, load average."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((ln.split(":", 1)[1].strip() for ln in info.splitlines()
                  if ln.startswith("model name")), platform.machine())  # fmt: skip
    flags = set(next((ln.split(":", 1)[1].split() for ln in info.splitlines()
                      if ln.startswith("flags")), []))  # fmt: skip
    import onnxruntime

    return {"cpu": model, "cores": os.cpu_count(), "avx512_vnni": "avx512_vnni" in flags,
            "avx2": "avx2" in flags, "onnxruntime": onnxruntime.__version__,
            "load_avg_1min": round(os.getloadavg()[0], 2)}  # fmt: skip


# -- main ------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400, help="number of ~220-token chunks")
    parser.add_argument("--rounds", type=int, default=4, help="passes over the chunks per config")
    parser.add_argument("--sweep", action="store_true", help="also sweep batch/budget/threads")
    parser.add_argument("--workers", action="store_true", help="also 2 processes x 1 thread")
    parser.add_argument("--wait", type=float, default=300.0,
                        help="seconds to wait at most for a quiet machine before measuring")
    args = parser.parse_args(argv)

    chunks, articles = corpus_chunks(args.n)
    tokenizer = load_tokenizer()
    tokens = float(np.mean([len(e.ids) for e in tokenizer.encode_batch(chunks)]))
    gflop = flops_per_text(tokens) / 1e9
    settings = load_settings()
    t0 = time.perf_counter()
    qpath = quantized_model_path(settings)
    ours = make_embedder(settings)
    load_s = time.perf_counter() - t0

    waited = wait_for_quiet(args.wait)
    gemm = {"as_is": numpy_gemm(False), "coretype_unset": numpy_gemm(True)}
    rows = int(round(tokens)) * 8
    ort_rates = {k: ort_matmul(k, rows) for k in ("fp32", "int8", "dynamic_int8")}
    t1 = time.perf_counter()
    tokenizer.encode_batch(chunks)
    tokenize_ms = (time.perf_counter() - t1) * 1000 / len(chunks)
    timer = Timer()
    shipped = shipped_runner()
    rates = interleave(timer, {"shipped": shipped, "ours": ours.embed}, chunks, args.rounds)
    cos = (shipped(chunks) * ours.embed(chunks)).sum(axis=1)
    fp32_ceiling = max(g["gflops"] for g in gemm.values()) / gflop
    int8_ceiling = ort_rates["int8"] / gflop
    result: dict[str, Any] = {
        "machine": {**machine(), "waited_for_quiet_s": waited},
        "chunks": len(chunks), "articles": articles, "tokens_per_chunk": round(tokens, 1),
        "gflop_per_chunk": round(gflop, 3),
        "flops_formula": "6 * (2L(4d^2 + 2df) + 4L^2 d), d=384, f=1536, L tokens",
        "numpy_fp32_gemm_gflops_2threads": gemm,
        "ort_matmul_gops_2threads": {"shape": [rows, DIM, FFN], **ort_rates},
        "fp32_ceiling_chunks_per_s": round(fp32_ceiling, 1),
        "int8_ceiling_chunks_per_s": round(int8_ceiling, 1),
        "shipped": rates["shipped"], "ours": rates["ours"], "ours_embedder": ours.name,
        "ours_settings": {"embed_batch": settings.embed_batch,
                          "embed_threads": settings.embed_threads},  # fmt: skip
        "speedup": round(rates["ours"]["per_s"] / rates["shipped"]["per_s"], 2),
        "share_of_int8_ceiling": round(rates["ours"]["per_s"] / int8_ceiling, 3),
        "tokenize_ms_per_chunk": round(tokenize_ms, 3),
        "tokenize_share_of_ours": round(tokenize_ms / 1000 * rates["ours"]["per_s"], 3),
        "cosine_ours_vs_shipped": {"mean": round(float(cos.mean()), 4),
                                   "min": round(float(cos.min()), 4)},  # fmt: skip
        "quantized_model": {"file": qpath.name, "mb": round(qpath.stat().st_size / 2**20, 1),
                            "build_or_load_s": round(load_s, 2)},  # fmt: skip
    }
    report(result)
    quiet = [t[2] for trials in timer.trials.values() for t in trials]
    if sum(quiet) < len(quiet) / 2:
        print("WARNING: other processes were busy during most trials: these figures are unreliable")
    if args.sweep:
        result["sweep"] = sweep(chunks[:192], max(2, args.rounds // 2), Timer(), qpath)
    if args.workers:
        result["workers"] = workers_vs_threads(chunks, args.rounds, qpath)
        for k, v in result["workers"].items():
            print(f"  {k:26s} {v['per_s']:8.1f}/s  trials {v['trials']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"written to {RESULTS.relative_to(ROOT)}")
    return result


def report(r: dict[str, Any]) -> None:
    g = r["numpy_fp32_gemm_gflops_2threads"]
    o = r["ort_matmul_gops_2threads"]
    lines = [
        ("chunks (tokens each, articles)", f"{r['chunks']} ({r['tokens_per_chunk']}, {r['articles']})"),  # noqa: E501
        ("GFLOP per chunk", f"{r['gflop_per_chunk']}  [{r['flops_formula']}]"),
        ("numpy fp32 GEMM, 2 threads", f"{g['as_is']['gflops']} GFLOP/s ({g['as_is']['kernel']}); "
         f"OPENBLAS_CORETYPE unset: {g['coretype_unset']['gflops']} ({g['coretype_unset']['kernel']})"),  # noqa: E501
        ("onnxruntime matmul " + "x".join(map(str, o["shape"])),
         f"fp32 {o['fp32']}, int8 {o['int8']}, dynamic int8 {o['dynamic_int8']} GOP/s"),
        ("fp32 / int8 ceiling", f"{r['fp32_ceiling_chunks_per_s']} / {r['int8_ceiling_chunks_per_s']} chunks/s"),  # noqa: E501
        ("shipped (1 text/call, 2 threads)", f"{r['shipped']['per_s']} chunks/s  trials {r['shipped']['trials']}"),  # noqa: E501
        (f"ours ({r['ours_embedder']})", f"{r['ours']['per_s']} chunks/s  trials {r['ours']['trials']}"),  # noqa: E501
        ("speed-up / share of int8 ceiling", f"{r['speedup']}x / {r['share_of_int8_ceiling']:.0%}"),
        ("tokenizing (share of our time)", f"{r['tokenize_ms_per_chunk']} ms/chunk ({r['tokenize_share_of_ours']:.1%})"),  # noqa: E501
        ("cosine ours vs shipped", f"mean {r['cosine_ours_vs_shipped']['mean']}, min {r['cosine_ours_vs_shipped']['min']}"),  # noqa: E501
    ]
    width = max(len(k) for k, _ in lines)
    for k, v in lines:
        print(f"{k:<{width}}  {v}", flush=True)


if __name__ == "__main__":
    main()
