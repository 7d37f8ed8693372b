"""Sentence-aware chunks (llama-index SentenceSplitter) sized for the embedder, dated headers."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from assistant.config import offline_environment
from assistant.errors import ConfigError
from assistant.models import Article, Chunk

if TYPE_CHECKING:
    from tokenizers import Tokenizer

SPECIAL_TOKENS = 2  # [CLS] and [SEP], added by the embedder around every text
PUNKT_TIMEOUT = 300.0  # seconds per punkt regex match (NLTK's own default, 5 s, tripped under load)
MIN_CHUNK_TOKENS = 64


@lru_cache(maxsize=1)
def _tokenizer() -> Tokenizer:
    """The packaged MiniLM WordPiece tokenizer: chunk sizes are the embedder's own token counts."""
    from tokenizers import Tokenizer

    source = resources.files("assistant") / "data" / "minilm-tokenizer.json"
    tokenizer = Tokenizer.from_str(source.read_text(encoding="utf-8"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def _token_ids(text: str) -> list[int]:
    ids: list[int] = _tokenizer().encode(text, add_special_tokens=False).ids
    return ids


def count_tokens(text: str) -> int:
    """Embedder tokens in `text`, without [CLS]/[SEP]."""
    return len(_token_ids(text))


# Token counts of the sentences of the article being chunked, counted in one batch (the splitter
# then asks for each sentence's count; one encode call per sentence cost ~40% of chunking).
_COUNTS: dict[str, int] = {}


@contextmanager
def _patient_regex() -> Iterator[None]:
    """NLTK (3.10) runs punkt's regexes under a 5 s wall-clock limit against hostile patterns; a
    long article on a loaded machine crossed it (a whole 2022 ingest stopped on a TimeoutError).
    Punkt's own patterns are trusted: give them PUNKT_TIMEOUT while we split."""
    try:
        from nltk import redos
    except ImportError:  # older NLTK: no limit
        yield
        return
    before = redos.DEFAULT_TIMEOUT
    redos.DEFAULT_TIMEOUT = None if before is None else max(before, PUNKT_TIMEOUT)
    try:
        yield
    finally:
        redos.DEFAULT_TIMEOUT = before


def _sentences(text: str) -> list[str]:
    """Punkt sentences that tile `text` exactly (the default drops leading whitespace)."""
    from llama_index.core.utils import globals_helper

    with _patient_regex():
        starts = [start for start, _ in globals_helper.punkt_tokenizer.span_tokenize(text)]
    if not starts:
        return [text]
    starts[0] = 0
    ends = [*starts[1:], len(text)]
    pieces = [text[a:b] for a, b in zip(starts, ends, strict=True) if b > a]
    todo = [p for p in dict.fromkeys(pieces) if p not in _COUNTS]
    if todo:
        encodings = _tokenizer().encode_batch(todo, add_special_tokens=False)
        _COUNTS.update((p, len(e.ids)) for p, e in zip(todo, encodings, strict=True))
    return pieces


def _bounded_counter(long_chars: int) -> Callable[[str], Sequence[int]]:
    """Token ids, but for very long strings only an upper bound (one per character).

    SentenceSplitter only compares these lengths with the chunk size; a text of more than
    `long_chars` characters gets split into sentences either way, so encoding it (most of the
    cost: the whole article) is skipped. Characters >= WordPiece tokens, so the bound is safe.
    Sentences already counted in a batch are not encoded again (the same counts).
    """

    def tokens(text: str) -> Sequence[int]:
        if len(text) > long_chars:
            return range(len(text))
        known = _COUNTS.get(text)
        return range(known) if known is not None else _token_ids(text)

    return tokens


@lru_cache(maxsize=128)
def _splitter(size: int, overlap: int) -> Any:
    offline_environment()
    from llama_index.core.node_parser import SentenceSplitter

    return SentenceSplitter(
        chunk_size=size,
        chunk_overlap=overlap,
        tokenizer=_bounded_counter(8 * size),
        chunking_tokenizer_fn=_sentences,
        include_metadata=False,
        include_prev_next_rel=False,
    )


def date_line(published_at: str | None) -> str:
    """'Published 2024-07-04 (Thursday)', or 'Publication date unknown'."""
    try:
        day = date.fromisoformat(published_at or "")
    except ValueError:
        return "Publication date unknown"
    return f"Published {day.isoformat()} ({day.strftime('%A')})"


def _short_title(title: str, max_tokens: int) -> str:
    encoding = _tokenizer().encode(title, add_special_tokens=False)
    if len(encoding.ids) <= max_tokens:
        return title
    return title[: encoding.offsets[max_tokens - 1][1]].rstrip() + "…"


def chunk_header(article: Article, chunk_tokens: int = 256) -> str:
    """Title (cut to a quarter of the chunk) and the publication date with its weekday."""
    title = " ".join(article.title.split())
    return _short_title(title, chunk_tokens // 4) + "\n" + date_line(article.published_at)


def _check(chunk_tokens: int, overlap: int) -> None:
    if chunk_tokens < MIN_CHUNK_TOKENS:
        raise ConfigError(
            f"Chunk size {chunk_tokens} is too small: set ASSISTANT_CHUNK_TOKENS to at least "
            f"{MIN_CHUNK_TOKENS}"
        )
    if overlap < 0:
        raise ConfigError(
            f"Chunk overlap {overlap} is negative: set ASSISTANT_CHUNK_OVERLAP to 0 or more"
        )


def chunk_id(article_id: str, embed_text: str) -> str:
    """Content hash: the same article text always gives the same ids (re-ingest is idempotent)."""
    data = f"{article_id}\0{embed_text}".encode("utf-8", "surrogatepass")
    return hashlib.sha1(data).hexdigest()[:24]


def _pieces(text: str, budget: int, overlap: int) -> list[str]:
    split: Callable[[str], list[str]] = _splitter(budget, min(overlap, budget // 2)).split_text
    _COUNTS.clear()
    try:
        return [piece for piece in split(text) if piece.strip()]
    finally:
        _COUNTS.clear()


def chunk_article(article: Article, chunk_tokens: int = 256, overlap: int = 32) -> list[Chunk]:
    """Sentence-aware chunks of about `chunk_tokens` embedder tokens, header included.

    `Chunk.text` is always an exact substring of `article.text`; `embed_text` is the header,
    a blank line, then the chunk text. Identical chunk texts of one article are kept once.
    """
    _check(chunk_tokens, overlap)
    if not article.text.strip():
        return []
    header = chunk_header(article, chunk_tokens)
    budget = chunk_tokens - SPECIAL_TOKENS - count_tokens(header + "\n\n")
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for piece in _pieces(article.text, budget, overlap):
        if piece in seen:
            continue
        seen.add(piece)
        embed_text = f"{header}\n\n{piece}"
        chunks.append(
            Chunk(
                id=chunk_id(article.id, embed_text),
                article_id=article.id,
                index=len(chunks),
                text=piece,
                embed_text=embed_text,
                title=article.title,
                source=article.source,
                url=article.url,
                author=article.author,
                published_at=article.published_at,
                path=article.path,
            )
        )
    return chunks
