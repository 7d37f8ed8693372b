"""Where the time goes: ingest stages, a warm offline question (plain and multiple choice), a cold
`ask`. Prints the breakdowns and writes benchmarks/results/breakdown.json.

    python benchmarks/breakdown.py --n 100                       # ingest stages on 100 articles (2022)
    python benchmarks/breakdown.py --store /work/stores/rtqa2022 --questions 2022
    python benchmarks/breakdown.py --skip-ingest --store STORE   # questions and cold ask only

Ingest: each stage alone on the same articles (wall and CPU seconds), then the pipelined ingest of
them (its busy time per stage), and the embedder with and without spinning threads. Questions:
wall time per part, summed over the questions, by wrapping the functions that do each part (query
embedding, dense search, BM25, fusion, sentence embedding = model + cache, parser, the rest of
the answer). Cold: a fresh process timing each step of the first answer.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _common import CORPORA, QUESTIONS, ROOT, corpus_subset, load_average, need, write_result


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@contextmanager
def stage(out: dict[str, Any], name: str, n: int) -> Iterator[None]:
    t, c = time.perf_counter(), _cpu()
    yield
    wall, cpu = time.perf_counter() - t, _cpu() - c
    out[name] = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                 "cpu_ms_per_chunk": round(cpu / max(1, n) * 1000, 2)}
    print(f"  {name:16s} wall {wall:7.2f} s  cpu {cpu:7.2f} s", flush=True)


def ingest_stages(corpus: Path, work: Path) -> dict[str, Any]:
    """Each ingest stage alone on the same articles, then the pipeline over them."""
    from assistant.app import build_app
    from assistant.config import load_settings
    from assistant.embed import make_embedder
    from assistant.embed.cache import EmbedCache, text_hash
    from assistant.index.indexer import article_hash
    from assistant.index.manifest import Manifest
    from assistant.ingest import chunk_article, iter_articles
    from assistant.models import Article
    from assistant.store.chroma import ChromaStore
    from assistant.store.lexical import load_lexical
    from assistant.store.vectors import load_vectors

    settings = load_settings({"store": str(work / "alone")})
    out: dict[str, Any] = {}
    arts: list[Article] = []
    with stage(out, "read", 0):
        arts = [a for a in iter_articles([corpus], settings) if isinstance(a, Article)]
    chunk_article(arts[0])  # the splitter's one-off setup is not a per-article cost
    with stage(out, "chunk", 0):
        chunks = [c for a in arts for c in chunk_article(a, settings.chunk_tokens, settings.chunk_overlap)]
    n = len(chunks)
    for name in ("read", "chunk"):
        out[name]["cpu_ms_per_chunk"] = round(out[name]["cpu_s"] / n * 1000, 2)
    emb = make_embedder(settings)
    emb.embed([c.embed_text for c in chunks[:4]])
    with stage(out, "embed", n):
        vectors = emb.embed([c.embed_text for c in chunks])
    store = ChromaStore(settings, emb.name, emb.dim)
    store.count()
    with stage(out, "chroma upsert", n):
        store.upsert(chunks, vectors)
    manifest = Manifest(work / "alone" / "manifest.sqlite3")
    by_article: dict[str, list[Any]] = defaultdict(list)
    for c in chunks:
        by_article[c.article_id].append(c)
    with stage(out, "manifest", n), manifest.transaction():
        for a in arts:
            manifest.put_article(a, str(corpus), article_hash(a), by_article[a.id])
    cache = EmbedCache(work / "alone" / "embed_cache.sqlite3")
    with stage(out, "embedding cache", n):
        cache.put_many(emb.name, [(text_hash(c.embed_text), v) for c, v in zip(chunks, vectors, strict=True)])
    manifest.bump_generation()
    with stage(out, "bm25 build", n):
        load_lexical(manifest, work / "alone" / "bm25")
    with stage(out, "vector index", n):
        load_vectors(manifest, store, work / "alone" / "vectors")
    out["chunks"], out["articles"] = n, len(arts)
    store.close()
    manifest.close()
    app = build_app(load_settings({"store": str(work / "piped")}))
    t0 = time.perf_counter()
    with app.writer_lock():
        report = app.indexer().run([corpus])
    out["pipeline"] = {"wall_s": round(time.perf_counter() - t0, 2), "busy_s": report.stage_seconds,
                       "chunks_per_s": round(report.chunks_added / report.seconds, 1)}
    print("  pipeline", out["pipeline"], flush=True)
    app.close()
    out["spinning"] = spinning([c.embed_text for c in chunks[:120]], settings)
    return out


def spinning(texts: list[str], settings: Any) -> dict[str, Any]:
    """The int8 model with onnxruntime's threads spinning (its default) and sleeping (ours)."""
    from assistant.embed.onnx_minilm import OnnxMiniLM, quantized_model_path

    ours = OnnxMiniLM(quantized_model_path(settings), settings.embed_threads, settings.embed_batch)
    spin = OnnxMiniLM(quantized_model_path(settings), settings.embed_threads, settings.embed_batch)
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.inter_op_num_threads, opts.log_severity_level = 1, 3
    spin._session = ort.InferenceSession(str(quantized_model_path(settings)), opts,
                                         providers=["CPUExecutionProvider"],
                                         disabled_optimizers=["SkipLayerNormFusion"])
    result: dict[str, list[float]] = {"sleeping": [], "spinning": []}
    for _ in range(2):
        for name, model in (("sleeping", ours), ("spinning", spin)):
            t, c = time.perf_counter(), _cpu()
            model.embed(texts)
            result[name].append(round(len(texts) / (time.perf_counter() - t), 1))
            result[name + " cpu_ms_per_chunk"] = [round((_cpu() - c) / len(texts) * 1000, 1)]  # type: ignore[list-item]
    print("  threads", result, flush=True)
    return {**result, "chunks": len(texts), "load_average": load_average()}


class Clock:
    """Wall time of wrapped functions, summed by part; a part inside retrieval (also the extra
    searches of multiple choice) or inside the answer is named after it; nested parts are
    subtracted from the part that called them."""

    PHASES = ("retrieval", "answer")

    def __init__(self) -> None:
        self.total: dict[str, float] = defaultdict(float)
        self._stack: list[list[Any]] = []

    def _key(self, part: str) -> str:
        if part in self.PHASES:
            return f"{part}: the rest"
        phase = next((f[2] for f in reversed(self._stack) if f[2] in self.PHASES), "other")
        return f"{phase}: {part}"

    def wrap(self, owner: Any, attr: str, part: str) -> None:
        fn = getattr(owner, attr)

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._stack.append([time.perf_counter(), 0.0, part])
            try:
                return fn(*args, **kwargs)
            finally:
                start, inner, _ = self._stack.pop()
                spent = time.perf_counter() - start
                self.total[self._key(part)] += spent - inner
                if self._stack:
                    self._stack[-1][1] += spent

        setattr(owner, attr, timed)


def questions_profile(store: Path, which: str, n: int) -> dict[str, Any]:
    import assistant.answer.offline.nlp as nlp
    import assistant.qa as qa
    import assistant.retrieve.hybrid as hybrid
    from assistant.app import build_app
    from assistant.config import load_settings
    from assistant.embed.cache import CachedEmbedder, EmbedCache
    from assistant.embed.local import LocalEmbedder
    from assistant.store.lexical import LexicalIndex
    from assistant.store.vectors import VectorIndex

    clock = Clock()
    clock.wrap(hybrid.Retriever, "retrieve", "retrieval")
    clock.wrap(qa, "_offline", "answer")
    clock.wrap(CachedEmbedder, "embed", "embedding: hashing and stacking")
    clock.wrap(LocalEmbedder, "embed", "embedding model")
    clock.wrap(EmbedCache, "get_many", "embedding cache")
    clock.wrap(EmbedCache, "put_many", "embedding cache")
    clock.wrap(VectorIndex, "top", "dense search")
    clock.wrap(LexicalIndex, "scores", "bm25")
    clock.wrap(hybrid, "lexical_hits", "bm25")
    clock.wrap(hybrid.Retriever, "_fuse", "fusion")
    clock.wrap(nlp.SentenceParser, "__call__", "parser")
    app = build_app(load_settings({"store": str(store), "no_llm": True}))
    from assistant.qa import AskOptions, ask

    rows = [json.loads(line) for line in need(QUESTIONS[which]).open(encoding="utf-8")]
    rows = [r for r in rows[:: max(1, len(rows) // n)] if r.get("choices")][:n]
    ask(app, "warm up the model and load the indexes", AskOptions(check_stale=False))
    app.parser and app.parser(["Warm up the parser."])  # loading it is a cold-start cost
    out: dict[str, Any] = {}
    for label in ("first_pass", "second_pass"):
        for kind in ("plain", "choice"):
            clock.total.clear()
            t0 = time.perf_counter()
            for row in rows:
                day = dt.date.fromisoformat(row["question_date"].replace("/", "-")[:10])
                ask(app, row["question"], AskOptions(as_of=day, check_stale=False, choices=tuple(
                    row["choices"]) if kind == "choice" else None))
            wall = (time.perf_counter() - t0) * 1000 / len(rows)
            parts = {k: round(v * 1000 / len(rows), 1) for k, v in sorted(clock.total.items())}
            out[f"{label}_{kind}"] = {"mean_ms": round(wall, 1), "mean_parts_ms": parts}
            print(f"  {label} {kind}: {wall:.0f} ms/question {parts}", flush=True)
    out["chunks"] = app.manifest.counts()["chunks"]
    app.close()
    return out


COLD_QUESTIONS = ("Which US national park was hit by severe flooding in June 2022?",
                  "What did the SCO add in 2024?")
COLD_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
marks = {}
def mark(name):
    marks[name] = round((time.perf_counter() - t0) * 1000, 1)
import assistant.cli.main
mark("import cli")
from assistant.app import build_app
from assistant.config import load_settings
from assistant.qa import AskOptions, ask, ensure_indexed
mark("import app, qa")
app = build_app(load_settings({"store": sys.argv[1], "no_llm": True}))
ensure_indexed(app, print)
mark("settings, manifest")
app.embedder.embed_query("x")
mark("embedding model")
app.lexical()
mark("bm25 load")
app.vectors()
mark("vector index load")
import assistant.answer.offline.extractive, assistant.answer.offline.choice, assistant.answer.offline.short
from assistant.answer.offline.qtype import expected_type
mark("import answerer")
if app.parser is not None and expected_type(sys.argv[2])[0] == "name":  # as the answerer decides
    app.parser(["A sentence."])
    mark("parser load")
ask(app, sys.argv[2], AskOptions())
mark("first answer")
print(json.dumps(marks))
"""


def cold_profile(store: Path, question: str) -> dict[str, Any]:
    env_cache = Path(tempfile.gettempdir()) / "assistant-bench-pycache"
    import os

    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(env_cache), "PYTHONDONTWRITEBYTECODE": ""}
    cmd = [sys.executable, "-c", COLD_CHILD, str(store), question]
    subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, check=True)  # compile bytecode
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    marks = json.loads(proc.stdout.strip().splitlines()[-1])
    steps, previous = {}, 0.0
    for name, at in marks.items():
        steps[name] = round(at - previous, 1)
        previous = at
    out = {"wall_s": round(time.perf_counter() - start, 2), "steps_ms": steps}
    print("  cold", out, flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", choices=sorted(CORPORA), default="2022")
    ap.add_argument("--n", type=int, default=100, help="articles for the ingest stages")
    ap.add_argument("--skip-ingest", action="store_true")
    ap.add_argument("--store", type=Path, help="store for the question and cold-start profiles")
    ap.add_argument("--questions", choices=sorted(QUESTIONS), default="2022")
    ap.add_argument("--q", type=int, default=20, help="questions per pass")
    ap.add_argument("--name", default="breakdown")
    args = ap.parse_args()
    result: dict[str, Any] = {"load_average_start": load_average()}
    if not args.skip_ingest:
        work = Path(tempfile.mkdtemp(prefix="assistant-profile-"))
        try:
            print(f"ingest stages ({args.corpus}, first {args.n} articles):", flush=True)
            result["ingest"] = ingest_stages(corpus_subset(args.n, work, CORPORA[args.corpus]), work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if args.store:
        print(f"questions ({args.store}):", flush=True)
        result["questions"] = questions_profile(args.store.resolve(), args.questions, args.q)
        result["cold_ask"] = {q: cold_profile(args.store.resolve(), q) for q in COLD_QUESTIONS}
    print(f"written to {write_result(args.name, {**result, 'store': str(args.store)})}")


if __name__ == "__main__":
    main()
