"""The chat REPL loop: it takes callables and knows nothing about models or stores."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError

HELP = """Ask a question, or:
  /sources   the passages behind the last answer
  /usage     tokens used by the LLM in this session
  /reset     forget the conversation (follow-ups start fresh)
  /help      this help
  /quit      leave (or Ctrl-D); Ctrl-C cancels the current answer"""


@dataclass
class ChatIO:
    """Terminal hooks for the loop."""

    read: Callable[[str], str]
    write: Callable[[str], None]
    show_answer: Callable[[Any], None]
    show_passages: Callable[[list[Any]], None]
    history_file: Path | None = None


def _setup_readline(history_file: Path | None) -> Callable[[], None]:
    try:
        import readline
    except ImportError:  # pragma: no cover - platforms without readline
        return lambda: None
    if history_file is not None and history_file.exists():
        with contextlib.suppress(OSError):
            readline.read_history_file(str(history_file))

    def save() -> None:
        if history_file is not None:
            try:
                history_file.parent.mkdir(parents=True, exist_ok=True)
                readline.set_history_length(1000)
                readline.write_history_file(str(history_file))
            except OSError:
                pass

    return save


def usage_line(usage: dict[str, int], answered: int, unreported: int) -> str:
    """/usage: token totals, never a 0 that only means the server did not say."""
    if answered and unreported == answered:
        return (f"LLM tokens this session: not reported by the server ({answered} "
                f"answer{'s' if answered != 1 else ''})")
    line = (f"LLM tokens this session: prompt {usage['prompt_tokens']}, "
            f"completion {usage['completion_tokens']}")
    if unreported:
        line += f" ({unreported} of {answered} answers not reported by the server)"
    return line


def run_chat(answer_fn: Callable[[str, list[tuple[str, str]]], Any], io: ChatIO) -> None:
    """Read questions until /quit or end of input; keep history for follow-ups."""
    save = _setup_readline(io.history_file)
    history: list[tuple[str, str]] = []
    last: Any = None
    usage = {"prompt_tokens": 0, "completion_tokens": 0}
    answered = unreported = 0  # answers the model wrote; those whose server reported no usage
    io.write("Ask about your articles. /help for commands, Ctrl-D to quit.")
    try:
        while True:
            try:
                line = io.read("> ").strip()
            except EOFError:
                io.write("")
                return
            except KeyboardInterrupt:
                io.write("")
                continue
            if not line:
                continue
            if line.startswith("/"):
                cmd = line.split()[0].lower()
                if cmd in ("/quit", "/exit", "/q"):
                    return
                if cmd == "/help":
                    io.write(HELP)
                elif cmd == "/reset":
                    history.clear()
                    last = None
                    io.write("Conversation cleared.")
                elif cmd == "/sources":
                    io.show_passages(last.passages if last is not None else [])
                elif cmd == "/usage":
                    io.write(usage_line(usage, answered, unreported))
                else:
                    io.write(f"Unknown command {cmd}: /help lists the commands.")
                continue
            try:
                answer = answer_fn(line, list(history))
            except KeyboardInterrupt:
                io.write("\n(cancelled)")
                continue
            except AssistantError as exc:
                io.write(f"Error: {exc}")
                continue
            io.show_answer(answer)
            if getattr(answer, "llm", None) is not None:  # the model wrote (or tried) it
                answered += 1
                unreported += answer.usage is None
            for key in usage:
                usage[key] += int((answer.usage or {}).get(key, 0))
            last = answer
            history.append((answer.rewritten_question or line, answer.answer))  # chains keep their subject
    finally:
        save()
