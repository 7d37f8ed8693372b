"""Shared fixtures: a real Chroma store in tmp_path, the real packaged embedder, no network."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from openai_server import openai_server_fixture  # noqa: F401  (the `openai_server` fixture)

from assistant.app import App, build_app
from assistant.config import Settings, load_settings

for _var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ASSISTANT_STORE", "ASSISTANT_CHROMA_URL",
             "ASSISTANT_EMBED_MODEL", "ASSISTANT_LLM_MODEL"):
    os.environ.pop(_var, None)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One quantized-model cache for the whole session."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture()
def make_settings(tmp_path: Path, model_cache: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        base: dict[str, Any] = {"store": str(tmp_path / "store"), "cache_dir": str(model_cache)}
        base.update(overrides)
        return load_settings(base, environ={}, dotenv_path=tmp_path / "no.env")

    return make


@pytest.fixture()
def make_app(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., App]]:
    apps: list[App] = []

    def make(**overrides: Any) -> App:
        app = build_app(make_settings(**overrides))
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()
