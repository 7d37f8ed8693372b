"""Our Embedder as llama-index's embed_model (dense search itself: store/vectors.py, exact)."""

from __future__ import annotations

from typing import Any

from assistant.embed import Embedder


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


def _adapter() -> Any:
    global _ADAPTER
    if _ADAPTER is None:
        _ADAPTER = _adapter_class()
    return _ADAPTER


def __getattr__(name: str) -> Any:
    """`LlamaIndexEmbedding`, a llama-index BaseEmbedding subclass, made on first use.

    LlamaIndexEmbedding(embedder) is the embed_model to pass to llama-index: it wraps an Embedder
    and never falls back to llama-index's default OpenAI model or downloads anything.
    """
    if name == "LlamaIndexEmbedding":
        return _adapter()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
