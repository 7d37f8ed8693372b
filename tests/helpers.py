"""Small helpers shared by test modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import PROJECT_ROOT

SEED = PROJECT_ROOT / "seeds" / "000_e8d20170f0601f30.txt"
# The shared RealTime QA data, found from the repository root (never by an absolute path).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_file(*parts: str) -> Path:
    """The file under ../shared/data/, or skip the calling test saying what is missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found beside the repository: ../shared/data/{'/'.join(parts)}")
    return path


def write_articles(folder: Path, articles: dict[str, str]) -> Path:
    """Write {filename: text} into folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in articles.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def md(title: str, date: str, body: str, source: str = "example.com") -> str:
    """A markdown article with front matter."""
    return f"---\ntitle: {title}\ndate: {date}\nsource: {source}\n---\n\n{body}\n"
