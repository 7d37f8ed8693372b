"""Embedders: the Embedder protocol and the factory for the packaged MiniLM or an OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from assistant.config import Settings
from assistant.embed.names import ACCEPTED, LOCAL_Q8, LOCAL_SHIPPED
from assistant.errors import ConfigError

__all__ = ["ACCEPTED", "LOCAL_Q8", "LOCAL_SHIPPED", "Embedder", "make_embedder"]


@runtime_checkable
class Embedder(Protocol):
    """Texts to L2-normalised float32 vectors; `name` is recorded in the store."""

    name: str

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def make_embedder(settings: Settings) -> Embedder:
    """The embedder named by settings.embed_model."""
    value = (settings.embed_model or "").strip()
    if value == LOCAL_Q8:
        from assistant.embed.local import LocalEmbedder

        return LocalEmbedder(settings, quantized=True)
    if value == LOCAL_SHIPPED:
        from assistant.embed.local import LocalEmbedder

        return LocalEmbedder(settings, quantized=False)
    if value.startswith("openai:") and value[len("openai:") :].strip():
        from assistant.embed.openai import OpenAIEmbedder

        return OpenAIEmbedder(settings, value[len("openai:") :].strip())
    raise ConfigError(
        f"Unknown embedder {value!r} in ASSISTANT_EMBED_MODEL: use one of {ACCEPTED}"
    )
