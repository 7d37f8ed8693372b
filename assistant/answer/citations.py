"""Citation check for LLM answers: [n] markers, uncited sentences, quotes, and verbatim support."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass

from assistant.dates import human_date, published_day
from assistant.models import NOT_FOUND, Citation, Passage
from assistant.text import STOP, content_terms, sentence_spans

MAX_QUOTE_CHARS = 400
_KEYWORD = r"(?:article|source|passage|doc)s?\s*"
_NUMS = rf"\d+(?:\s*(?:[,;–&-]|and)\s*(?:{_KEYWORD})?\d+)*"
_MARKER = re.compile(  # [1], [1, 2], [2-4], [Article 3], (Article 1), (Sources 1 and 2); blanks before
    rf"(?P<ws>[ \t]*)(?:\[\s*(?:{_KEYWORD})?(?P<nums>{_NUMS})\s*\]|\(\s*{_KEYWORD}(?P<pnums>{_NUMS})\s*\))",
    re.IGNORECASE,
)
_LEADING_MARKERS = re.compile(rf"(?:\s*{_MARKER.pattern})+", re.IGNORECASE)
# Citations written as words: "Article 2 states that ...", "This is supported by article 1, which
# states that ...", "..., as stated in Article 1.", "according to article 3"; and the same without
# a number ("The article states that ..."), which cites nothing but is no part of the claim.
_SAYS = r"(?:states?|says?|reports?|mentions?|notes?|explains?|confirms?|shows?|indicates?|writes?)"
_REF_LEAD = re.compile(
    rf"^(?:this is (?:supported|confirmed|stated|mentioned|shown) (?:by|in)\s+)?(?:the\s+)?"
    rf"(?:(?:article|source|passage)\s+(?P<n>\d+)|article|source)(?:\s*\([^)\n]{{0,80}}\))?,?\s*"
    rf"(?:which\s+)?{_SAYS}(?:\s+that)?[,:]?\s+", re.IGNORECASE)
_REF_TAIL = re.compile(
    r",?\s*(?:as (?:stated|reported|mentioned|noted|shown|said) (?:in|by)|according to|per)\s+"
    r"(?:the\s+)?(?:(?:article|source|passage)\s+(?P<n>\d+)\b|article\b|source\b)", re.IGNORECASE)
# Sentences about the answer, not about the news: they need no citation.
_META = re.compile(r"\b(?:answers? (?:the|this|your) question|the question (?:asks|is about)|"
                   r"is the (?:correct|best|right) (?:answer|option|choice))\b", re.IGNORECASE)
# what is not the claim's words: escape sequences, markdown images and link targets, bare URLs
_NOT_WORDS = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b\[[0-?]*[ -/]*[@-~]"
                        r"|!?\[([^\]\n]*)\]\([^)\n]*\)|https?://\S+")
_QUOTE = re.compile(r"\"([^\"\n]+)\"|“([^”\n]+)”|«([^»\n]+)»|(?<!\w)‘([^’\n]+)’(?!\w)")
_QUOTE_CHARS = str.maketrans(
    {c: "'" for c in "‘’‚‛′`"} | {c: '"' for c in "“”„‟″«»"} | {c: "-" for c in "‐‑‒–—―"}
)


@dataclass(frozen=True)
class SentenceCheck:
    """One sentence of an LLM answer as checked: `text` is what is shown (markers that match no
    passage removed), `claim` the same without any marker."""

    lead: str  # the text between the previous sentence and this one
    text: str
    claim: str
    valid: tuple[int, ...]  # markers that name a passage, in order
    invalid: tuple[int, ...]  # markers that name none
    quotes_missing: tuple[str, ...]  # quoted text found in no cited passage (in none at all when
    # the sentence cites nothing)
    coverage: float | None  # share of the claim's content words in its cited passages
    missing_names: tuple[str, ...]  # names and numbers of the claim its cited passages lack
    factual: bool  # long enough to need a citation (not a lead-in, not the refusal)
    attributed: bool = False  # the marker was added by the checker (the model wrote none)


def check_sentences(text: str, passages: list[Passage]) -> tuple[list[SentenceCheck], str]:
    """Every sentence of `text` checked against the passages, and the text after the last one."""
    by_n = {p.n: p for p in passages}
    checks: list[SentenceCheck] = []
    last = 0
    for start, end in attach_markers(text, sentence_spans(text)):
        checks.append(_check_one(text[last:start], text[start:end], by_n))
        last = end
    return checks, text[last:]


def attach_markers(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sentence spans with the markers written after a sentence's final punctuation ("... place. [1]",
    "place.[1][2]", "place. (Article 1)") kept with that sentence, not read as the next one's start."""
    out: list[tuple[int, int]] = []
    for start, end in spans:
        lead = _LEADING_MARKERS.match(text, start) if out else None
        if lead is not None and lead.end() > start:
            out[-1] = (out[-1][0], lead.end())
            rest = text[lead.end():end]
            if not rest.strip(" \t.,;:"):
                continue  # the span was only markers
            start = lead.end() + len(rest) - len(rest.lstrip())
        out.append((start, end))
    return out


def text_references(sentence: str) -> tuple[str, list[int]]:
    """The sentence without its worded citations ("Article 2 states that", ", as stated in
    Article 1"), and the article numbers they name, as [n] markers after it would."""
    numbers: list[int] = []

    def take(match: re.Match[str]) -> str:
        if match.group("n"):
            numbers.append(int(match.group("n")))
        return ""

    body = _REF_LEAD.sub(take, sentence.strip(), count=1)
    body = _REF_TAIL.sub(take, body).lstrip(" ,;:")
    if body != sentence.strip() and body[:1].islower():
        body = body[0].upper() + body[1:]
    return body, numbers


def _check_one(lead: str, sentence: str, by_n: dict[int, Passage]) -> SentenceCheck:
    valid: list[int] = []
    invalid: list[int] = []
    sentence, worded = text_references(sentence)
    if worded:  # shown as markers, so that the renumbered answer stays consistent
        sentence = _with_marker(sentence, "".join(f"[{n}]" for n in dict.fromkeys(worded)))

    def fix(match: re.Match[str]) -> str:
        nums = _marker_numbers(match)
        good = [n for n in nums if n in by_n]
        invalid.extend(n for n in nums if n not in by_n and n not in invalid)
        valid.extend(n for n in good if n not in valid)
        return match.group("ws") + "".join(f"[{n}]" for n in good) if good else ""

    cleaned = _MARKER.sub(fix, sentence).strip()
    claim = re.sub(r"\s+(?=[.,;:!?])", "", " ".join(_MARKER.sub(" ", cleaned).split()))
    # what the model was shown of each passage: its title and date too (format_passage)
    cited = [f"{p.title}\n{p.text}" for p in ([by_n[n] for n in valid] or by_n.values())]
    missing = tuple(q for q in quotations(claim)
                    if not any(quote_in_passage(q, t) for t in cited))
    coverage: float | None = None
    names: tuple[str, ...] = ()
    if valid:
        dates = " ".join(dated(by_n[n]) for n in valid)
        coverage, names = support(_NOT_WORDS.sub(_link_text, claim), " ".join([*cited, dates]))
    return SentenceCheck(lead, cleaned, claim, tuple(valid), tuple(invalid), missing, coverage,
                         names, _worth_citing(claim))


def dated(p: Passage) -> str:
    """A passage's publication date as the model saw it and as prose writes it ("2022-06-12
    12 June 2022"): a claim may give the report's date in either form."""
    day = published_day(p.published_at)
    return f"{p.published_at} {human_date(day)}" if day else (p.published_at or "")


def attribute(checks: list[SentenceCheck], passages: list[Passage], support_min: float,
              fits: Callable[[str, Passage], bool] | None = None) -> list[SentenceCheck]:
    """Factual sentences the model left uncited get the passage that supports them best (the same
    support test as a cited sentence: `support_min` of its content words, every name and number,
    and `fits` when given), marked as attributed; a sentence no passage supports stays uncited."""
    out: list[SentenceCheck] = []
    for c in checks:
        if not c.factual or c.valid or c.invalid or c.quotes_missing:
            out.append(c)
            continue
        best: tuple[float, int] | None = None
        claim = _NOT_WORDS.sub(_link_text, c.claim)
        for p in passages:
            coverage, names = support(claim, f"{p.title}\n{p.text} {dated(p)}")
            if coverage >= support_min and not names and (best is None or coverage > best[0]) and (
                    fits is None or fits(claim, p)):
                best = (coverage, p.n)
        if best is None:
            out.append(c)
            continue
        out.append(dataclasses.replace(c, text=_with_marker(c.text, f"[{best[1]}]"), valid=(best[1],),
                                       coverage=best[0], attributed=True))
    return out


def _with_marker(text: str, marker: str) -> str:
    """`text` with `marker` after its final punctuation (or at its end)."""
    end = _END_PUNCT.search(text)
    cut = end.end() if end is not None else len(text)
    return f"{text[:cut].rstrip()} {marker}{text[cut:]}"


_END_PUNCT = re.compile(r"[.!?][\"'”’)]*\s*$")  # where an attributed marker goes (else: the end)


def plain_claim(claim: str) -> str:
    """A claim's words as read: escape sequences, link targets and bare URLs removed."""
    return _NOT_WORDS.sub(_link_text, claim)


def _link_text(m: re.Match[str]) -> str:
    return "" if m.group(0).startswith("!") else (m.group(1) or "")


def support(claim: str, passage_text: str) -> tuple[float, tuple[str, ...]]:
    """(share of the claim's content words that the passage holds, the claim's names and numbers
    that it lacks). Words are compared stemmed and case-folded."""
    wanted = content_terms(claim)
    have = content_terms(passage_text)
    coverage = len(wanted & have) / len(wanted) if wanted else 1.0
    tokens = re.findall(r"[\w'’-]+", claim)
    names = [w for w in tokens
             if (w[:1].isupper() and w.lower() not in STOP) or any(c.isdigit() for c in w)]
    lacking = tuple(dict.fromkeys(
        w for w in names if not (content_terms(w) <= have) and normalise(w) not in
        normalise(passage_text)))
    return coverage, lacking


def check_citations(text: str, passages: list[Passage]) -> tuple[str, list[Citation], list[str]]:
    """(cleaned text, citations in order of first use, warnings) for an LLM answer.

    Markers that match no passage are removed and reported; sentences without a marker and
    quotations not found in the cited passage (or, without a marker, in any passage) are
    reported. An answer holding the refusal sentence and no valid marker gives (NOT_FOUND, [], []).
    """
    text = text.strip()
    by_n = {p.n: p for p in passages}
    if is_refusal(text, passages):
        return NOT_FOUND, [], []
    checks, tail = check_sentences(text, passages)
    citations = citations_of(checks, by_n)
    warnings = [w for c in checks for w in sentence_warnings(c, len(by_n))]
    return ("".join(c.lead + c.text for c in checks) + tail).strip(), citations, warnings


def is_refusal(text: str, passages: list[Passage]) -> bool:
    """The refusal sentence with no marker that names a passage."""
    numbers = {p.n for p in passages}
    return _has_refusal(text) and not any(
        n in numbers for m in _MARKER.finditer(text) for n in _marker_numbers(m))


def citations_of(checks: list[SentenceCheck], by_n: dict[int, Passage]) -> list[Citation]:
    """One citation per cited passage, in order of first use, quoting its best sentence."""
    citations: dict[int, Citation] = {}
    for c in checks:
        for n in c.valid:
            if n not in citations:
                citations[n] = citation_for(by_n[n], best_quote(c.claim, by_n[n].text))
    return list(citations.values())


def sentence_warnings(c: SentenceCheck, sources: int) -> list[str]:
    """The warnings one checked sentence gives (invalid markers, no citation, missing quotes)."""
    out: list[str] = []
    excerpt = _excerpt(c.claim)
    if c.invalid:
        bad = ", ".join(f"[{n}]" for n in c.invalid)
        out.append(f"Removed citation {bad}: there are only {sources} sources (in: \"{excerpt}\").")
    if not c.valid and not c.invalid and c.factual:
        out.append(f"No citation for: \"{excerpt}\"")
    cited = "".join(f"[{n}]" for n in c.valid)
    for quoted in c.quotes_missing:
        where = f"in {cited}" if c.valid else "in any article"
        out.append(f"Quote not found {where}: \"{_excerpt(quoted)}\"")
    return out


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


def _marker_numbers(match: re.Match[str]) -> list[int]:
    return _numbers(match.group("nums") or match.group("pnums"))


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
    return (len(words) >= 3 and not _has_refusal(claim) and not claim.endswith(":")
            and not _META.search(claim))


def _excerpt(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def citation_for(p: Passage, quote: str) -> Citation:
    """The citation of passage p with the given verbatim quote."""
    return Citation(
        n=p.n, article_id=p.article_id, title=p.title, source=p.source,
        published_at=p.published_at, url=p.url, path=p.path, quote=quote,
    )
