"""The packaged all-MiniLM-L6-v2 (int8 kernels or as shipped) on onnxruntime."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assistant.config import Settings
from assistant.embed.names import LOCAL_Q8, LOCAL_SHIPPED


class LocalEmbedder:
    """The packaged all-MiniLM-L6-v2 on onnxruntime (sorted, length-bucketed batches)."""

    dim = 384

    def __init__(self, settings: Settings, quantized: bool = True) -> None:
        from assistant.embed.onnx_minilm import load_runner

        self.name = LOCAL_Q8 if quantized else LOCAL_SHIPPED
        self._model = load_runner(settings, quantized)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self._model.embed(texts)

    def embed_query(self, text: str) -> np.ndarray:
        row: np.ndarray = self._model.embed([text])[0]
        return row
