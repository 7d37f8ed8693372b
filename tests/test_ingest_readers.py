"""Readers: txt, md, html, json and jsonl files give exact titles, dates, ids and text."""

from __future__ import annotations

import itertools
import json
import socket
from pathlib import Path

import pytest
from helpers import shared_file

from assistant.config import PROJECT_ROOT, Settings
from assistant.errors import InputError
from assistant.ingest import article_files, iter_articles
from assistant.ingest.decode import clean_text, decode_bytes
from assistant.ingest.readers import file_id, metadata_date, stable_id
from assistant.ingest.walk import display_path
from assistant.models import Article, Skipped
from assistant.text import first_sentence

SEED = PROJECT_ROOT / "seeds" / "000_e8d20170f0601f30.txt"
SETTINGS = Settings()


def read(*paths: Path | str, settings: Settings = SETTINGS) -> list[Article | Skipped]:
    return list(iter_articles(list(paths), settings))


def one(path: Path) -> Article:
    results = read(path)
    assert len(results) == 1
    assert isinstance(results[0], Article), results[0]
    return results[0]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# --- plain text -------------------------------------------------------------------------------


def test_txt_title_date_line_and_body(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "storm.txt",
        "Storm closes Zurich airport\nFlights were cancelled on Thursday.\n\n"
        "Published: July 4, 2024\nMore flights resume today.\n",
    )
    article = one(path)
    assert article.title == "Storm closes Zurich airport"
    assert article.published_at == "2024-07-04"
    assert article.text == (
        "Storm closes Zurich airport\nFlights were cancelled on Thursday.\n\n"
        "More flights resume today."
    )
    assert article.id == file_id(path) == stable_id(str(path.resolve()))
    assert len(article.id) == 16
    assert article.path == str(path)  # tmp_path is outside the current folder: absolute
    assert (article.source, article.url, article.author) == (None, None, None)


def test_txt_long_first_line_gives_its_first_sentence(tmp_path: Path) -> None:
    lede = (
        "Mr. Smith of the U.S. Treasury said on Monday that inflation had fallen to 2.5 percent "
        "in June, the lowest in three years. Markets rallied after the announcement, and bond "
        "yields fell sharply across the board."
    )
    article = one(
        write(tmp_path, "lede.txt", lede + "\nSecond paragraph.\nPublished on 2024-07-01")
    )
    # the first sentence (not cut at "Mr." or "U.S."), shortened to a readable title at a word
    assert article.title == (
        "Mr. Smith of the U.S. Treasury said on Monday that inflation had fallen to 2.5 percent "
        "in June…"
    )
    assert len(article.title) <= 100
    short = one(write(tmp_path, "short.txt", "Markets rallied on Monday. " + "Words follow. " * 12))
    assert short.title == "Markets rallied on Monday."  # a short first sentence stays whole
    assert article.published_at == "2024-07-01"
    assert article.text == lede + "\nSecond paragraph."


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Updated: July 04, 2024, 12:49 PM", "2024-07-04"),
        ("Published on 2024-07-04", "2024-07-04"),
        ("Date: 4 July 2024", "2024-07-04"),
        ("Posted: Thu, 04 Jul 2024 12:49:00 +0000", "2024-07-04"),
        ("**Published:** 2023-02-28T09:00:00Z", "2023-02-28"),
    ],
)
def test_txt_date_lines(tmp_path: Path, line: str, expected: str) -> None:
    article = one(write(tmp_path, "a.txt", f"Title here\nBody text.\n{line}"))
    assert article.published_at == expected
    assert article.text == "Title here\nBody text."


def test_txt_published_wins_over_updated_and_no_date_is_none(tmp_path: Path) -> None:
    both = one(write(tmp_path, "a.txt", "T\nUpdated: 2024-07-09\nBody.\nPublished: 2024-07-01"))
    assert both.published_at == "2024-07-01"
    none = one(write(tmp_path, "b.txt", "T\nThe vote on July 4, 2024 was close.\nDate: soon"))
    assert none.published_at is None  # dates inside sentences are never taken as metadata
    assert none.text == "T\nThe vote on July 4, 2024 was close.\nDate: soon"


def test_txt_metadata_block(tmp_path: Path) -> None:
    text = "Title: Real title\nSource: Example News\nURL: https://example.com/a\n\nBody line."
    article = one(write(tmp_path, "m.txt", text))
    assert (article.title, article.source, article.url) == (
        "Real title",
        "Example News",
        "https://example.com/a",
    )
    assert article.text == "Body line."


def test_seed_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PROJECT_ROOT)
    article = one(SEED)
    first_line = SEED.read_text(encoding="utf-8").split("\n")[0]
    # the lede is one long sentence: the title is its start, cut at a word, with an ellipsis
    assert article.title == ("China’s President Xi Jinping on Thursday urged members of the Shanghai "
                             "Cooperation Organisation…")
    assert first_line.startswith(article.title[:-1] + " ")
    assert article.title.startswith("China’s President Xi Jinping on Thursday urged members")
    assert article.published_at == "2024-07-04"
    assert article.path == "seeds/000_e8d20170f0601f30.txt"
    assert article.text.startswith(first_line + "\n")
    assert article.text.endswith("war in Ukraine.")
    assert "Updated" not in article.text
    assert read("seeds") == [article]


# --- markdown ---------------------------------------------------------------------------------


def test_md_front_matter(tmp_path: Path) -> None:
    text = (
        '---\ntitle: "Budget: what changes"\ndate: 2024-03-06\nsource: BBC\n'
        "url: https://bbc.co.uk/x\nauthor: [Jane Doe]\ntags: [a, b]\n---\n\n# Heading\n\nBody."
    )
    article = one(write(tmp_path, "a.md", text))
    assert article.title == "Budget: what changes"
    assert (article.published_at, article.source, article.url, article.author) == (
        "2024-03-06",
        "BBC",
        "https://bbc.co.uk/x",
        "Jane Doe",
    )
    assert article.text == "# Heading\n\nBody."


def test_md_heading_or_first_line(tmp_path: Path) -> None:
    heading = one(write(tmp_path, "a.markdown", "Intro line\n\n# The heading #\n\nText."))
    assert heading.title == "The heading"
    assert heading.published_at is None
    plain = one(write(tmp_path, "b.md", "## Sub heading first\nText.\nPublished: 2022-01-02"))
    assert plain.title == "Sub heading first"
    assert plain.published_at == "2022-01-02"
    assert plain.text == "## Sub heading first\nText."


# --- html -------------------------------------------------------------------------------------

HTML = """<!DOCTYPE html><html><head><title>Storm hits Zurich - Example News</title>
<meta name="author" content="Jane Doe"><meta property="og:site_name" content="Example News">
<meta property="article:published_time" content="2024-07-04T10:00:00Z">
<link rel="canonical" href="https://example.com/news/storm">
<style>.x{color:red} STYLEMARK</style><script>var SCRIPTMARK = 1;</script></head>
<body><nav><a href="/">Home</a> NAVMARK menu</nav>
<article><h1>Storm hits Zurich</h1>
<p>A violent storm hit Zurich on Thursday, uprooting trees and flooding cellars across the old
town. Firefighters were called out more than 300 times during the night.</p>
<p style="display: none">HIDDENMARK one</p><div hidden>HIDDENMARK two</div>
<span style="visibility:hidden">HIDDENMARK three</span><p class="d-none">HIDDENMARK four</p>
<p>The city said damage would run into millions of francs, and that the clean-up would take
several days. Residents were asked to avoid parks and riverbanks until Monday.</p>
<p>Officials said no one had been seriously hurt, though two people were treated for minor
injuries after a tree fell on their car near the main station.</p>
</article></body></html>"""


def test_html_main_text_and_metadata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[object] = []

    def no_network(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    article = one(write(tmp_path, "a.html", HTML))
    assert article.title == "Storm hits Zurich"
    assert (article.author, article.source, article.url, article.published_at) == (
        "Jane Doe",
        "Example News",
        "https://example.com/news/storm",
        "2024-07-04",
    )
    assert "Firefighters were called out more than 300 times" in article.text
    assert "near the main station." in article.text
    for mark in ("STYLEMARK", "SCRIPTMARK", "NAVMARK", "HIDDENMARK", "<p>", "Home"):
        assert mark not in article.text
    assert attempts == []  # trafilatura got a parsed tree and never tried to fetch anything


def test_html_date_is_never_guessed_from_text(tmp_path: Path) -> None:
    body = "<p>" + "The council met again to discuss the plan. " * 12 + "</p>"
    html = f"<html><head><title>T</title></head><body><div>2021-03-04</div>{body}</body></html>"
    article = one(write(tmp_path, "b.htm", html))
    assert article.published_at is None
    assert article.title == "T"


# --- json / jsonl -----------------------------------------------------------------------------


def test_json_object_aliases(tmp_path: Path) -> None:
    obj = {
        "headline": "Rates held",
        "content": "The bank held rates.",
        "pubDate": "Thu, 04 Jul 2024 12:49:00 +0000",
        "link": "https://news.example.org/rates",
        "publisher": {"name": "Example Wire"},
        "byline": ["A. Writer", "B. Writer"],
    }
    path = write(tmp_path, "a.json", json.dumps(obj))
    article = one(path)
    assert (article.title, article.text, article.published_at) == (
        "Rates held",
        "The bank held rates.",
        "2024-07-04",
    )
    assert (article.url, article.source, article.author) == (
        "https://news.example.org/rates",
        "Example Wire",
        "A. Writer, B. Writer",
    )
    assert article.id == stable_id("url", "https://news.example.org/rates")
    assert article.path == str(path)


def test_json_list_ids_domains_and_skips(tmp_path: Path) -> None:
    items = [
        {
            "id": 7,
            "title": "A",
            "body": "Text A.",
            "url": "https://www.cnn.com/a",
            "date": "July 4, 2024",
        },
        {"title": "B", "text": "Text B.", "published": "2024-07-05T23:30:00-05:00"},
        {"title": "no text"},
        "not an object",
    ]
    path = write(tmp_path, "list.json", json.dumps(items))
    results = read(path)
    assert [type(r).__name__ for r in results] == ["Article", "Article", "Skipped", "Skipped"]
    first, second, no_text, not_object = results
    assert isinstance(first, Article) and isinstance(second, Article)
    assert (first.id, first.source, first.published_at) == ("7", "www.cnn.com", "2024-07-04")
    assert second.id == stable_id(str(path.resolve()), "2")
    assert second.published_at == "2024-07-05"  # the date as written, not shifted to UTC
    assert isinstance(no_text, Skipped) and isinstance(not_object, Skipped)
    assert no_text.path == f"{path}:3" and "no article text" in no_text.reason
    assert not_object.path == f"{path}:4" and "not a JSON object" in not_object.reason


def test_jsonl_malformed_lines_are_skipped_and_the_rest_continue(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "x1", "title": "One", "body": "First body."}),
        '{"id": "x2", "title": "Two", "body": ',
        "",
        json.dumps({"id": "x3", "body": "No title here. Second sentence."}),
        "[1, 2]",
    ]
    path = write(tmp_path, "a.jsonl", "\n".join(lines) + "\n")
    results = read(path)
    assert [(type(r).__name__, r.path) for r in results] == [
        ("Article", str(path)),
        ("Skipped", f"{path}:2"),
        ("Article", str(path)),
        ("Skipped", f"{path}:5"),
    ]
    third = results[2]
    assert isinstance(third, Article) and third.title == "No title here. Second sentence."
    assert "malformed JSON" in results[1].reason  # type: ignore[union-attr]


def test_jsonl_size_cap_is_its_own_setting(tmp_path: Path) -> None:
    path = write(tmp_path, "a.jsonl", json.dumps({"body": "x" * 5000}) + "\n")
    capped = Settings(max_jsonl_mb=0.001, max_file_mb=100)
    (result,) = read(path, settings=capped)
    assert isinstance(result, Skipped) and "ASSISTANT_MAX_JSONL_MB" in result.reason
    assert isinstance(read(path, settings=Settings(max_file_mb=0.01))[0], Article)
    (long_line,) = read(path, settings=Settings(max_file_mb=0.001))  # one line = one article
    assert long_line == Skipped(f"{path}:1", "line longer than 0.001 MB (ASSISTANT_MAX_FILE_MB)")


def test_corpus_first_lines_load_as_is() -> None:
    corpus = shared_file("realtimeqa", "corpus.jsonl")
    raw = [json.loads(line) for line in itertools.islice(corpus.open(encoding="utf-8"), 5)]
    articles = list(itertools.islice(iter_articles([corpus], SETTINGS), 5))
    assert all(isinstance(a, Article) for a in articles)
    for obj, article in zip(raw, articles, strict=True):
        assert isinstance(article, Article)
        assert article.id == obj["id"]  # eval matches these against gold ids
        assert article.title == obj["title"]
        assert (article.source, article.url, article.author) == (
            obj["source"],
            obj["url"],
            obj["author"],
        )
        assert article.published_at == obj["published_at"]
        assert article.text == clean_text(obj["body"]).strip()
        assert article.path == display_path(corpus)


# --- paths, decoding, dates -------------------------------------------------------------------


def test_missing_path_raises_at_once_and_empty_folder_yields_nothing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope: no such file or folder"):
        iter_articles([tmp_path, tmp_path / "nope"], SETTINGS)
    with pytest.raises(InputError):
        article_files([tmp_path / "nope"], SETTINGS)
    (tmp_path / "empty").mkdir()
    assert read(tmp_path / "empty") == []
    assert list(iter_articles(str(tmp_path / "empty"), SETTINGS)) == []  # one path, not a list


def test_display_path_is_relative_under_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "a.txt", "T\nbody")
    monkeypatch.chdir(tmp_path)
    assert one(Path("a.txt")).path == "a.txt"
    assert one(path).path == "a.txt"
    assert one(path).id == file_id(Path("a.txt"))  # ids come from the resolved path


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("café, naïve, Zürich".encode("utf-16"), "café, naïve, Zürich"),
        (b"\xfe\xff" + "café".encode("utf-16-be"), "café"),
        (b"\xff\xfe\x00\x00" + "Zürich".encode("utf-32-le"), "Zürich"),
        ("\ufeffnaïve".encode(), "naïve"),
        ("café, naïve, Zürich".encode("latin-1"), "café, naïve, Zürich"),
        ("He said “hi” – it’s café time".encode("cp1252"), "He said “hi” – it’s café time"),
        (
            "Привет, как дела? Это текст на русском языке.".encode("cp1251"),
            "Привет, как дела? Это текст на русском языке.",
        ),
        ("naïve café ".encode() + b"\xff" + " Zürich".encode(), "naïve café \ufffd Zürich"),
    ],
)
def test_decode_bytes(data: bytes, expected: str) -> None:
    assert decode_bytes(data) == expected


def test_binary_and_control_characters() -> None:
    assert decode_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR") is None
    assert decode_bytes(bytes(range(1, 32)) * 20) is None
    assert clean_text("a\x00b\x07c\r\nd\re\tf\x85g\ufeff") == "abc\nd\ne\tfg"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-07-04", "2024-07-04"),
        ("2024-07-04T12:49:00Z", "2024-07-04"),
        ("July 4, 2024", "2024-07-04"),
        ("Jul. 4th, 2024, 12:49 PM", "2024-07-04"),
        ("4 July 2024", "2024-07-04"),
        ("Thu, 04 Jul 2024 12:49:00 +0000", "2024-07-04"),
        ("2024/7/4", "2024-07-04"),
        (1720097340, "2024-07-04"),
        ("07/04/2024", None),  # day/month order unknown: never guessed
        ("2024-02-30", None),
        ("yesterday", None),
        ("", None),
        (None, None),
        (True, None),
    ],
)
def test_metadata_date(value: object, expected: str | None) -> None:
    assert metadata_date(value) == expected


def test_first_sentence_skips_abbreviations_and_initials() -> None:
    assert first_sentence("J. K. Rowling met Dr. Who at 3 p.m. on Friday. Then left.") == (
        "J. K. Rowling met Dr. Who at 3 p.m. on Friday."
    )
    assert first_sentence("No stop here") == "No stop here"
