"""The offline answerer: the best one to three verbatim sentences from the passages, each cited."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.answer.citations import citation_for
from assistant.answer.offline.confidence import Rarity, confidence, held, question_names, signals
from assistant.answer.offline.qtype import cue_type, expected_type
from assistant.answer.offline.weights import (
    AGE_GRACE_DAYS,
    AGE_SPAN_DAYS,
    CONFIDENT_ABOVE,
    CUE_DATE,
    CUE_NAMES,
    CUE_NUMBER,
    CUE_PLACE,
    EVIDENCE_SPREAD,
    MAX_EVIDENCE,
    MAX_SENTENCES_PER_PASSAGE,
    MIN_NAME_PREFIX,
    NEWEST_TIE,
    RANK_BONUS,
    SENTENCES_EMBEDDED_PER_PASSAGE,
    W_CONTEXT_PASSAGE,
    W_SENTENCE_AGE,
    W_SENTENCE_COSINE,
    W_SENTENCE_WORDS,
)
from assistant.dates import (
    age_share,
    month_pattern,
    names_year,
    newest_day,
    published_day,
    relative_mentions,
)
from assistant.models import NOT_FOUND, Answer, Citation, Passage
from assistant.text import MIN_SENTENCE_CHARS, Sentence, content_terms, split_sentences, stem, words

_NUMBER = re.compile(r"\b\d[\d,.]*\b|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|"
                     r"hundred|thousand|million|billion|dozens?)\b", re.I)
_DATE = re.compile(rf"\b(?:(?:19|20)\d\d|{month_pattern()}|{'|'.join(calendar.day_name)}"
                   r"|yesterday|today|last week)\b")
_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*\b")
_IN_PLACE = re.compile(r"\b(?:in|at|near|outside)\s+(?:the\s+)?[A-Z][a-z]")  # "summit in Kazakhstan"
BEST_GUESS = "The articles do not say this directly; closest report:"


# A sentence that is itself a question ("When is Queen Elizabeth II's funeral?", an explainer's
# heading) answers nothing, and its wording echoes the question's: it is no evidence.
_ASKS = re.compile(r"\?[\s”’\"')\]]*$")


# A photo gallery's or a video player's furniture ("Hide Caption 3 of 49 Photos:", "Prev Next",
# "Video Ad Feedback", "04:20 - Source: CNN") and a caption's leading credit ("Marco Garcia/AP Lava
# flows ...", "AFP/Getty Images A man sits ...") are no part of what a caption or a video's title
# says (they do carry facts): the sentence is quoted without them.
_FURNITURE_LEAD = re.compile(r".*?(?:\bHide Caption \d+ of \d+\s+(?:Photos:\s+)*|\bVideo Ad Feedback\s+)"
                             r"(?=\S)")
_FURNITURE_TAIL = re.compile(r"\s*(?:\bPrev Next\b|\b\d{1,2}:\d\d - Source: [A-Z]).*$")
_AGENCIES = ("Getty Images|AFP|AP|Reuters|Shutterstock|Bloomberg|EPA-EFE|EPA|Sipa USA|NurPhoto|Alamy"
             "|Anadolu Agency")
_CREDIT = re.compile(rf"([^.,;:!?“”\"]{{0,80}}?)/(?:{_AGENCIES})(?:/Getty Images)?(?: via Getty Images)?"
                     r"\s+(?=[A-Z“\"])")


def _without_credit(s: Sentence) -> Sentence:
    """The sentence without a gallery's or video's furniture and a leading photo credit (a verbatim
    part of it)."""
    lead = _FURNITURE_LEAD.match(s.text)
    cut = lead.end() if lead else 0
    m = _CREDIT.match(s.text, cut)
    if m is not None and all(w[:1].isupper() for w in re.split(r"[\s/]+", m.group(1)) if w):
        cut = m.end()
    tail = _FURNITURE_TAIL.search(s.text, cut)
    end = tail.start() if tail else len(s.text)
    return s if (cut, end) == (0, len(s.text)) else Sentence(s.text[cut:end], s.start + cut, s.passage_index)


@dataclass(frozen=True)
class Scored:
    """A candidate evidence sentence with its score parts."""

    sentence: Sentence
    passage: Passage
    cosine: float
    lexical: float
    score: float


def _cue(qtype: str, sentence: str, q_terms: set[str]) -> float:
    if qtype == "number":
        return CUE_NUMBER if _NUMBER.search(sentence) else 0.0
    if qtype == "when":
        return CUE_DATE if _DATE.search(sentence) else 0.0
    if qtype == "where":
        placed = {stem(w) for m in _IN_PLACE.finditer(sentence)  # the three words before "in <Place>"
                  for w in words(sentence[max(0, m.start() - 40) : m.start()])[-3:]}
        return CUE_PLACE if placed & q_terms else 0.0
    if qtype == "who":  # a person is usually named by two or more words ("Narendra Modi")
        names = {n.lower() for n in _NAME.findall(sentence) if " " in n} - q_terms
        return CUE_NAMES if names else 0.0
    return 0.0


def _word_share(q_terms: set[str], s_terms: set[str], q_names: set[str]) -> float:
    """Share of the question's content words in the sentence; a name the question uses also
    matches the words made from it ("India" in "Indian", "Kazakhstan" in "Kazakhstani")."""
    return len(held(q_terms, s_terms, q_names)) / len(q_terms) if q_terms else 0.0


def worth_embedding(sentences: Sequence[Sentence], wording: Sequence[float],
                    per_passage: int) -> list[int]:
    """Indices (in order) of each passage's `per_passage` best sentences by `wording` (the score
    without the embedder), an earlier sentence first among equals: only these are embedded."""
    by_passage: dict[int, list[int]] = {}
    for i, s in enumerate(sentences):
        by_passage.setdefault(s.passage_index, []).append(i)
    keep: set[int] = set()
    for idx in by_passage.values():
        keep.update(sorted(idx, key=lambda i: (-wording[i], i))[:per_passage])
    return sorted(keep)


def score_sentences(question: str, qvec: np.ndarray, passages: list[Passage],
                    embed: object, context: Sequence[str] = ()) -> list[Scored]:
    """The sentences of the passages worth embedding, scored against the question (best first).
    `context` are the terms a follow-up refers back to: they count for the passage, the
    question's own words for the sentence."""
    sentences = [
        s for p_i, p in enumerate(passages)
        for s in map(_without_credit, split_sentences(p.text, p_i)[:MAX_SENTENCES_PER_PASSAGE])
        if not _ASKS.search(s.text) and len(s.text) >= MIN_SENTENCE_CHARS
    ]
    if not sentences:
        return []
    q_terms = content_terms(question)
    q_names = {n.lower() for n in question_names(question) if len(n) >= MIN_NAME_PREFIX}
    qtype = cue_type(question)
    c_terms = content_terms(" ".join(context)) - q_terms
    about = [len(c_terms & content_terms(p.text)) / len(c_terms) if c_terms else 0.0 for p in passages]
    lex = [_word_share(q_terms, content_terms(s.text), q_names) for s in sentences]
    cue = [_cue(qtype, s.text, q_terms) for s in sentences]
    keep = worth_embedding(sentences, [W_SENTENCE_WORDS * w + c for w, c in zip(lex, cue, strict=True)],
                           SENTENCES_EMBEDDED_PER_PASSAGE)
    vectors = embed.embed([sentences[i].text for i in keep])  # type: ignore[attr-defined]
    cosines = np.asarray(vectors, dtype=np.float32) @ np.asarray(qvec, dtype=np.float32)
    ages = [0.0] * len(passages)  # a question naming a year asks about that time: no report is old
    if not names_year(question):
        newest = newest_day(p.published_at for p in passages)
        ages = [age_share(published_day(p.published_at), newest, AGE_GRACE_DAYS, AGE_SPAN_DAYS) or 0.0
                for p in passages]
    out: list[Scored] = []
    for i, cos in zip(keep, cosines, strict=True):
        s = sentences[i]
        rank_bonus = RANK_BONUS / (1 + s.passage_index)
        score = (W_SENTENCE_COSINE * float(cos) + W_SENTENCE_WORDS * lex[i] + cue[i]
                 + rank_bonus + W_CONTEXT_PASSAGE * about[s.passage_index]
                 - W_SENTENCE_AGE * ages[s.passage_index])
        out.append(Scored(s, passages[s.passage_index], float(cos), lex[i], score))
    out.sort(key=lambda x: -x.score)
    return out


def pick_evidence(scored: list[Scored], max_sentences: int = MAX_EVIDENCE) -> list[Scored]:
    """The best sentence, newest among near-ties, plus up to two close, non-redundant others."""
    if not scored:
        return []
    best = scored[0]
    ties = [s for s in scored[:8] if s.score >= best.score - NEWEST_TIE]
    best = max(ties, key=lambda s: (s.passage.published_at or "", s.score))
    chosen = [best]
    for cand in scored:
        if len(chosen) >= max_sentences or cand.score < best.score - EVIDENCE_SPREAD:
            break
        if any(cand.sentence.text == c.sentence.text or
               (content_terms(cand.sentence.text) <= content_terms(c.sentence.text))
               for c in chosen):
            continue
        chosen.append(cand)
    return chosen


def quoted(sentence: str) -> str:
    """The verbatim sentence in quotation marks that do not double its own: “…”, or "…" when the
    sentence holds curly double quotes itself (a quote opening it would otherwise show as ““)."""
    if any(c in sentence for c in "“”") and '"' not in sentence:
        return f'"{sentence}"'
    return f"“{sentence}”"


def compose(question: str, evidence: list[Scored], short: str | None) -> tuple[str, list[Citation]]:
    """Answer text (short answer first, then cited sentences) and its citations."""
    parts: list[str] = [f"{short}." if short else ""]
    citations: list[Citation] = []
    for ev in evidence:
        p = ev.passage
        dated = f" (published {p.published_at})" if p.published_at else ""
        text = ev.sentence.text
        mentions = relative_mentions(text, p.published_at)
        note = "".join(f" ({phrase} = {day})" for phrase, day in mentions)
        parts.append(f"{quoted(text)} [{p.n}]{dated}{note}")
        if all(c.n != p.n for c in citations):
            citations.append(citation_for(p, text))
    return " ".join(x for x in parts if x).strip(), citations


def _ground(evidence: list[Scored], scored: list[Scored],
            short: str | None) -> tuple[list[Scored], str | None]:
    """A short answer is shown only with a cited sentence that holds it (or, for a date, a day it
    names relatively: "on Thursday", shown beside it as "(on Thursday = 4 July 2024)"): its best
    sentence leads."""
    if not short:
        return evidence, short

    def holds(sc: Scored) -> bool:
        text = sc.sentence.text
        days = relative_mentions(text, sc.passage.published_at)
        return short in text or any(day == short for _, day in days)

    holder = next((sc for sc in [*evidence, *scored] if holds(sc)), None)
    if holder is None:
        return evidence, None
    return [holder, *(ev for ev in evidence if ev is not holder)][:MAX_EVIDENCE], short


def answer_extractive(question: str, passages: list[Passage], qvec: np.ndarray, embed: object, *,
                      short_answer: Callable[..., str | None] | None = None,
                      rarity: Rarity | None = None, refuse_below: float = 0.0,
                      context: Sequence[str] = ()) -> Answer:
    """The offline answer: verbatim, cited sentences led by a short answer when one clearly fits;
    shown as a best guess when the evidence is weak; the not-found sentence when it does not
    answer (confidence below `refuse_below`)."""
    scored = score_sentences(question, qvec, passages, embed, context)
    if not scored:
        return Answer(question=question, answer=NOT_FOUND, mode="none", passages=passages,
                      confidence=0.0)
    evidence = pick_evidence(scored)
    kind, _ = expected_type(question)
    # a follow-up's subject (its context) is what the conversation said, not an answer
    short = short_answer(question, evidence, scored, said=context) if short_answer is not None else None
    evidence, short = _ground(evidence, scored, short)
    sig = signals(question, scored, short, kind != "other", rarity)
    conf = confidence(sig)
    if conf < refuse_below:
        return Answer(question=question, answer=NOT_FOUND, mode="none", passages=passages,
                      confidence=conf, signals=sig)
    sure = conf >= CONFIDENT_ABOVE
    text, citations = compose(question, evidence, short if sure else None)
    return Answer(question=question, answer=text if sure else f"{BEST_GUESS} {text}",
                  mode="extractive", citations=citations, passages=passages, confidence=conf,
                  signals=sig)
