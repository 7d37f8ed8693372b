"""Chunking: exact substrings, embedder-sized, dated headers, content-hash ids, no global state."""

from __future__ import annotations

import itertools
import os
import random
import re
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import shared_file

from assistant.config import PROJECT_ROOT, Settings, offline_environment
from assistant.errors import ConfigError
from assistant.ingest import chunk_article, iter_articles
from assistant.ingest.chunking import SPECIAL_TOKENS, chunk_header, count_tokens
from assistant.models import Article

SEED = PROJECT_ROOT / "seeds" / "000_e8d20170f0601f30.txt"


def article(text: str, title: str = "A title", published_at: str | None = "2024-07-04") -> Article:
    return Article("art1", title, "example.com", None, None, published_at, "a.txt", text)


def seed_article() -> Article:
    (found,) = iter_articles([SEED], Settings())
    assert isinstance(found, Article)
    return found


def corpus_sample(count: int) -> list[Article]:
    corpus = shared_file("realtimeqa", "corpus.jsonl")
    found = list(itertools.islice(iter_articles([corpus], Settings()), count))
    assert all(isinstance(a, Article) for a in found)
    return found  # type: ignore[return-value]


def check_chunks(source: Article, chunk_tokens: int = 256) -> None:
    chunks = chunk_article(source, chunk_tokens=chunk_tokens)
    assert chunks or not source.text.strip()
    header = chunk_header(source, chunk_tokens)
    for index, chunk in enumerate(chunks):
        assert chunk.text in source.text  # quotes from chunk.text are verbatim in the article
        assert chunk.text == chunk.text.strip() and chunk.text
        assert chunk.embed_text == f"{header}\n\n{chunk.text}"
        assert count_tokens(chunk.embed_text) + SPECIAL_TOKENS <= chunk_tokens
        assert chunk.index == index
        assert re.fullmatch(r"[0-9a-f]{24}", chunk.id)
    assert len({c.text for c in chunks}) == len(chunks)


def test_seed_chunks_carry_the_dated_header_and_metadata() -> None:
    source = seed_article()
    chunks = chunk_article(source)
    assert len(chunks) >= 2
    check_chunks(source)
    header = source.title + "\nPublished 2024-07-04 (Thursday)"
    for chunk in chunks:
        assert chunk.embed_text.startswith(header + "\n\n")
        assert (chunk.article_id, chunk.title, chunk.path) == (source.id, source.title, source.path)
        assert (chunk.published_at, chunk.source, chunk.url) == ("2024-07-04", None, None)
    assert chunks[0].text.startswith("China’s President Xi Jinping")
    assert chunks[-1].text.endswith("war in Ukraine.")


def test_chunks_are_exact_substrings_over_a_corpus_sample() -> None:
    for source in [seed_article(), *corpus_sample(120)]:
        check_chunks(source)


def test_hostile_texts_still_give_exact_substrings() -> None:
    rng = random.Random(7)
    pieces = [
        "Short one.", "Mr. Smith said so!", "\n\n\n", "\n\n", "\n", "   ", "\t", "word " * 40,
        "x" * 700, "東京は晴れです。", "emoji 🎉🎉 here.", "a,b;c.d", "“Quoted,” he said. ",
        "U.S. officials met on Jan. 5. ", " 3.5 percent", "\u00a0nbsp\u00a0", "…",
    ]  # fmt: skip
    for _ in range(150):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 120)))
        check_chunks(article(text), chunk_tokens=rng.choice([64, 128, 256]))


def test_overlap_and_sizes() -> None:
    sentences = [f"Sentence number {i} talks about topic {i % 7}." for i in range(200)]
    source = article(" ".join(sentences))
    chunks = chunk_article(source, chunk_tokens=128, overlap=32)
    assert len(chunks) > 10
    for before, after in itertools.pairwise(chunks):
        first_sentence = after.text.split(".")[0] + "."
        assert first_sentence in before.text  # the next chunk repeats the end of this one
    budget = 128 - SPECIAL_TOKENS
    assert all(count_tokens(c.embed_text) > budget * 0.7 for c in chunks[:-1])
    no_overlap = chunk_article(source, chunk_tokens=128, overlap=0)
    assert len(no_overlap) < len(chunks)
    joined = " ".join(c.text for c in no_overlap)
    assert joined == source.text


def test_ids_are_content_hashes_and_duplicates_are_dropped() -> None:
    source = seed_article()
    first = [c.id for c in chunk_article(source)]
    assert first == [c.id for c in chunk_article(source)]
    assert len(set(first)) == len(first)
    other_id = [c.id for c in chunk_article(replace(source, id="other"))]
    assert not set(other_id) & set(first)
    repeated = article(("The cat sat on the mat today. " * 30).strip())
    chunks = chunk_article(repeated, chunk_tokens=64, overlap=0)
    assert len({c.text for c in chunks}) == len(chunks) <= 2


def test_header_dates_and_long_titles() -> None:
    assert chunk_header(article("x", published_at=None)) == "A title\nPublication date unknown"
    assert chunk_header(article("x", published_at="2022-06-12")).endswith("(Sunday)")
    long_title = "Extraordinarily " * 200
    chunks = chunk_article(article("Body sentence. " * 50, title=long_title), chunk_tokens=64)
    assert chunks and all(count_tokens(c.embed_text) + 2 <= 64 for c in chunks)
    assert chunks[0].embed_text.split("\n")[0].endswith("…")
    assert chunk_article(article("   \n ")) == []


def test_bad_sizes_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="ASSISTANT_CHUNK_TOKENS"):
        chunk_article(article("text"), chunk_tokens=10)
    with pytest.raises(ConfigError, match="ASSISTANT_CHUNK_OVERLAP"):
        chunk_article(article("text"), overlap=-1)


def test_offline_tokenizer_cache_and_no_global_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
    offline_environment()
    folder = Path(os.environ["TIKTOKEN_CACHE_DIR"])
    assert folder.name == "tiktoken_cache" and any(folder.iterdir())
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "/elsewhere")
    offline_environment()
    assert os.environ["TIKTOKEN_CACHE_DIR"] == "/elsewhere"
    chunk_article(seed_article())
    from llama_index.core import Settings as LlamaSettings

    assert LlamaSettings._node_parser is None and LlamaSettings._embed_model is None
