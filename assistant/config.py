"""One frozen Settings object built from an explicit mapping: flag > environment > .env > default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def bundled_dir(name: str) -> Path:
    """Shipped folder `name` (seeds, prompts): the source tree's in a checkout, else the wheel's copy."""
    source = PROJECT_ROOT / name
    if (PROJECT_ROOT / "pyproject.toml").is_file() and source.is_dir():
        return source
    return Path(__file__).resolve().parent / "bundled" / name


def _field(env: str, default: Any, help: str, secret: bool = False) -> Any:
    from dataclasses import field

    return field(default=default, repr=not secret, metadata={"env": env, "help": help})


@dataclass(frozen=True)
class Settings:
    """Every setting of the assistant; each has an environment variable and a description."""

    store: str = _field("ASSISTANT_STORE", ".assistant", "Folder of the local Chroma store.")
    chroma_url: str | None = _field(
        "ASSISTANT_CHROMA_URL", None, "URL of a Chroma server (chroma run); replaces the local store."
    )
    chroma_auth_token: str | None = _field(
        "ASSISTANT_CHROMA_AUTH_TOKEN", None, "Token sent to the Chroma server (never printed).",
        secret=True,
    )
    chroma_auth_header: str = _field(
        "ASSISTANT_CHROMA_AUTH_HEADER",
        "Authorization",
        "Header that carries the token: Authorization (as 'Bearer <token>') or X-Chroma-Token.",
    )
    collection: str = _field("ASSISTANT_COLLECTION", "articles", "Chroma collection name.")
    embed_model: str = _field(
        "ASSISTANT_EMBED_MODEL",
        "local:minilm-l6-q8",
        "Embedder: local:minilm-l6-q8 (packaged model, int8 kernels), local:minilm-l6 "
        "(packaged model as shipped) or openai:<model> (an OpenAI-compatible endpoint).",
    )
    embed_threads: int = _field(
        "ASSISTANT_EMBED_THREADS", 0, "Threads for the local embedder (0 = all cores)."
    )
    embed_batch: int = _field("ASSISTANT_EMBED_BATCH", 16, "Texts per embedding batch.")
    cache_dir: str | None = _field(
        "ASSISTANT_CACHE_DIR",
        None,
        "Cache folder for the quantized model (default: $XDG_CACHE_HOME/assistant or "
        "~/.cache/assistant, else inside the store).",
    )
    top_k: int = _field("ASSISTANT_TOP_K", 5, "Passages retrieved per question.")
    retrieval: str = _field(
        "ASSISTANT_RETRIEVAL", "hybrid", "Retrieval: hybrid (BM25 + dense, fused), dense or lexical."
    )
    chunk_tokens: int = _field("ASSISTANT_CHUNK_TOKENS", 256, "Target chunk size in tokens.")
    chunk_overlap: int = _field("ASSISTANT_CHUNK_OVERLAP", 32, "Token overlap between chunks.")
    min_confidence: float = _field(
        "ASSISTANT_MIN_CONFIDENCE",
        0.8,  # refusal precision >= 0.9 on 2023-2024 (benchmarks/quality.py curve); see weights.py
        "Offline answerer: below this confidence (0-1) the answer is the not-found sentence.",
    )
    max_file_mb: float = _field(
        "ASSISTANT_MAX_FILE_MB", 64.0, "Files larger than this are skipped (JSONL excepted)."
    )
    max_jsonl_mb: float = _field(
        "ASSISTANT_MAX_JSONL_MB", 4096.0, "JSON Lines files larger than this are skipped."
    )
    max_depth: int = _field("ASSISTANT_MAX_DEPTH", 64, "Deepest folder level read by ingest.")
    openai_api_key: str | None = _field(
        "OPENAI_API_KEY", None, "API key for the LLM (never printed or logged).", secret=True
    )
    openai_base_url: str | None = _field(
        "OPENAI_BASE_URL",
        None,
        "Base URL of an OpenAI-compatible server (Ollama, vLLM, llama.cpp, LM Studio).",
    )
    llm_model: str = _field("ASSISTANT_LLM_MODEL", "gpt-4o-mini", "Chat model name.")
    llm_timeout: float = _field(
        "ASSISTANT_LLM_TIMEOUT", 300.0,
        "Overall deadline in seconds for one LLM or embeddings call, every retry and wait included.",
    )
    llm_connect_timeout: float = _field(
        "ASSISTANT_LLM_CONNECT_TIMEOUT", 10.0, "Seconds to open a connection to the LLM server."
    )
    llm_first_token_timeout: float = _field(
        "ASSISTANT_LLM_FIRST_TOKEN_TIMEOUT", 120.0,
        "Seconds to wait for the first token of a reply. A CPU server reads the prompt first "
        "(~60-90 tokens/s for a small model): 120 lets a 2,000-token prompt through.",
    )
    llm_idle_timeout: float = _field(
        "ASSISTANT_LLM_IDLE_TIMEOUT", 30.0,
        "Seconds without a new chunk once a reply is streaming (a stalled stream is given up).",
    )
    llm_retries: int = _field(
        "ASSISTANT_LLM_RETRIES", 2,
        "Retries by the openai SDK on 429, 5xx, lost connections and timeouts (with its backoff "
        "and Retry-After); a local server's read timeout is never retried (it still works on "
        "the request).",
    )
    llm_context: int | None = _field(
        "ASSISTANT_LLM_CONTEXT", None, "Context window of the model in tokens (default: by name)."
    )
    no_llm: bool = _field("ASSISTANT_NO_LLM", False, "Always use the offline answerer.")
    prompts_dir: str = _field(
        "ASSISTANT_PROMPTS_DIR", str(bundled_dir("prompts")), "Folder of prompt templates."
    )
    seeds_dir: str = _field(
        "ASSISTANT_SEEDS_DIR", str(bundled_dir("seeds")), "Default corpus for ingest and ask."
    )

    @property
    def llm_enabled(self) -> bool:
        """True when answers should come from an LLM."""
        return not self.no_llm and bool(self.openai_api_key or self.openai_base_url)


def setting_fields() -> list[tuple[str, str, Any, str]]:
    """(attribute, env var, default, description) for every setting."""
    return [(f.name, f.metadata["env"], f.default, f.metadata["help"]) for f in fields(Settings)]


def _convert(name: str, raw: str, default: Any) -> Any:
    target = type(default) if default is not None else str
    if name in ("llm_context",):
        target = int
    try:
        if target is bool:
            return raw.strip().lower() in ("1", "true", "yes", "on")
        return target(raw)
    except ValueError as exc:
        raise ConfigError(
            f"Setting {name} has an invalid value {raw!r}: fix it in .env or the environment"
        ) from exc


def read_dotenv(path: Path) -> dict[str, str]:
    """Values from a .env file (missing file: nothing)."""
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    dotenv_path: Path | None = None,
) -> Settings:
    """Build Settings: overrides (flags, by attribute) > environ > .env > defaults. Empty = unset."""
    env = dict(os.environ if environ is None else environ)
    dot = read_dotenv(dotenv_path if dotenv_path is not None else Path.cwd() / ".env")
    values: dict[str, Any] = {}
    for name, var, default, _ in setting_fields():
        raw = env.get(var) or dot.get(var)
        if raw:
            values[name] = _convert(name, raw, default)
    for name, value in (overrides or {}).items():
        if value is not None and value != "":
            values[name] = value
    return Settings(**values)


def offline_environment() -> None:
    """Keep every library offline: tiktoken reads llama-index's bundled encodings (unless the user
    set TIKTOKEN_CACHE_DIR) instead of downloading them, and Chroma's telemetry stays off."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    if os.environ.get("TIKTOKEN_CACHE_DIR"):
        return
    import importlib.util

    spec = importlib.util.find_spec("llama_index.core")
    if spec is not None and spec.origin:
        os.environ["TIKTOKEN_CACHE_DIR"] = str(Path(spec.origin).parent / "_static" / "tiktoken_cache")
