"""The manifest (index/manifest.py): files, articles and chunks in SQLite, the truth for sync."""

from __future__ import annotations

from pathlib import Path

from assistant.index.manifest import Manifest
from assistant.models import Article, Chunk


def _article(aid: str, source: str | None, day: str | None = "2024-03-02") -> Article:
    return Article(id=aid, title=f"Title {aid}", source=source, url=None, author=None,
                   published_at=day, path=f"/news/{aid}.txt", text="Body text.")


def _chunks(a: Article, n: int) -> list[Chunk]:
    return [Chunk(id=f"{a.id}-{i}", article_id=a.id, index=i, text=f"chunk {i} of {a.id}",
                  embed_text=f"{a.title}\n\nchunk {i} of {a.id}", title=a.title, source=a.source,
                  url=None, author=None, published_at=a.published_at, path=a.path)
            for i in range(n)]


def test_articles_chunks_and_sources_round_trip(tmp_path: Path) -> None:
    m = Manifest(tmp_path / "manifest.sqlite3")
    a, b = _article("a", "cnn.com"), _article("b", None, None)
    with m.transaction():
        m.put_article(a, "/news/a.txt", "h1", _chunks(a, 3))
        m.put_article(b, "/news/b.txt", "h2", _chunks(b, 1))
    assert m.counts() == {"files": 0, "articles": 2, "chunks": 4}
    assert m.sources() == ["cnn.com"]
    rows = m.chunk_rows(["a-1", "b-0", "missing"])
    assert set(rows) == {"a-1", "b-0"}
    assert rows["a-1"]["published_day"] > 0 and rows["b-0"]["published_day"] == -1
    restored = next(m.chunks(["a-2"]))
    assert restored == _chunks(a, 3)[2:]  # the embedded text comes back exactly
    m.close()


def test_replacing_an_article_drops_its_old_chunks(tmp_path: Path) -> None:
    m = Manifest(tmp_path / "manifest.sqlite3")
    a = _article("a", "bbc.co.uk")
    with m.transaction():
        m.put_article(a, "/news/a.txt", "h1", _chunks(a, 3))
    with m.transaction():
        m.put_article(a, "/news/a.txt", "h2", _chunks(a, 1))
    assert m.chunk_ids("a") == {"a-0"} and m.article_hash("a") == "h2"


def test_forgetting_articles_forgets_their_files_and_a_rollback_keeps_nothing(tmp_path: Path) -> None:
    m = Manifest(tmp_path / "manifest.sqlite3")
    a = _article("a", "cnn.com")
    with m.transaction():
        m.put_article(a, "/news/a.txt", "h1", _chunks(a, 2))
        m.set_file_state("/news/a.txt", 10, 20)
    m.forget_articles(["a"])
    assert m.counts() == {"files": 0, "articles": 0, "chunks": 0}
    try:
        with m.transaction():
            m.put_article(a, "/news/a.txt", "h1", _chunks(a, 2))
            raise RuntimeError("crash mid-write")
    except RuntimeError:
        pass
    assert m.counts()["chunks"] == 0


def test_generation_and_state_id_persist(tmp_path: Path) -> None:
    path = tmp_path / "manifest.sqlite3"
    m = Manifest(path)
    state = m.state_id()
    m.bump_generation()
    m.close()
    again = Manifest(path)
    assert again.generation() == 1 and again.state_id() == state


def test_shown_articles_gain_their_lead_chunk_after_the_shown_passages(tmp_path: Path) -> None:
    from assistant.models import Passage
    from assistant.retrieve.hybrid import with_leads

    m = Manifest(tmp_path / "manifest.sqlite3")
    a, b, c = _article("a", "cnn.com"), _article("b", "bbc.com"), _article("c", "npr.org")
    with m.transaction():
        for art in (a, b, c):
            m.put_article(art, f"/news/{art.id}.txt", "h", _chunks(art, 3))
    assert set(m.lead_rows(["a", "c", "missing"])) == {"a", "c"}

    def shown(n: int, chunk: Chunk) -> Passage:
        return Passage(n=n, chunk_id=chunk.id, article_id=chunk.article_id, title=chunk.title,
                       source=chunk.source, url=None, path=chunk.path, published_at=chunk.published_at,
                       text=chunk.text, score=1.0 / n)

    passages = [shown(1, _chunks(b, 3)[2]), shown(2, _chunks(a, 3)[0]), shown(3, _chunks(c, 3)[1])]
    out = with_leads(passages, m, 2)
    assert out[:3] == passages  # the ranked passages keep their places and numbers
    # b's lead joins as [4]; a's lead is shown already; c is beyond the first two articles
    assert [(p.n, p.chunk_id, p.text) for p in out[3:]] == [(4, "b-0", "chunk 0 of b")]
    assert out[3].article_id == "b" and out[3].title == "Title b"
    assert with_leads(passages, m, 0) == passages
    m.close()
