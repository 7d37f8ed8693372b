"""Answers and Sources in a real pseudo-terminal are wrapped at word boundaries to its width;
piped output keeps its lines as they are."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from assistant.cli.render import cells

ROOT = Path(__file__).resolve().parent.parent
GIVE_UP_S = 300  # not a speed limit: only so that a broken terminal cannot hang the suite
QUESTION = "Who joined the SCO in 2024?"
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


def _in_pty(args: list[str], columns: int, env: dict[str, str]) -> str:
    """Run `args` with stdout and stderr on a pseudo-terminal `columns` wide; what it printed."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower,
                            cwd=ROOT, env=env, close_fds=True)
    os.close(follower)
    out = b""
    deadline = time.monotonic() + GIVE_UP_S
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1.0)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            out += data
        elif proc.poll() is not None:
            break
    proc.wait(timeout=GIVE_UP_S)
    os.close(leader)
    assert proc.returncode == 0, out.decode("utf-8", "replace")
    return _ESCAPES.sub("", out.decode("utf-8").replace("\r\n", "\n"))


@pytest.fixture(scope="module")
def seeded_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    store = tmp_path_factory.mktemp("store")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ASSISTANT_"))}
    env.pop("COLUMNS", None)  # the terminal's own size, not an inherited setting
    env.update({"ASSISTANT_STORE": str(store), "TERM": "xterm", "NO_COLOR": "1"})
    return env


@pytest.mark.parametrize("columns", [80, 120])
def test_no_word_is_split_and_no_line_overflows(seeded_env: dict[str, str], columns: int) -> None:
    command = [sys.executable, "-m", "assistant", "ask", QUESTION]
    piped = subprocess.run(command, cwd=ROOT, env=seeded_env, capture_output=True, text=True,
                           timeout=GIVE_UP_S, check=True).stdout
    assert max(cells(line) for line in piped.splitlines()) > 120  # the case worth wrapping
    shown = _in_pty(command, columns, seeded_env)
    answer = shown[shown.index("Belarus"):]
    lines = answer.rstrip("\n").split("\n")
    assert all(cells(line) <= columns for line in lines), [ln for ln in lines if cells(ln) > columns]
    assert answer.split() == piped[piped.index("Belarus"):].split()  # the same words, none cut
    assert len(lines) > len(piped[piped.index("Belarus"):].rstrip("\n").split("\n"))
    sources = answer[answer.index("Sources"):].split("\n")[1:]
    assert sources[0].startswith(" [1] ")
    assert all(line.startswith("     ") for line in sources[1:] if line)  # hanging indent
    title = " ".join(line.strip() for line in sources)[4:].split(" — ")[0]
    assert title.endswith("…") and len(title) <= 100  # a sentence of text, shortened
