"""The embedder factory: the packaged MiniLM (int8 or as shipped) or an OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from assistant.config import Settings
from assistant.embed_cache import CachedEmbedder, EmbedCache, text_hash
from assistant.errors import ConfigError, LLMError

__all__ = [
    "CachedEmbedder", "EmbedCache", "Embedder", "LocalEmbedder",
    "OpenAIEmbedder", "make_embedder", "text_hash",
]  # fmt: skip

LOCAL_Q8 = "local:minilm-l6-q8"
LOCAL_SHIPPED = "local:minilm-l6"
ACCEPTED = f"{LOCAL_Q8} (default), {LOCAL_SHIPPED}, openai:<model>"
OPENAI_BATCH = 256  # inputs per /v1/embeddings request
_KNOWN_DIMS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072,
               "text-embedding-ada-002": 1536}  # fmt: skip


@runtime_checkable
class Embedder(Protocol):
    """Texts to L2-normalised float32 vectors; `name` is recorded in the store."""

    name: str

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class LocalEmbedder:
    """The packaged all-MiniLM-L6-v2 on onnxruntime (sorted, length-bucketed batches)."""

    dim = 384

    def __init__(self, settings: Settings, quantized: bool = True) -> None:
        from assistant.onnx_minilm import load_runner

        self.name = LOCAL_Q8 if quantized else LOCAL_SHIPPED
        self._model = load_runner(settings, quantized)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self._model.embed(texts)

    def embed_query(self, text: str) -> np.ndarray:
        row: np.ndarray = self._model.embed([text])[0]
        return row


class OpenAIEmbedder:
    """An OpenAI-compatible /v1/embeddings endpoint; rows are L2-normalised here."""

    def __init__(self, settings: Settings, model: str) -> None:
        import openai

        if not (settings.openai_api_key or settings.openai_base_url):
            raise ConfigError(
                f"Embedder openai:{model} needs OPENAI_API_KEY or OPENAI_BASE_URL: set one, "
                f"or use ASSISTANT_EMBED_MODEL={LOCAL_Q8}"
            )
        self.name = f"openai:{model}"
        self.model = model
        self._secret = settings.openai_api_key or ""
        self._client = openai.OpenAI(
            api_key=settings.openai_api_key or "unused",
            base_url=settings.openai_base_url,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_retries,
        )
        self._dim: int | None = _KNOWN_DIMS.get(model)

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.embed(["dimension probe"]).shape[1])
        return self._dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows: list[np.ndarray] = []
        for start in range(0, len(texts), OPENAI_BATCH):
            rows.append(self._request(list(texts[start : start + OPENAI_BATCH])))
        if not rows:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        out = np.concatenate(rows)
        self._dim = int(out.shape[1])
        return out

    def embed_query(self, text: str) -> np.ndarray:
        row: np.ndarray = self.embed([text])[0]
        return row

    def _request(self, texts: list[str]) -> np.ndarray:
        import openai

        try:
            reply = self._client.embeddings.create(model=self.model, input=texts)
            data = sorted(reply.data, key=lambda d: d.index)
            vectors = np.asarray([d.embedding for d in data], dtype=np.float32)
        except openai.APIError as exc:
            raise LLMError(self._describe(exc)) from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise LLMError(self._describe(exc)) from None
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise LLMError(
                f"Embedding server returned {len(vectors)} vectors for {len(texts)} texts: "
                "check OPENAI_BASE_URL points at an OpenAI-compatible server"
            )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        unit: np.ndarray = vectors / np.maximum(norms, 1e-12)
        return unit

    def _describe(self, exc: BaseException) -> str:
        import openai

        status = getattr(exc, "status_code", None)
        if isinstance(exc, openai.APITimeoutError):
            hint = "the server did not answer in time: raise ASSISTANT_LLM_TIMEOUT or check it"
        elif status in (401, 403):
            hint = "the key was refused: check OPENAI_API_KEY"
        elif status == 404:
            hint = f"model {self.model!r} or the endpoint was not found: check the model name"
        elif isinstance(exc, openai.APIConnectionError):
            hint = "cannot reach the server: check OPENAI_BASE_URL and that it is running"
        else:
            hint = "check the server and the model name"
        detail = " ".join(str(exc).split())[:200]
        if self._secret:
            detail = detail.replace(self._secret, "***")
        code = f" (HTTP {status})" if status else ""
        return f"Embedding request to {self.name} failed{code}: {detail}: {hint}"


def make_embedder(settings: Settings) -> Embedder:
    """The embedder named by settings.embed_model."""
    value = (settings.embed_model or "").strip()
    if value == LOCAL_Q8:
        return LocalEmbedder(settings, quantized=True)
    if value == LOCAL_SHIPPED:
        return LocalEmbedder(settings, quantized=False)
    if value.startswith("openai:") and value[len("openai:") :].strip():
        return OpenAIEmbedder(settings, value[len("openai:") :].strip())
    raise ConfigError(
        f"Unknown embedder {value!r} in ASSISTANT_EMBED_MODEL: use one of {ACCEPTED}"
    )


def _adapter_class() -> Any:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    class LlamaIndexEmbedding(BaseEmbedding):
        """An Embedder as llama-index's embed_model (no default model, no download)."""

        _embedder: Any = PrivateAttr()

        def __init__(self, embedder: Embedder, **kw: Any) -> None:
            kw.setdefault("embed_batch_size", 256)
            super().__init__(model_name=embedder.name, **kw)
            self._embedder = embedder

        @classmethod
        def class_name(cls) -> str:
            return "AssistantEmbedding"

        def _get_query_embedding(self, query: str) -> list[float]:
            return [float(x) for x in self._embedder.embed_query(query)]

        def _get_text_embedding(self, text: str) -> list[float]:
            return [float(x) for x in self._embedder.embed([text])[0]]

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return [[float(x) for x in row] for row in self._embedder.embed(texts)]

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        async def _aget_text_embedding(self, text: str) -> list[float]:
            return self._get_text_embedding(text)

    return LlamaIndexEmbedding


_ADAPTER: Any = None


def __getattr__(name: str) -> Any:
    """`LlamaIndexEmbedding`, a llama-index BaseEmbedding subclass, made on first import of it.

    LlamaIndexEmbedding(embedder) is the embed_model to pass to llama-index: it wraps an Embedder
    and never falls back to llama-index's default OpenAI model or downloads anything.
    """
    global _ADAPTER
    if name == "LlamaIndexEmbedding":
        if _ADAPTER is None:
            _ADAPTER = _adapter_class()
        return _ADAPTER
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
