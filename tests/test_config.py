"""Settings precedence and documentation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.config import PROJECT_ROOT, load_settings, setting_fields
from assistant.errors import ConfigError


def test_precedence_flag_over_env_over_dotenv(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("ASSISTANT_TOP_K=7\nASSISTANT_LLM_MODEL=from-dotenv\nASSISTANT_STORE=dot\n")
    env = {"ASSISTANT_LLM_MODEL": "from-env", "ASSISTANT_STORE": ""}
    s = load_settings({"store": None}, environ=env, dotenv_path=dotenv)
    assert s.top_k == 7
    assert s.llm_model == "from-env"
    assert s.store == "dot"  # empty env value counts as unset
    s = load_settings({"llm_model": "from-flag"}, environ=env, dotenv_path=dotenv)
    assert s.llm_model == "from-flag"


def test_defaults_and_llm_switch(tmp_path: Path) -> None:
    s = load_settings(environ={}, dotenv_path=tmp_path / "none")
    assert (s.store, s.top_k, s.llm_model, s.llm_timeout, s.llm_retries) == (
        ".assistant", 5, "gpt-4o-mini", 300.0, 2)
    assert not s.llm_enabled
    assert load_settings(environ={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"},
                         dotenv_path=tmp_path / "none").llm_enabled
    assert not load_settings({"no_llm": True}, environ={"OPENAI_API_KEY": "k"},
                             dotenv_path=tmp_path / "none").llm_enabled


def test_bad_number_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ASSISTANT_TOP_K|top_k"):
        load_settings(environ={"ASSISTANT_TOP_K": "many"}, dotenv_path=tmp_path / "none")


def test_env_example_lists_every_setting() -> None:
    text = (PROJECT_ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, re.M))
    expected = {env for _, env, _, _ in setting_fields()}
    assert expected == documented
