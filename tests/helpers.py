"""Small helpers shared by test modules."""

from __future__ import annotations

from pathlib import Path

from assistant.config import PROJECT_ROOT

SEED = PROJECT_ROOT / "seeds" / "000_e8d20170f0601f30.txt"
CORPUS = PROJECT_ROOT.parent / "shared" / "data" / "realtimeqa" / "corpus.jsonl"


def write_articles(folder: Path, articles: dict[str, str]) -> Path:
    """Write {filename: text} into folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in articles.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def md(title: str, date: str, body: str, source: str = "example.com") -> str:
    """A markdown article with front matter."""
    return f"---\ntitle: {title}\ndate: {date}\nsource: {source}\n---\n\n{body}\n"
