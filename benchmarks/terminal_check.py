"""The LLM path in a real terminal against a real server: what stays on screen is what a pipe gets.

For each question, runs `assistant ask` twice against whatever OPENAI_BASE_URL points at: piped
(stdout and stderr captured) and in a tmux terminal (120x50, so the answer streams live), then
reads the terminal's whole scroll-back (wrapped lines joined) and checks:
- every line left on screen after the command is a line the piped run printed (streamed model text
  that verification rejected, or a removed marker, would be an extra line);
- the piped run's answer lines are all on screen (the same final answer);
- no citation marker on screen is beyond the sources listed.

    OPENAI_BASE_URL=http://127.0.0.1:8080/v1 ASSISTANT_LLM_MODEL=gemma-3-270m \
        python benchmarks/terminal_check.py [--store DIR] [--name terminal_check]

Needs tmux. The store defaults to a fresh one holding the seed article. A model that samples
can give different texts in the two runs; llama.cpp's server at the client's temperature 0 did not.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ROOT, run_cli, write_result

QUESTIONS = ["Who joined the SCO in 2024?", "Who won the 2022 World Cup?"]
SESSION = "assistant-terminal-check"
DONE = "__ASSISTANT_DONE__"
WAIT_S = 900  # a CPU model answers in 1-3 min; the check gives up after this


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def in_terminal(question: str, env: dict[str, str]) -> str:
    """The whole scroll-back of a 120x50 tmux terminal after `assistant ask question`."""
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    _tmux("new-session", "-d", "-s", SESSION, "-x", "120", "-y", "50")
    try:
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        command = (f"cd {shlex.quote(str(ROOT))} && clear && {exports} {shlex.quote(sys.executable)} "
                   f"-m assistant ask {shlex.quote(question)}; echo {DONE}")
        _tmux("send-keys", "-t", SESSION, command, "Enter")
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            time.sleep(3)
            screen = _tmux("capture-pane", "-t", SESSION, "-p", "-J", "-S", "-", "-E", "-")
            if re.search(rf"^{DONE}\s*$", screen, re.M):
                return screen
        raise SystemExit(f"no answer in the terminal after {WAIT_S} s: {question}")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)


def _lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def check(question: str, env: dict[str, str]) -> dict[str, Any]:
    seconds, _, out, err = run_cli(["ask", question], env)
    piped = _lines(out) + _lines(err)
    screen = in_terminal(question, env)
    shown = _lines(screen.split(f"ask {shlex.quote(question)}", 1)[-1].split(DONE, 1)[0])
    shown = [s for s in shown if not s.endswith(f"echo {DONE}")]
    sources = len(re.findall(r"^\s*\[\d+\]", out, re.M))
    markers = {int(m) for s in shown for m in re.findall(r"\[(\d+)\]", s)}
    extra = [s for s in shown if s not in piped]
    missing = [s for s in _lines(out) if s not in shown]
    return {
        "question": question, "piped_seconds": round(seconds, 1),
        "answer": _lines(out)[0] if out.strip() else "",
        "extra_lines_on_screen": extra, "answer_lines_missing_on_screen": missing,
        "markers_beyond_sources": sorted(m for m in markers if m > sources),
        "ok": not extra and not missing and all(m <= sources for m in markers),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", help="store to use (default: a fresh seed store)")
    ap.add_argument("--name", default="terminal_check")
    args = ap.parse_args()
    if not os.environ.get("OPENAI_BASE_URL"):
        raise SystemExit("Set OPENAI_BASE_URL (and ASSISTANT_LLM_MODEL) to the server to check")
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is needed for the terminal check (apt install tmux)")
    store = args.store or str(Path(tempfile.mkdtemp(prefix="terminal-check-")) / "store")
    env = {"ASSISTANT_STORE": store, "OPENAI_BASE_URL": os.environ["OPENAI_BASE_URL"]}
    env.update({k: v for k, v in os.environ.items() if k.startswith("ASSISTANT_LLM_")})
    results = []
    for question in QUESTIONS:
        results.append(check(question, env))
        print(results[-1], flush=True)
    report = {"server": env["OPENAI_BASE_URL"], "model_asked": env.get("ASSISTANT_LLM_MODEL", ""),
              "questions": results, "all_ok": all(r["ok"] for r in results)}
    print(f"all ok: {report['all_ok']}; wrote {write_result(args.name, report)}")


if __name__ == "__main__":
    main()
