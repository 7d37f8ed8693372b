"""One file that breaks its reader is skipped with one line; everything else is indexed and findable."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import md, write_articles

import assistant.ingest.html as html_reader
from assistant.app import App
from assistant.cli.main import cli
from assistant.models import Article, Skipped
from assistant.retrieve.hybrid import Query

ISLANDS = ["Skerrow", "Varnholm", "Quillan", "Drossey", "Tarbeck", "Mirrowby"]
GOOD = {f"good{i}.md": md(f"{name} report", f"2024-03-0{i + 1}",
                          f"The lighthouse keeper of {name} island counted {i + 40} seals.")
        for i, name in enumerate(ISLANDS)}
PAGE = ("<html><head><title>Harbour news</title></head><body><article><p>The Quellmouth harbour "
        "reopened on Friday after a week of repairs, port officials said in a statement.</p>"
        "<p>Ferries will run on the normal timetable from Monday, the operator added.</p>"
        "</article></body></html>")


def _folder(tmp_path: Path) -> Path:
    folder = write_articles(tmp_path / "docs", {**GOOD, "page.html": PAGE})
    (folder / "sub").mkdir()
    write_articles(folder / "sub", {"broken.html": PAGE.replace("Quellmouth", "Brokenford")})
    return folder


def _explode_on_broken(real_reader):  # type: ignore[no-untyped-def]
    def reader(path: Path, shown: str, data: bytes) -> Article | Skipped:
        if path.name == "broken.html":
            raise KeyError("an unexpected reader bug")
        return real_reader(path, shown, data)  # type: ignore[no-any-return]
    return reader


def _found(app: App, text: str) -> list[str]:
    return [p.path for p in app.retriever.retrieve(Query(text, top_k=3, use_window=False)).passages]


def test_a_reader_that_raises_skips_only_its_file(make_app: Callable[..., App], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app()
    monkeypatch.setattr(html_reader, "read_html", _explode_on_broken(html_reader.read_html))
    folder = _folder(tmp_path)
    with app.writer_lock():
        report = app.indexer().run([folder])
    assert report.articles_new == len(GOOD) + 1
    assert report.outcome == "partial"
    (skip,) = report.skipped
    assert skip.path.endswith("sub/broken.html") and "KeyError" in skip.reason
    assert "\n" not in skip.reason
    assert app.manifest.counts()["articles"] == len(GOOD) + 1
    assert app.store.count() == app.manifest.counts()["chunks"]  # nothing half-written
    for i, name in enumerate(ISLANDS):
        assert _found(app, f"{name} island seals")[0].endswith(f"good{i}.md")
    assert _found(app, "Quellmouth harbour reopened")[0].endswith("page.html")
    assert not any("broken" in p for p in _found(app, "Brokenford harbour reopened"))


def test_a_missing_reader_library_is_a_skip(make_app: Callable[..., App], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app()
    monkeypatch.setitem(sys.modules, "trafilatura", None)  # `import trafilatura` -> ImportError
    monkeypatch.setitem(sys.modules, "trafilatura.utils", None)
    folder = _folder(tmp_path)
    with app.writer_lock():
        report = app.indexer().run([folder])
    assert report.articles_new == len(GOOD)
    assert sorted(Path(s.path).name for s in report.skipped) == ["broken.html", "page.html"]
    assert all("ModuleNotFoundError" in s.reason and "trafilatura" in s.reason for s in report.skipped)
    monkeypatch.undo()
    with app.writer_lock():
        again = app.indexer().run([folder])  # the skipped files were not marked as read
    assert (again.articles_new, again.articles_unchanged, again.outcome) == (2, len(GOOD), "complete")


def test_one_article_of_a_jsonl_file_that_cannot_be_chunked_skips_alone(
        make_app: Callable[..., App], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import assistant.ingest as ingest

    lines = [{"id": f"isle-{i}", "title": f"{name} report", "published_at": f"2024-03-0{i + 1}",
              "body": f"The lighthouse keeper of {name} island counted {i + 40} seals."}
             for i, name in enumerate(ISLANDS)]
    path = tmp_path / "feed.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    real = ingest.chunk_article

    def flaky(article: Article, *args: object, **kwargs: object) -> object:
        if "Quillan" in article.text:
            raise TimeoutError("regular-expression match exceeded its 5.0s time limit")
        return real(article, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest, "chunk_article", flaky)
    app = make_app()
    with app.writer_lock():
        report = app.indexer().run([path])
    assert report.articles_new == len(ISLANDS) - 1 and report.outcome == "partial"
    quillan = f"isle-{ISLANDS.index('Quillan')}"
    assert [s.path for s in report.skipped if "TimeoutError" in s.reason] == [f"{path} (article {quillan})"]
    monkeypatch.setattr(ingest, "chunk_article", real)
    with app.writer_lock():
        again = app.indexer().run([path])  # the file stayed "changed": the lost article comes back
    assert (again.articles_new, again.articles_unchanged) == (1, len(ISLANDS) - 1)


@pytest.fixture()
def run(tmp_path: Path, model_cache: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    env = {"ASSISTANT_STORE": str(tmp_path / "store"), "ASSISTANT_CACHE_DIR": str(model_cache)}

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    return invoke


def test_exit_codes(run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    good = write_articles(tmp_path / "good", dict(list(GOOD.items())[:2]))
    assert run("ingest", str(good)).exit_code == 0
    monkeypatch.setattr(html_reader, "read_html", _explode_on_broken(html_reader.read_html))
    mixed = _folder(tmp_path)
    result = run("ingest", str(mixed))
    assert result.exit_code == 4
    lines = [line for line in result.stderr.splitlines() if "broken.html" in line]
    assert len(lines) == 1 and "KeyError" in lines[0]
    bad = write_articles(tmp_path / "bad", {"a.bin.txt": "\x00\x01\x02" * 50, "b.xyz": "?"})
    result = run("ingest", str(bad), "--json")
    assert result.exit_code == 5
    assert json.loads(result.stdout)["outcome"] == "nothing"
    help_text = run("ingest", "--help").output
    assert all(f"  {code}  " in help_text for code in range(2, 6))


def test_an_article_that_fails_to_chunk_skips_only_itself(make_app: Callable[..., App], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import assistant.ingest as ingest

    lines = [{"id": f"x{i}", "title": f"{name} report", "published_at": "2024-03-01",
              "body": f"The lighthouse keeper of {name} island counted {i + 40} seals."}
             for i, name in enumerate(ISLANDS)]
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "all.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    real = ingest.chunk_article

    def chunk(article, *args):  # type: ignore[no-untyped-def]
        if article.id == "x2":
            raise TimeoutError("regular-expression match exceeded its time limit")
        return real(article, *args)

    monkeypatch.setattr(ingest, "chunk_article", chunk)
    app = make_app()
    with app.writer_lock():
        report = app.indexer().run([folder])
    assert report.articles_new == len(ISLANDS) - 1 and report.outcome == "partial"
    (skip,) = report.skipped
    assert "x2" in skip.path and "TimeoutError" in skip.reason
    monkeypatch.undo()
    with app.writer_lock():
        again = app.indexer().run([folder])  # the file was not marked as read: x2 comes in now
    assert (again.articles_new, again.outcome) == (1, "complete")


def test_punkt_gets_time_on_a_loaded_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    from nltk import redos

    from assistant.ingest.chunking import chunk_article

    monkeypatch.setattr(redos, "DEFAULT_TIMEOUT", 1e-9)  # as if every match took too long
    article = Article(id="a", title="T", source=None, url=None, author=None, published_at=None,
                      path="a.txt", text="First sentence here. " * 300)
    assert len(chunk_article(article)) > 1
    assert redos.DEFAULT_TIMEOUT == 1e-9  # put back afterwards
