"""Print README.md's two set-up lines (the first fenced block), for .ci/run to run verbatim.

Exits 2 with a message when that block does not hold exactly two commands, so README and CI
cannot silently drift apart: CI runs whatever README tells a user to run, nothing retyped.
"""

from __future__ import annotations

import sys
from pathlib import Path


def setup_lines(readme: str) -> list[str]:
    """The non-empty lines of README's first ``` block."""
    lines = readme.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("```")]
    if len(starts) < 2:
        raise ValueError("README.md has no fenced block")
    return [line for line in lines[starts[0] + 1:starts[1]] if line.strip()]


def main() -> int:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    try:
        found = setup_lines(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"readme_lines: {path}: {exc}", file=sys.stderr)
        return 2
    if len(found) != 2:
        print(f"readme_lines: {path}: the first fenced block holds {len(found)} lines, "
              "not the two set-up commands (install+run, install+test)", file=sys.stderr)
        return 2
    print("\n".join(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
