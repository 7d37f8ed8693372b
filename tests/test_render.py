"""Terminal safety: escape sequences and off-source links never reach the terminal."""

from __future__ import annotations

from assistant.cli.render import render_answer, sanitize, strip_offsource_links
from assistant.models import Answer, Citation, Passage
from assistant.text import split_sentences


def test_sanitize_strips_escapes_and_controls() -> None:
    raw = "ok\x1b[31mred\x1b[0m \x1b]0;title\x07bell\x07 nul\x00 \u202eevil\ttab\nline"
    assert sanitize(raw) == "okred bell nul evil\ttab\nline"
    assert sanitize("a\nb", keep_newlines=False) == "a b"


def test_links_only_to_cited_urls() -> None:
    text = "See ![x](http://evil.example/p.png) and [here](http://evil.example) or [src](https://a.org/1)"
    out = strip_offsource_links(text, {"https://a.org/1"})
    assert "evil.example" not in out
    assert "[src](https://a.org/1)" in out


def test_render_answer_lists_sources_sanitised() -> None:
    p = Passage(1, "c1", "a1", "Title\x1b[2J", "cnn.com", "https://a.org/1", "a.txt", "2024-07-04",
                "Text.", 0.5, ("usatoday.com (2024-07-05)",))
    c = Citation(1, "a1", "Title\x1b[2J", "cnn.com", "2024-07-04", "https://a.org/1", "a.txt", "Text.")
    out = render_answer(Answer("q", "Answer \x1b[31m[1]", "extractive", [c], [p]))
    assert "\x1b" not in out
    assert " [1] Title — cnn.com — published 2024-07-04 — a.txt" in out
    assert "also reported by usatoday.com (2024-07-05)" in out


def test_sentence_spans_are_verbatim() -> None:
    text = "The U.S. team won. Mr. Smith said “we did it.” Then 3 people left!\nNew line here."
    spans = split_sentences(text, min_chars=5)
    assert [s.text for s in spans] == ["The U.S. team won.", "Mr. Smith said “we did it.”",
                                       "Then 3 people left!", "New line here."]
    assert all(text[s.start : s.start + len(s.text)] == s.text for s in spans)
