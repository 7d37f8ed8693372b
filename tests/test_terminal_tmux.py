"""The streamed draft in a real terminal emulator (tmux): erased without a trace in the scroll-back."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GIVE_UP_S = 300  # not a speed limit: only so that a broken terminal cannot hang the suite

DRAFT = """
import sys
from assistant.cli.commands import TerminalStream
stream = TerminalStream(enabled=True, ansi=True)
for i in range(int(sys.argv[1])):
    stream.sink(f"DRAFT line {i} " + "word " * 20 + "\\n")
stream.erase()
print("FINAL answer")
"""


def _tmux(server: str, *args: str) -> str:
    """Run a tmux command on this test's own server (-L): never on a shared one, whose last session
    ending shuts it down under the next test's new-session (a race that failed this test)."""
    done = subprocess.run(["tmux", "-L", server, *args], capture_output=True, text=True)
    assert done.returncode == 0, f"tmux {' '.join(args)}: {done.stderr.strip()}"
    return done.stdout


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
@pytest.mark.parametrize("lines", [3, 12, 60])  # a few rows, most of the screen, more than fits
@pytest.mark.parametrize("clear", [True, False])  # after `clear` the draft starts at the top row
def test_the_draft_leaves_nothing_in_the_scroll_back(tmp_path: Path, lines: int, clear: bool) -> None:
    script = tmp_path / "draft.py"
    script.write_text(DRAFT, encoding="utf-8")
    server = session = f"assistant-test-{uuid.uuid4().hex[:8]}"
    _tmux(server, "new-session", "-d", "-s", session, "-x", "80", "-y", "24")
    try:
        command = (f"{'clear && ' if clear else ''}cd {shlex.quote(str(ROOT))} && "
                   f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} {lines}; echo __END__")
        _tmux(server, "send-keys", "-t", session, command, "Enter")
        deadline = time.monotonic() + GIVE_UP_S
        seen = ""
        while time.monotonic() < deadline and "\n__END__" not in seen:
            time.sleep(0.5)
            seen = _tmux(server, "capture-pane", "-t", session, "-p", "-J", "-S", "-", "-E", "-")
        assert "FINAL answer" in seen
        assert "DRAFT" not in seen.split("__END__")[0].split(script.name)[-1]
    finally:
        subprocess.run(["tmux", "-L", server, "kill-server"], capture_output=True)
