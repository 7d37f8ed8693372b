"""The BM25 index beside the store (store/lexical.py): built from the manifest's chunks, ranked,
filtered by day and rebuilt when the manifest's generation moves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant.retrieve.hybrid import lexical_hits
from assistant.store.lexical import load_lexical


class Chunks:
    """A ChunkSource: rows (chunk_id, article_id, text, title, source, published_day)."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows
        self.gen = 1

    def generation(self) -> int:
        return self.gen

    def iter_chunks(self) -> Iterator[list[tuple[Any, ...]]]:
        yield self.rows


ROWS = [
    ("c1", "a1", "The ferry ran aground near the harbour of Valdora.", "Ferry aground", "x.com", 100),
    ("c2", "a2", "Parliament passed the budget after a long night.", "Budget passes", "y.com", 101),
    ("c3", "a3", "Valdora's mayor praised the rescue crews.", "Mayor thanks crews", "x.com", 150),
]


def test_bm25_ranks_by_rare_words_and_respects_days_and_sources(tmp_path: Path) -> None:
    lex = load_lexical(Chunks(ROWS), tmp_path / "bm25")
    assert lexical_hits(lex, "ferry aground Valdora", None, None, None, 3)[0] == "c1"
    assert lexical_hits(lex, "Valdora", 120, None, None, 3) == ["c3"]
    assert lexical_hits(lex, "Valdora", None, None, ["y.com"], 3) == []
    assert lexical_hits(lex, "zeppelin", None, None, None, 3) == []


def test_the_index_is_rebuilt_when_the_generation_moves(tmp_path: Path) -> None:
    source = Chunks(ROWS)
    first = load_lexical(source, tmp_path / "bm25")
    assert load_lexical(source, tmp_path / "bm25").ids == first.ids  # loaded, not rebuilt
    source.rows = [*ROWS, ("c4", "a4", "A zeppelin landed in the park.", "Zeppelin", "z.com", 160)]
    source.gen = 2
    again = load_lexical(source, tmp_path / "bm25")
    assert again.generation == 2 and lexical_hits(again, "zeppelin", None, None, None, 3) == ["c4"]


def test_a_damaged_index_is_rebuilt(tmp_path: Path) -> None:
    load_lexical(Chunks(ROWS), tmp_path / "bm25")
    (tmp_path / "bm25" / "meta.json").write_text("{not json", encoding="utf-8")
    assert load_lexical(Chunks(ROWS), tmp_path / "bm25").ids == ["c1", "c2", "c3"]


def test_our_tokens_are_the_tokens_bm25s_gives() -> None:
    import bm25s

    from assistant.store.lexical import _stemmer, tokenize

    texts = [
        "The SCO's summit in Astana: Belarus joined; Modi sent S. Jaishankar.",
        "It’s 2024 — prices rose 3.5% to $1,200 (a record), per the U.S. Fed's data!",
        "Café owners in São Paulo and Zürich said naïve résumés are THE problem.",
        "a I x 7 of and the",  # stop words and one-letter words only
        "",
        "Running runners ran; connected connections connecting.",
    ]
    stemmer = _stemmer()
    theirs = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False)
    assert tokenize(texts, stemmer) == [list(t) for t in theirs]
    assert tokenize([texts[0]], stemmer)[0][:3] == ["sco", "summit", "astana"]
