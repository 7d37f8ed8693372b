"""Citation check for LLM answers: [n] markers, uncited sentences, quotes, and verbatim support."""

from __future__ import annotations

import re

from assistant.models import NOT_FOUND, Citation, Passage
from assistant.text import content_terms, sentence_spans

MAX_QUOTE_CHARS = 400
_MARKER = re.compile(  # [1], [1, 2], [2-4], [Article 3]; with the blanks before it
    r"(?P<ws>[ \t]*)\[\s*(?:(?:article|source|passage|doc)\s*)?"
    r"(?P<nums>\d+(?:\s*(?:[,;–-]|and)\s*(?:(?:article|source|passage|doc)\s*)?\d+)*)\s*\]",
    re.IGNORECASE,
)
_QUOTE = re.compile(r"\"([^\"\n]+)\"|“([^”\n]+)”|«([^»\n]+)»|(?<!\w)‘([^’\n]+)’(?!\w)")
_QUOTE_CHARS = str.maketrans(
    {c: "'" for c in "‘’‚‛′`"} | {c: '"' for c in "“”„‟″«»"} | {c: "-" for c in "‐‑‒–—―"}
)


def check_citations(text: str, passages: list[Passage]) -> tuple[str, list[Citation], list[str]]:
    """(cleaned text, citations in order of first use, warnings) for an LLM answer.

    Markers that match no passage are removed and reported; sentences without a marker and
    quotations not found in the cited passage are reported. An answer holding the refusal
    sentence and no valid marker gives (NOT_FOUND, [], []).
    """
    text = text.strip()
    by_n = {p.n: p for p in passages}
    if _has_refusal(text) and not any(
        n in by_n for m in _MARKER.finditer(text) for n in _numbers(m.group("nums"))
    ):
        return NOT_FOUND, [], []
    citations: dict[int, Citation] = {}
    warnings: list[str] = []
    pieces: list[str] = []
    last = 0
    for start, end in sentence_spans(text):
        pieces.append(text[last:start])
        pieces.append(_check_sentence(text[start:end], by_n, citations, warnings))
        last = end
    pieces.append(text[last:])
    return "".join(pieces).strip(), list(citations.values()), warnings


def _check_sentence(
    sentence: str, by_n: dict[int, Passage], citations: dict[int, Citation], warnings: list[str]
) -> str:
    """The sentence without invalid markers; adds its citations and warnings."""
    valid: list[int] = []
    invalid: list[int] = []

    def fix(match: re.Match[str]) -> str:
        nums = _numbers(match.group("nums"))
        good = [n for n in nums if n in by_n]
        invalid.extend(n for n in nums if n not in by_n)
        valid.extend(n for n in good if n not in valid)
        return match.group("ws") + "".join(f"[{n}]" for n in good) if good else ""

    cleaned = _MARKER.sub(fix, sentence).strip()
    claim = " ".join(_MARKER.sub(" ", cleaned).split())
    excerpt = _excerpt(claim)
    if invalid:
        bad = ", ".join(f"[{n}]" for n in dict.fromkeys(invalid))
        warnings.append(
            f"Removed citation {bad}: there are only {len(by_n)} sources (in: \"{excerpt}\")."
        )
    if not valid:
        if not invalid and _worth_citing(claim):
            warnings.append(f"No citation for: \"{excerpt}\"")
        return cleaned
    for n in valid:
        if n not in citations:
            citations[n] = citation_for(by_n[n], best_quote(claim, by_n[n].text))
    for quoted in quotations(claim):
        if not any(quote_in_passage(quoted, by_n[n].text) for n in valid):
            cited = "".join(f"[{n}]" for n in valid)
            warnings.append(f"Quote not found in {cited}: \"{_excerpt(quoted)}\"")
    return cleaned


def best_quote(claim: str, passage_text: str) -> str:
    """The passage sentence sharing most content words with the claim (verbatim; first on ties)."""
    spans = sentence_spans(passage_text)
    if not spans:
        return ""
    wanted = content_terms(claim)
    quoted = [q for q in quotations(claim) if q]
    best, best_score = spans[0], -1.0
    for start, end in spans:
        sentence = passage_text[start:end]
        score = float(len(wanted & content_terms(sentence)))
        score += sum(5.0 for q in quoted if quote_in_passage(q, sentence))
        if score > best_score:
            best, best_score = (start, end), score
    start, end = best
    if end - start > MAX_QUOTE_CHARS:  # keep it verbatim: cut at a word end
        cut = passage_text.rfind(" ", start, start + MAX_QUOTE_CHARS)
        end = cut if cut > start else start + MAX_QUOTE_CHARS
    return passage_text[start:end].rstrip()


def quotations(text: str) -> list[str]:
    """Text inside quotation marks ("…", “…”, «…», ‘…’)."""
    return [next(g for g in m.groups() if g is not None) for m in _QUOTE.finditer(text)]


def quote_in_passage(quote: str, passage_text: str) -> bool:
    """True when every fragment of `quote` (split at ellipses) occurs in the passage, after
    normalising quotation marks, dashes, whitespace and case."""
    haystack = normalise(passage_text)
    fragments = [normalise(f).strip(" .,;:!?'\"") for f in re.split(r"\.\.\.|…", quote)]
    fragments = [f for f in fragments if f]
    return bool(fragments) and all(f in haystack for f in fragments)


def normalise(text: str) -> str:
    """Straight quotes and hyphens, single spaces, case-folded."""
    return " ".join(text.translate(_QUOTE_CHARS).split()).casefold()


def _has_refusal(text: str) -> bool:
    return normalise(NOT_FOUND).rstrip(".") in normalise(text)


def _numbers(group: str) -> list[int]:
    """Numbers of a marker body: "1, 3" -> [1, 3]; "2-4" -> [2, 3, 4] (short ranges only)."""
    out: list[int] = []
    for m in re.finditer(r"(\d+)(?:\s*[–-]\s*(\d+))?", group):
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) else first
        out.extend(range(first, last + 1) if 0 <= last - first <= 20 else (first, last))
    return list(dict.fromkeys(out))


def _worth_citing(claim: str) -> bool:
    """A claim of three or more words that is not the refusal sentence or a lead-in (ends ':')."""
    words = re.findall(r"\w+", claim)
    return len(words) >= 3 and not _has_refusal(claim) and not claim.endswith(":")


def _excerpt(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def citation_for(p: Passage, quote: str) -> Citation:
    """The citation of passage p with the given verbatim quote."""
    return Citation(
        n=p.n, article_id=p.article_id, title=p.title, source=p.source,
        published_at=p.published_at, url=p.url, path=p.path, quote=quote,
    )
