"""An OpenAI-compatible /v1/embeddings endpoint as an Embedder."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from assistant.config import Settings
from assistant.embed.names import LOCAL_Q8
from assistant.errors import ConfigError, LLMError

if TYPE_CHECKING:
    from assistant.deadline import Clock

OPENAI_BATCH = 256  # inputs per /v1/embeddings request
_KNOWN_DIMS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072,
               "text-embedding-ada-002": 1536}  # fmt: skip


class OpenAIEmbedder:
    """An OpenAI-compatible /v1/embeddings endpoint; rows are L2-normalised here."""

    def __init__(self, settings: Settings, model: str, *, clock: Clock | None = None) -> None:
        import openai

        from assistant.deadline import CallGuard, guarded_http_client, is_local, timeouts_from

        if not (settings.openai_api_key or settings.openai_base_url):
            raise ConfigError(
                f"Embedder openai:{model} needs OPENAI_API_KEY or OPENAI_BASE_URL: set one, "
                f"or use ASSISTANT_EMBED_MODEL={LOCAL_Q8}"
            )
        self.name = f"openai:{model}"
        self.model = model
        self._secret = settings.openai_api_key or ""
        # the same retry policy (the SDK's) and deadline as chat answers: assistant/deadline.py
        self._guard = CallGuard(timeouts_from(settings), clock=clock,
                                local=is_local(settings.openai_base_url or ""))
        self._client = openai.OpenAI(
            api_key=settings.openai_api_key or "unused",
            base_url=settings.openai_base_url,
            max_retries=settings.llm_retries,
            http_client=guarded_http_client(self._guard),
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

        self._guard.start()
        try:
            reply = self._client.embeddings.create(model=self.model, input=texts)
            data = sorted(reply.data, key=lambda d: d.index)
            vectors = np.asarray([d.embedding for d in data], dtype=np.float32)
        except openai.OpenAIError as exc:
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
        from assistant.deadline import DeadlineExceeded, NotRetried

        if isinstance(exc, openai.APITimeoutError | NotRetried):
            hint = ("the server did not answer in time: raise ASSISTANT_LLM_FIRST_TOKEN_TIMEOUT "
                    "or check it")
        elif isinstance(exc, DeadlineExceeded):
            hint = "the call outlasted ASSISTANT_LLM_TIMEOUT: raise it or check the server"
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
