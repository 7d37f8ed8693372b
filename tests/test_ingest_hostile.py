"""A hostile folder (binary, huge, FIFO, loops, escapes, bad bytes, deep) never breaks ingest"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from assistant.config import Settings
from assistant.ingest import article_files, iter_articles
from assistant.ingest.walk import display_path
from assistant.models import Article, Skipped

SECRET = "TOP-SECRET-MARKER-7f3a"
SETTINGS = Settings(max_depth=64)
HTML = """<html><head><title>Clean page</title><style>body{} STYLEMARK</style>
<script>var SCRIPTMARK=1</script></head><body><nav>NAVMARK links</nav><article>
<p>The harbour reopened on Friday after a week of repairs, port officials said in a statement
released to local reporters, adding that ferries would run on the normal timetable.</p>
<p style="display:none">HIDDENMARK</p><p hidden>HIDDENMARK</p>
<p>Traders welcomed the news, saying the closure had cost them thousands of euros in lost
sales during what is normally one of the busiest weeks of the summer season.</p></article>
</body></html>"""

_AUDIT: dict[str, Any] = {"on": False, "opened": []}


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _AUDIT["on"] and event in ("open", "os.scandir", "os.listdir") and args:
        _AUDIT["opened"].append(str(args[0]))


sys.addaudithook(_audit)  # records every file/folder Python opens while ingest runs


class Tree:
    def __init__(self, root: Path, outside: Path) -> None:
        self.root, self.outside = root, outside
        self.expect: dict[str, str] = {}  # display path -> "article" | skip-reason fragment
        self.texts: dict[str, str] = {}  # display path -> text the article must contain

    def file(self, name: str, data: bytes | str, expect: str, contains: str | None = None) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        self.note(path, expect, contains)
        return path

    def note(self, path: Path, expect: str, contains: str | None = None) -> None:
        self.expect[display_path(path)] = expect
        if contains is not None:
            self.texts[display_path(path)] = contains


def _outside(tmp: Path) -> Path:
    outside = tmp / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "secret.txt").write_text(f"Secret title\n{SECRET} body.", encoding="utf-8")
    (outside / "dir" / "secret.md").write_text(f"# {SECRET}\n{SECRET}", encoding="utf-8")
    return outside


def _plain_files(tree: Tree) -> None:
    for i in range(120):
        body = f"Headline {i}\nThe café in Zürich stayed open, a naïve plan {i}.\nDate: 2024-07-04"
        tree.file(f"good/article_{i:03}.txt", body, "article", f"naïve plan {i}.")
    for i in range(10):
        tree.file(f"md/note_{i}.md", f"---\ntitle: Note {i}\n---\nBody {i} of the note.", "article")
    for i in range(10):
        tree.file(
            f"bin/blob_{i}.txt", os.urandom(64) + b"\x00" * 16 + os.urandom(512), "binary file"
        )
    tree.file("bin/image.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "unsupported file type")
    tree.file("bin/controls.md", bytes(range(1, 9)) * 300, "binary file")
    for i in range(10):
        tree.file(f"empty/empty_{i}.txt", b"", "empty file")
    for i, name in enumerate(("a.pdf", "b.docx", "Makefile", "c.csv", "d.xml", "e.TXT.bak")):
        tree.file(f"other/{name}", f"content {i}", "unsupported file type")
    tree.file(".hidden.txt", f"{SECRET} hidden file", "")  # ignored silently: no result
    tree.file(".git/config.txt", "hidden folder", "")
    del tree.expect[display_path(tree.root / ".hidden.txt")]
    del tree.expect[display_path(tree.root / ".git/config.txt")]


def _encodings(tree: Tree) -> None:
    words = "café, naïve, Zürich"
    tree.file("enc/utf16.txt", f"UTF-16 title\nWords: {words}.".encode("utf-16"), "article", words)
    tree.file("enc/utf16be.txt", b"\xfe\xff" + f"BE\n{words}".encode("utf-16-be"), "article", words)
    tree.file("enc/utf32.md", f"# UTF-32\n{words}".encode("utf-32"), "article", words)
    tree.file("enc/latin1.txt", f"Latin-1 title\n{words}.".encode("latin-1"), "article", words)
    tree.file(
        "enc/cp1252.txt", "Quote\n“Smart” quotes – fine".encode("cp1252"), "article", "“Smart”"
    )
    bad = "Invalid UTF-8\nnaïve ".encode() + b"\xc3\x28 \xff" + " Zürich".encode()
    tree.file("enc/invalid_utf8.txt", bad, "article", "Zürich")
    tree.file(
        "enc/crlf.txt", b"CRLF title\r\nline two\r\nCtrl\x07char", "article", "line two\nCtrlchar"
    )


def _structured(tree: Tree) -> None:
    tree.file("web/page.html", HTML, "article", "The harbour reopened on Friday")
    tree.file("web/empty_page.htm", "<html><body><nav>menu</nav></body></html>", "no article text")
    tree.file("json/bad.json", '{"title": "x", "body": ', "invalid JSON")
    tree.file("json/deep.json", "[" * 100_000 + "]" * 100_000, "invalid JSON")
    tree.file(
        "json/ok.json", json.dumps({"title": "J", "body": "Json body."}), "article", "Json body."
    )
    lines = [
        json.dumps({"id": f"l{i}", "title": f"L{i}", "body": f"Line {i} body."}) for i in range(3)
    ]
    lines.insert(1, "{broken")
    tree.file("json/lines.jsonl", "\n".join(lines) + "\n", "article", "Line 2 body.")


def _special(tree: Tree) -> None:
    root, outside = tree.root, tree.outside
    big = root / "big" / "huge.txt"
    big.parent.mkdir()
    with big.open("wb") as handle:
        handle.truncate(200 * 1024 * 1024)  # sparse: instant, and must never be read
    tree.note(big, "file too large")
    links = root / "links"
    links.mkdir()
    for name, target, reason in (
        ("out_file.txt", outside / "secret.txt", "outside the given paths"),
        ("out_dir", outside / "dir", "outside the given paths"),
        ("out_dotdot.txt", Path("../../outside/secret.txt"), "outside the given paths"),
        ("dangling.txt", root / "missing.txt", "broken symlink"),
        ("loop_a.txt", links / "loop_b.txt", "symlink loop"),
        ("loop_b.txt", links / "loop_a.txt", "symlink loop"),
        ("parent_loop", Path(".."), "symlink loop"),
        ("zz_same.txt", root / "good" / "article_000.txt", "same file as"),
    ):
        (links / name).symlink_to(target)
        tree.note(links / name, reason)
    os.mkfifo(root / "links" / "pipe.txt")
    tree.note(root / "links" / "pipe.txt", "not a regular file (FIFO)")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(root / "links" / "sock.txt"))
    server.close()
    tree.note(root / "links" / "sock.txt", "not a regular file (socket)")


def _deep(tree: Tree) -> Path:
    folder = tree.root / "deep"
    for level in range(1, 101):
        folder = folder / f"d{level:03}"
        folder.mkdir(parents=True)
        (folder / "leaf.txt").write_text(f"Leaf {level}\nDeep text {level}.", encoding="utf-8")
        if level <= SETTINGS.max_depth - 1:  # deep/ is level 1 below the root
            tree.note(folder / "leaf.txt", "article", f"Deep text {level}.")
        elif level == SETTINGS.max_depth:
            tree.note(folder, "folder deeper than 64 levels")
    return folder


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tree]:
    base = tmp_path_factory.mktemp("hostile")
    tree = Tree(base / "root", _outside(base))
    tree.root.mkdir()
    _plain_files(tree)
    _encodings(tree)
    _structured(tree)
    _special(tree)
    _deep(tree)
    locked = tree.file("locked.txt", "Locked title\nLocked body.", "article")
    locked.chmod(0)
    try:  # root can read a chmod-000 file: expect what a real open() says
        locked.open("rb").close()
    except PermissionError:
        tree.note(locked, "permission denied")
    yield tree
    locked.chmod(0o644)


def _timeout(signum: int, frame: FrameType | None) -> None:
    raise TimeoutError("ingest hung")


def _run(paths: list[Path]) -> tuple[list[Article | Skipped], float]:
    previous = signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(60)
    _AUDIT.update(on=True, opened=[])
    start = time.perf_counter()
    try:
        results = list(iter_articles(paths, SETTINGS))
    finally:
        _AUDIT["on"] = False
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return results, time.perf_counter() - start


def _by_file(results: list[Article | Skipped]) -> dict[str, list[Article | Skipped]]:
    grouped: dict[str, list[Article | Skipped]] = defaultdict(list)
    for result in results:
        grouped[result.path.split(":", 1)[0]].append(result)  # "file.jsonl:2" -> "file.jsonl"
    return grouped


def test_hostile_folder(hostile: Tree) -> None:
    results, seconds = _run([hostile.root])
    assert len(hostile.expect) >= 200
    assert seconds < 20
    grouped = _by_file(results)
    assert set(grouped) == set(hostile.expect)  # every file has a result, nothing else does
    for path, expected in hostile.expect.items():
        found = grouped[path]
        if path.endswith(".jsonl"):
            kinds = [(type(r).__name__, r.path) for r in found]
            assert kinds == [
                ("Article", path),
                ("Skipped", f"{path}:2"),
                ("Article", path),
                ("Article", path),
            ]
            continue
        assert len(found) == 1, (path, found)  # exactly one result per file
        result = found[0]
        if expected == "article":
            assert isinstance(result, Article), (path, result)
            assert result.title and result.text
            assert path not in hostile.texts or hostile.texts[path] in result.text, result.text
        else:
            assert isinstance(result, Skipped), (path, result)
            assert expected in result.reason and "\n" not in result.reason, (path, result.reason)


def test_nothing_outside_is_read_and_hidden_text_never_appears(hostile: Tree) -> None:
    results, _ = _run([hostile.root])
    outside = str(hostile.outside)
    opened = _AUDIT["opened"]
    assert opened, "the audit hook saw no file being opened"
    assert not [p for p in opened if p.startswith(outside)]
    assert not [p for p in opened if p.endswith("huge.txt") or "pipe" in p or "sock" in p]
    for result in results:
        dump = repr(result)
        for mark in (SECRET, "STYLEMARK", "SCRIPTMARK", "NAVMARK", "HIDDENMARK", "\x00", "\x07"):
            assert mark not in dump, (mark, result.path)


def test_walk_alone_is_sorted_and_stable(hostile: Tree) -> None:
    first = list(article_files([hostile.root], SETTINGS))
    second = list(article_files([hostile.root], SETTINGS))
    assert first == second
    files = [str(p) for p in first if isinstance(p, Path)]
    good = [p for p in files if "/good/" in p]
    assert good == sorted(good) and len(good) == 120


def test_a_single_file_root_and_its_symlink(hostile: Tree, tmp_path: Path) -> None:
    link = tmp_path / "link.txt"
    link.symlink_to(hostile.outside / "secret.txt")
    (result,) = list(iter_articles([link], SETTINGS))  # a path given explicitly is trusted
    assert isinstance(result, Article) and SECRET in result.text
    (pipe,) = list(iter_articles([hostile.root / "links" / "pipe.txt"], SETTINGS))
    assert isinstance(pipe, Skipped) and "FIFO" in pipe.reason


def test_hostile_folder_through_the_indexer(hostile: Tree, make_app: Any) -> None:
    """The whole hostile folder through ingest: every good file is indexed, the HTML is findable."""
    from assistant.retrieve.hybrid import Query

    app = make_app(max_depth=SETTINGS.max_depth)
    with app.writer_lock():
        report = app.indexer().run([hostile.root])
    indexed = {row.split(":", 1)[0] for row in app.manifest.article_files().values()}
    paths = {display_path(p) for p in indexed}
    good = {p for p, kind in hostile.expect.items() if kind == "article"}
    assert good <= paths
    assert report.outcome == "partial" and report.articles_new >= len(good)
    assert app.store.count() == app.manifest.counts()["chunks"]
    hits = app.retriever.retrieve(Query("harbour reopened on Friday after a week of repairs",
                                        top_k=3, use_window=False)).passages
    assert hits and hits[0].path.endswith("web/page.html")
