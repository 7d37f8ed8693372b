"""README's two set-up lines and what CI runs agree, and CI adds no step of its own."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _readme_block(text: str) -> list[str]:
    """README's first fenced block, parsed here independently of .ci/readme_lines.py."""
    match = re.search(r"^```[^\n]*\n(.*?)^```", text, re.S | re.M)
    assert match, "README.md has no fenced block"
    return [line for line in match.group(1).splitlines() if line.strip()]


def _ci_print(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(root / ".ci" / "run"), "--print"], capture_output=True,
                          text=True, timeout=60, check=False)


def test_readme_starts_with_the_two_setup_commands() -> None:
    lines = _readme_block((ROOT / "README.md").read_text("utf-8"))
    assert len(lines) == 2
    run, test = lines
    assert "requirements.lock" in run and 'assistant ask "' in run
    assert "requirements-test.lock" in test and test.endswith("pytest")
    for line in lines:  # the pip that handles the lock comes first, from its own hashed lock
        assert line.startswith("python -m pip install -r requirements-pip.lock && ")
    assert "--hash=sha256:" in (ROOT / "requirements-pip.lock").read_text("utf-8")


def test_ci_runs_exactly_the_readme_lines() -> None:
    done = _ci_print(ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == _readme_block((ROOT / "README.md").read_text("utf-8"))


def test_ci_script_has_no_install_step_of_its_own() -> None:
    script = (ROOT / ".ci" / "run").read_text("utf-8")
    code = [line for line in script.splitlines() if not line.lstrip().startswith("#")]
    assert not any(re.search(r"\bpip\s+install\b|\bpytest\b", line) for line in code)
    assert "python3 -m venv" in script


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_an_edited_readme_changes_what_ci_runs_and_a_broken_block_fails(tmp_path: Path) -> None:
    (tmp_path / ".ci").mkdir()
    for name in ("run", "readme_lines.py"):
        shutil.copy(ROOT / ".ci" / name, tmp_path / ".ci" / name)
    readme = (ROOT / "README.md").read_text("utf-8")
    edited = readme.replace("&& pytest\n", "&& pytest -x\n", 1)
    (tmp_path / "README.md").write_text(edited, "utf-8")
    done = _ci_print(tmp_path)
    assert done.returncode == 0 and done.stdout.splitlines()[1].endswith("pytest -x")
    third = edited.replace("&& pytest -x\n", "&& pytest -x\nmake install\n", 1)
    (tmp_path / "README.md").write_text(third, "utf-8")
    done = _ci_print(tmp_path)
    assert done.returncode != 0 and "3 lines" in done.stderr and not done.stdout
