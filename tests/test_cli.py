"""The CLI through CliRunner: help everywhere, exact JSON, one-line errors, chat commands."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from helpers import SEED, md, write_articles

from assistant.cli.main import cli
from assistant.models import NOT_FOUND


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    for name, cmd in group.commands.items():
        out.extend(_commands(cmd, prefix + (name,)) if isinstance(cmd, click.Group)
                   else [prefix + (name,)])
    return out


@pytest.fixture()
def run(tmp_path: Path, model_cache: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    env = {"ASSISTANT_STORE": str(tmp_path / "store"), "ASSISTANT_CACHE_DIR": str(model_cache)}

    def invoke(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(cli, list(args), env=env, input=input, catch_exceptions=False)

    return invoke


def test_every_command_has_help(run) -> None:  # type: ignore[no-untyped-def]
    commands = _commands(cli)
    assert {c[0] for c in commands if c} >= {"ingest", "ask", "chat", "eval", "sync", "doctor"}
    for path in commands:
        result = run(*path, "--help")
        assert result.exit_code == 0, path
        assert "Usage:" in result.output and len(result.output.splitlines()) > 4


def test_ask_json_on_the_seed(run) -> None:  # type: ignore[no-untyped-def]
    result = run("ask", "Who joined the SCO in 2024?", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert set(data) >= {"question", "answer", "mode", "citations", "passages", "warnings", "timings_ms"}
    assert data["mode"] == "extractive"
    assert data["answer"].startswith("Belarus.")  # the short answer leads, then the cited sentence
    first = data["citations"][0]
    assert first["published_at"] == "2024-07-04"
    assert first["path"].endswith("seeds/000_e8d20170f0601f30.txt")
    assert first["quote"] in SEED.read_text(encoding="utf-8")
    assert set(first) == {"n", "article_id", "title", "source", "published_at", "url", "path", "quote"}
    assert {"n", "article_id", "score", "text"} <= set(data["passages"][0])
    assert "indexing" in result.stderr  # the empty store was filled from seeds/ and it said so


def test_not_found_sentence(run) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(run("ask", "Who won the 2022 football World Cup?", "--json").stdout)
    assert (data["answer"], data["mode"], data["citations"]) == (NOT_FOUND, "none", [])


def test_plain_ask_prints_sources(run) -> None:  # type: ignore[no-untyped-def]
    out = run("ask", "Who joined the SCO in 2024?").stdout
    assert "Belarus" in out
    assert "\n\nSources\n [" in out
    assert "— published 2024-07-04 — " in out


def test_errors_are_one_line(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run("ingest", str(tmp_path / "missing"))
    assert result.exit_code != 0
    assert "missing" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run("ingest", str(empty))
    assert result.exit_code == 0 and "Nothing to index" in result.stderr
    result = run("ask", "--as-of", "yesterday", "x")
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.stderr
    result = run("ask", "--as-of", "2024-02-30", "x")
    assert result.exit_code == 2 and "'2024-02-30' is not a real day" in result.stderr


def test_other_embedder_is_a_clear_error(run) -> None:  # type: ignore[no-untyped-def]
    assert run("ingest").exit_code == 0
    result = run("--embed-model", "local:minilm-l6", "ask", "Who joined the SCO?")
    assert result.exit_code != 0
    assert "built with embedder 'local:minilm-l6-q8'" in result.stderr
    assert "ASSISTANT_EMBED_MODEL" in result.stderr and "Traceback" not in result.stderr


def test_ingest_reports_indexed_and_skipped(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = write_articles(tmp_path / "docs", {"a.md": md("Alpha", "2022-01-01", "Alpha opened a plant."),
                                                "b.xyz": "???"})
    result = run("ingest", str(folder))
    assert result.exit_code == 4  # indexed, but a file was skipped
    assert "Indexed 1 new and 0 changed article(s)" in result.stdout
    assert "b.xyz" in result.stderr and "skipped" in result.stderr
    again = json.loads(run("ingest", str(folder), "--json").stdout)
    assert (again["embedded"], again["articles_unchanged"]) == (0, 1)


def test_chat_commands_and_follow_up(run) -> None:  # type: ignore[no-untyped-def]
    script = "/help\nWho joined the SCO in 2024?\n/sources\nAnd who represented India?\n/usage\n/reset\n/quit\n"
    result = run("chat", input=script)
    assert result.exit_code == 0
    out = result.stdout
    assert "/sources" in out and "Belarus" in out
    assert "searched for:" in result.stderr  # the follow-up was rewritten with the previous terms
    assert "LLM tokens this session: prompt 0, completion 0" in out
    assert "Conversation cleared." in out
