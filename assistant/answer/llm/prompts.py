"""Prompt templates: text files in prompts/ with checked $placeholders, read at use time."""

from __future__ import annotations

from pathlib import Path
from string import Template

from assistant.config import Settings
from assistant.errors import ConfigError


def prompt_path(settings: Settings, name: str) -> Path:
    """Where prompt `name` lives: <prompts_dir>/<name>.txt."""
    return Path(settings.prompts_dir) / f"{name}.txt"


def load_prompt(settings: Settings, name: str, **values: str) -> str:
    """The prompt with every $placeholder filled; ConfigError when one is missing or unknown."""
    return _checked(settings, name, values).substitute(values)


def load_messages(settings: Settings, name: str, **values: str) -> list[dict[str, str]]:
    """Chat messages from a prompt file split at its `[system]` / `[user]` lines.

    The split happens before filling, so a "[user]" line inside article text changes nothing.
    A file without a `[user]` line is one user message.
    """
    template = _checked(settings, name, values)
    lines = template.template.splitlines()
    marks = [i for i, line in enumerate(lines) if line.strip() == "[user]"]
    if not marks:
        return [{"role": "user", "content": template.substitute(values).strip()}]
    system = "\n".join(line for line in lines[: marks[0]] if line.strip() != "[system]")
    user = "\n".join(lines[marks[0] + 1 :])
    messages = []
    if system.strip():
        messages.append({"role": "system", "content": Template(system).substitute(values).strip()})
    messages.append({"role": "user", "content": Template(user).substitute(values).strip()})
    return messages


def _checked(settings: Settings, name: str, values: dict[str, str]) -> Template:
    path = prompt_path(settings, name)
    try:
        template = Template(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"Cannot read prompt {path} ({exc.__class__.__name__}): "
            "restore the file or fix ASSISTANT_PROMPTS_DIR"
        ) from None
    if not template.is_valid():
        raise ConfigError(f"Prompt {path} has an invalid $placeholder: write a literal $ as $$")
    wanted = set(template.get_identifiers())
    missing = sorted(wanted - values.keys())
    unknown = sorted(values.keys() - wanted)
    if missing:
        raise ConfigError(
            f"Prompt {path} uses unknown placeholder(s) {', '.join('$' + m for m in missing)}: "
            "remove them or restore the file"
        )
    if unknown:
        raise ConfigError(
            f"Prompt {path} lacks placeholder(s) {', '.join('$' + u for u in unknown)}: "
            "add them back or restore the file"
        )
    return template
