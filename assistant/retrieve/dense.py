"""Dense search through llama-index over the Chroma collection, with our embedder as embed_model."""

from __future__ import annotations

from typing import Any

import numpy as np

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


def day_filters(lo: int | None, hi: int | None, sources: list[str] | None) -> list[Any]:
    """llama-index metadata filters for a publication-day range and a set of outlets."""
    from llama_index.core.vector_stores import FilterOperator, MetadataFilter

    out: list[Any] = []
    if lo is not None:
        out.append(MetadataFilter(key="published_day", value=lo, operator=FilterOperator.GTE))
    if hi is not None:
        out.append(MetadataFilter(key="published_day", value=hi, operator=FilterOperator.LTE))
        out.append(MetadataFilter(key="published_day", value=0, operator=FilterOperator.GTE))
    if sources is not None:
        out.append(MetadataFilter(key="source", value=sources or ["-"], operator=FilterOperator.IN))
    return out


class DenseSearch:
    """Nearest chunks by vector, through llama-index's VectorStoreIndex over our collection."""

    def __init__(self, vector_store: Any, embedder: Embedder) -> None:
        self._vector_store = vector_store
        self._embedder = embedder
        self._index: Any = None

    def _dense_index(self) -> Any:
        if self._index is None:
            from llama_index.core import VectorStoreIndex

            self._index = VectorStoreIndex.from_vector_store(
                self._vector_store, embed_model=_adapter()(self._embedder)
            )
        return self._index

    def hits(self, text: str, vec: np.ndarray, filters: list[Any], n: int) -> list[str]:
        """Ids of the n nearest chunks that pass the filters."""
        from llama_index.core.schema import QueryBundle
        from llama_index.core.vector_stores import FilterCondition, MetadataFilters

        mf = MetadataFilters(filters=filters, condition=FilterCondition.AND) if filters else None
        retriever = self._dense_index().as_retriever(similarity_top_k=n, filters=mf)
        nodes = retriever.retrieve(QueryBundle(query_str=text, embedding=vec.tolist()))
        return [n.node.node_id for n in nodes]
