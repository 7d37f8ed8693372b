"""Context budget: count tokens with the bundled tiktoken encodings and trim passages to fit."""

from __future__ import annotations

import functools
import logging
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from assistant.config import Settings, offline_environment
from assistant.models import Passage

log = logging.getLogger(__name__)

# First matching prefix wins; unknown (local) models get DEFAULT_WINDOW: Ollama and llama.cpp
# often run with a small context unless told otherwise. ASSISTANT_LLM_CONTEXT overrides.
CONTEXT_WINDOWS: tuple[tuple[str, int], ...] = (
    ("gpt-4.1", 1_000_000), ("gpt-4o", 128_000), ("chatgpt-4o", 128_000),
    ("gpt-4-turbo", 128_000), ("gpt-4-32k", 32_768), ("gpt-4", 8_192),
    ("gpt-3.5-turbo", 16_385), ("gpt-5", 400_000), ("o1", 200_000), ("o3", 200_000),
    ("o4", 200_000),
)
DEFAULT_WINDOW = 4_096
ANSWER_TOKENS = 600  # reserved for the reply, and sent as max_tokens
MIN_PASSAGE_TOKENS = 40  # a passage cut shorter than this is left out instead
LOCAL_MARGIN = 1.2  # other tokenizers than OpenAI's count more tokens for the same text
_BUNDLED_FILES = {  # tiktoken cache names (sha1 of the download URL) shipped by llama-index-core
    "cl100k_base": "9b5ad71b2ce5302211f9c61530b329a4922fc6a4",
    "o200k_base": "fb374d419588a4632f3f557e76b4b70aebbca790",
}


@dataclass(frozen=True)
class Budget:
    """Tokens of the model's window and how many of them the passages may use."""

    window: int
    passage_tokens: int


def is_openai_model(model: str) -> bool:
    """True for model names whose window and tokenizer we know."""
    return any(model.startswith(prefix) for prefix, _ in CONTEXT_WINDOWS)


def context_window(settings: Settings) -> int:
    """ASSISTANT_LLM_CONTEXT, else the window of a known model name, else DEFAULT_WINDOW."""
    if settings.llm_context:
        return int(settings.llm_context)
    for prefix, window in CONTEXT_WINDOWS:
        if settings.llm_model.startswith(prefix):
            return window
    return DEFAULT_WINDOW


def plan_budget(settings: Settings, prompt_overhead: int) -> Budget:
    """Passage tokens left once the prompt around them and the reply are paid for."""
    window = context_window(settings)
    margin = 1.0 if is_openai_model(settings.llm_model) else LOCAL_MARGIN
    usable = math.floor((window - ANSWER_TOKENS) / margin)
    return Budget(window, max(0, usable - prompt_overhead - 8))


def count_tokens(text: str, model: str) -> int:
    """Tokens of `text` for `model` (OpenAI encodings; about 3 characters a token without them)."""
    enc = _encoding("o200k_base" if _uses_o200k(model) else "cl100k_base")
    if enc is None:
        return math.ceil(len(text) / 3)
    return len(enc.encode(text, disallowed_special=()))


def fit_passages(
    blocks: list[tuple[Passage, str]], budget: Budget, model: str, render: Callable[[Passage], str]
) -> tuple[list[Passage], list[str]]:
    """Keep passages in rank order while their rendered blocks fit; shorten the first that does not.

    `blocks` pairs each passage with its rendered block; `render(passage)` renders a shortened one.
    Returns the passages shown to the model and a warning when some were cut or left out.
    """
    kept: list[Passage] = []
    left = budget.passage_tokens
    shortened: int | None = None
    for passage, block in blocks:
        cost = count_tokens(block, model)
        if cost <= left:
            kept.append(passage)
            left -= cost
            continue
        frame = count_tokens(render(replace(passage, text="")), model)
        short = trim_to_tokens(passage.text, left - frame, model)
        if short and left - frame >= MIN_PASSAGE_TOKENS:
            kept.append(replace(passage, text=short))
            shortened = passage.n
        break
    if len(kept) == len(blocks) and shortened is None:
        return kept, []
    note = f"[{shortened}] shortened, " if shortened is not None else ""
    return kept, [
        f"Context budget: kept {len(kept)} of {len(blocks)} passages ({note}window "
        f"{budget.window} tokens); set ASSISTANT_LLM_CONTEXT if the model's window is larger."
    ]


def trim_to_tokens(text: str, limit: int, model: str) -> str:
    """The longest prefix of `text` ending at a sentence (else word) end within `limit` tokens."""
    if limit <= 0:
        return ""
    if count_tokens(text, model) <= limit:
        return text
    for pattern in (r"[.!?…][”\"’)]?(?=\s)", r"\S(?=\s)"):
        ends = [m.end() for m in re.finditer(pattern, text)]
        lo, hi, best = 0, len(ends) - 1, -1
        while lo <= hi:  # binary search the last end whose prefix fits
            mid = (lo + hi) // 2
            if count_tokens(text[: ends[mid]], model) <= limit:
                best, lo = mid, mid + 1
            else:
                hi = mid - 1
        if best >= 0:
            return text[: ends[best]]
    return ""


def _uses_o200k(model: str) -> bool:
    return re.match(r"^(gpt-4o|chatgpt-4o|gpt-4\.1|gpt-5|o\d)", model) is not None


@functools.lru_cache(maxsize=4)
def _encoding(name: str) -> Any:
    """The tiktoken encoding from local files only; None (estimate) rather than a download."""
    try:
        import tiktoken

        offline_environment()
        folder = os.environ.get("TIKTOKEN_CACHE_DIR")
        if not folder or not (Path(folder) / _BUNDLED_FILES[name]).is_file():
            return None  # never a download: the estimate is used instead
        return tiktoken.get_encoding(name)
    except Exception as exc:  # counting must never break answering: fall back to an estimate
        log.debug("tiktoken encoding %s unavailable: %s", name, exc)
        return None
