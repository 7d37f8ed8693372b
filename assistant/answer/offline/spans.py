"""Typed answer spans: named entities and their place in the sentence, from a packaged spaCy pipeline."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from assistant.answer.offline.gazetteer import COUNTRIES, GAZETTEERS
from assistant.answer.offline.weights import (
    CALLED_NAME,
    COUNTRY_FOR_PLACE,
    EVIDENCE_DEPTH,
    EVIDENCE_FALLOFF,
    GAZETTEER_MATCH,
    GAZETTEER_MISS,
    HEAD_SIMILARITY,
    HEAD_SIMILARITY_FLOOR,
    MIN_TYPED_SUPPORT,
    NOUN_PHRASE_FIT,
    OTHER_LABEL_FIT,
    RELATIVE_CLAUSE,
    ROLE_BOOST,
    SLOT_GAP_TOKENS,
    SLOT_LINKED,
    SLOT_UNANCHORED,
)
from assistant.dates import MONTHS, WEEKDAYS
from assistant.text import STOP, content_terms, name_terms, stem, words

# What each expected kind of answer looks like as a spaCy (OntoNotes) entity label.
PERSON = frozenset({"PERSON"})
ORG = frozenset({"ORG"})
PLACE = frozenset({"GPE", "LOC", "FAC"})
WORK = frozenset({"WORK_OF_ART", "PRODUCT", "EVENT", "LAW"})
NAMED = PERSON | ORG | PLACE | WORK | {"NORP", "LANGUAGE"}
NUMERIC = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})
KIND_LABELS: dict[str, frozenset[str]] = {
    "money": frozenset({"MONEY"}),
    "number": NUMERIC,
    "date": frozenset({"DATE"}),
}


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Head nouns of "which X" questions, by the entity label their answer carries (plain English words).
HEAD_LABELS: dict[frozenset[str], frozenset[str]] = {
    PERSON: _wordset(
        "person man woman star actor actress singer rapper musician player athlete mp minister president "
        "leader ceo chief founder candidate politician senator judge author writer director comedian host "
        "celebrity billionaire footballer golfer boxer quarterback coach king queen prince princess royal "
        "official lawmaker governor mayor secretary chancellor justice legend icon artist designer "
        "journalist presenter monarch pope tycoon mogul rival pitcher striker driver champion winner "
        "boss owner spokesperson manager chef astronaut scientist doctor"
    ),
    ORG: _wordset(
        "company automaker carmaker firm airline chain retailer brand bank network team club party "
        "organization organisation union university agency group giant business store supermarket "
        "restaurant maker manufacturer startup platform broadcaster newspaper publication outlet channel "
        "school college league charity insurer lender exchange studio label"
    ),
    PLACE: _wordset(
        "country nation city state region capital island town village place province county continent "
        "area location destination site park landmark beach river lake mountain airport venue stadium "
        "territory neighborhood neighbourhood district border sea ocean"
    ),
    WORK: _wordset(
        "show film movie song album book series title play musical novel game single track documentary "
        "drama sitcom programme program podcast event festival tournament championship race competition "
        "award law bill act product device phone vehicle car model"
    ),
}
_TITLES = frozenset({"mr", "mr.", "mrs", "mrs.", "ms", "ms.", "dr", "dr."})
PERCENT_HEADS = frozenset({"percentage", "percent", "share", "rate"})


def labels_for(kind: str, head: str | None, question: str) -> tuple[frozenset[str], frozenset[str]]:
    """(preferred labels, acceptable labels) for the question's expected answer."""
    if kind in KIND_LABELS:
        if kind == "number" and head in PERCENT_HEADS:
            return frozenset({"PERCENT"}), NUMERIC
        return KIND_LABELS[kind], NUMERIC | KIND_LABELS[kind]
    q = question.lower()
    if re.search(r"\bwho(?:m|se)?\b", q) and not head:
        return PERSON, NAMED
    if re.match(r"\s*(?:and\s+)?where\b", q):
        return PLACE, PLACE | ORG
    for labels, heads in HEAD_LABELS.items():
        if head and any(h in heads or h.rstrip("s") in heads for h in head.split()):
            return labels, NAMED
    return NAMED, NAMED


def _gazetteers(head: str | None) -> list[frozenset[str]]:
    return [GAZETTEERS[h] for h in (head or "").split() if h in GAZETTEERS]


def gazetteer_fit(key: str, head: str | None) -> float:
    """For "which country/state" questions: up for a span that is one, down for one that is not."""
    places = _gazetteers(head)
    if not places:
        return 1.0
    return GAZETTEER_MATCH if any(key in g for g in places) else GAZETTEER_MISS


_RELATIVE = re.compile(r",\s+(?:which|who|whose|whom)\b[^,]*,")


def relative_clause_at(sentence: str, offset: int) -> str | None:
    """The ", which was founded by X," clause the offset is in (a description of something else,
    not the news), or None."""
    return next((m.group(0) for m in _RELATIVE.finditer(sentence) if m.start() < offset < m.end()), None)


def in_relative_clause(sentence: str, offset: int) -> bool:
    """True inside ", which was founded by X,": a description of something else, not the news."""
    return relative_clause_at(sentence, offset) is not None


def _acronym(span: str) -> str:
    return "".join(w[0] for w in span.split() if w[:1].isupper())


def _is_question_echo(span: str, q_terms: set[str], q_tokens: set[str]) -> bool:
    terms = content_terms(span)
    if not terms or terms <= q_terms or span.lower() in STOP or name_terms(span) <= q_terms:
        return True  # "COVID-19" echoes a question about "the new Covid variant"
    if span.lower().rstrip(".") in MONTHS or span.lower() in WEEKDAYS:
        return True  # "Feb.", "Monday": a date the parser took for a name, no answer to "who/which"
    acro = _acronym(span)
    return len(acro) >= 2 and acro.lower() in q_tokens


def question_role(doc: Any) -> tuple[str, str] | None:
    """(dependency role, verb lemma) of the wh-phrase: "Which automaker recalled ..." -> (nsubj, recall)."""
    for tok in doc:
        if tok.lower_ in ("which", "what", "who", "whom"):
            phrase = tok.head if tok.dep_ == "det" else tok
            verb = phrase.head
            if phrase.dep_ == "pobj":
                verb = verb.head
            if verb.pos_ in ("VERB", "AUX") and phrase != verb:
                return _role(phrase.dep_), _verb_key(verb)
    return None


def _verb_key(tok: Any) -> str:
    """The verb's lemma ("lost" -> "lose"), or its stem when the pipeline has no lemmatizer."""
    return str(tok.lemma_ or stem(tok.lower_)).lower()


def _role(dep: str) -> str:
    return {"nsubjpass": "dobj", "attr": "nsubj"}.get(dep, dep)


def _role_fit(doc: Any, start: int, end: int, role: tuple[str, str] | None) -> float:
    if role is None:
        return 1.0
    root = doc[start:end].root
    verb = root.head.head if root.dep_ == "pobj" else root.head
    return ROLE_BOOST if _role(str(root.dep_)) == role[0] and _verb_key(verb) == role[1] else 1.0


def _slot_fit(doc: Any, start: int, end: int, q_terms: set[str]) -> float:
    """How much the span sits where the question's missing piece would: next to its words."""
    anchors = [t for t in doc if not (start <= t.i < end) and stem(t.lower_) in q_terms]
    if not anchors:
        return SLOT_UNANCHORED
    root = doc[start:end].root
    linked = root.head in anchors or any(c in anchors for c in root.children) or (
        root.head.head in anchors and root.dep_ in ("pobj", "compound", "appos", "poss"))
    gap: int = min(min(abs(a.i - start), abs(a.i - (end - 1))) for a in anchors)
    return (SLOT_LINKED if linked else 1.0) / (1.0 + gap / SLOT_GAP_TOKENS)


# "a new variant called FLiRT", "nicknamed “Chonkers”": the name a sentence gives something
_CALLED = re.compile(r"\b(?:called|named|nicknamed|dubbed|titled|known as)\s+(?:the\s+)?"
                     r"(?:[“\"]([^”\"]{2,60})[”\"]|([A-Z][\w’'.-]*(?:\s+[A-Z0-9][\w’'.-]*){0,5}))")
# a question asking for what something is called
ASKS_NAME = re.compile(r"\b(?:names?|named|called|nicknamed|dubbed|titled|known as)\b", re.I)


def entity_candidates(doc: Any, wanted: frozenset[str], nouns: bool = False,
                      called: bool = False) -> Iterable[tuple[int, int, str]]:
    """(start token, end token, label) of entities with a wanted label, quoted titles, noun phrases,
    and (when `called`) the names the sentence gives ("called FLiRT": label CALLED)."""
    if called:
        for m in _CALLED.finditer(doc.text):
            group = 1 if m.group(1) is not None else 2
            span = doc.char_span(m.start(group), m.end(group), alignment_mode="expand")
            if span is not None and len(span) <= 8:
                yield span.start, span.end, "CALLED"
    if nouns:
        for chunk in doc.noun_chunks:
            toks = [t for t in chunk if t.pos_ not in ("DET", "PRON", "NUM") and not t.is_stop]
            if toks and not chunk.root.ent_type_ and chunk.root.pos_ == "NOUN":
                yield toks[0].i, chunk.end, "NOUN"
    for ent in doc.ents:
        if ent.label_ in wanted:
            start = ent.start
            while start < ent.end and (doc[start].pos_ == "DET" or doc[start].lower_ in _TITLES):
                start += 1  # "no Bed Bath & Beyond" -> "Bed Bath & Beyond", "Mrs. Jill Biden" -> "Jill Biden"
            for tok in doc[start : ent.end - 1]:
                if tok.tag_ == "POS" or tok.text.endswith(("’s", "'s")):
                    start = tok.i + 1  # "London's National Gallery" -> "National Gallery"
            if start < ent.end:
                yield start, ent.end, ent.label_
    if wanted & WORK:
        for m in re.finditer(r"[“\"]([^”\"]{3,60})[”\"]", doc.text):
            span = doc.char_span(m.start(1), m.end(1), alignment_mode="expand")
            if span is not None and len(span) <= 8 and span[0].text[:1].isupper():
                yield span.start, span.end, "WORK_OF_ART"


def weighted_evidence(scored: Sequence[Any], depth: int = EVIDENCE_DEPTH) -> list[tuple[Any, float]]:
    """The top evidence sentences that count, each with its weight: 1 for the best, 0 at
    EVIDENCE_FALLOFF below."""
    top = list(scored[:depth])
    best = top[0].score if top else 0.0
    weighted = [(sc, (sc.score - best + EVIDENCE_FALLOFF) / EVIDENCE_FALLOFF) for sc in top]
    return [(sc, w) for sc, w in weighted if w > 0]


def outlet_of(passage: Any) -> str:
    """The outlet's bare name ("cnn" for cnn.com): a span naming it is a byline, not an answer."""
    return str(passage.source or "").lower().split(".")[0]


def head_similarity(embedder: Any) -> Callable[[str, list[str]], list[float]]:
    """Cosine of each candidate to the question's head noun ("automaker" ~ "Ford"), by the embedder."""
    def similar(head: str, candidates: list[str]) -> list[float]:
        vecs = np.asarray(embedder.embed([head, *candidates]), dtype=np.float32)
        return [float(x) for x in vecs[1:] @ vecs[0]]
    return similar


def typed_short_answer(question: str, kind: str, head: str | None, scored: Sequence[Any],
                       parse: Callable[[list[str]], list[Any]], depth: int = EVIDENCE_DEPTH,
                       similar: Callable[[str, list[str]], list[float]] | None = None,
                       said: Sequence[str] = ()) -> str | None:
    """The entity of the expected type that the best evidence sentences put in the question's slot
    (`said`: what the conversation already named, no answer either)."""
    preferred, acceptable = labels_for(kind, head, question)
    q_terms = content_terms(question)
    q_tokens = set(words(question))
    echo_terms = q_terms | content_terms(" ".join(said))
    echo_tokens = q_tokens | set(words(" ".join(said)))
    evidence = weighted_evidence(scored, depth)
    if not evidence:
        return None
    docs = parse([sc.sentence.text for sc, _ in evidence])
    role = question_role(parse([question])[0])
    nouns = kind == "name" and bool(head) and preferred == NAMED
    called = kind == "name" and bool(ASKS_NAME.search(question))
    tally: dict[str, float] = {}
    shown: dict[str, str] = {}
    for (sc, weight), doc in zip(evidence, docs, strict=True):
        outlet = outlet_of(sc.passage)
        for start, end, label in dict.fromkeys(entity_candidates(doc, acceptable, nouns, called)):
            text = doc[start:end].text.strip(" ,.;:’'").removesuffix("’s").removesuffix("'s")
            key = text.lower()
            if not text or _is_question_echo(text, echo_terms, echo_tokens) or key.replace(" ", "") == outlet:
                continue
            fit = (1.0 if label in preferred else NOUN_PHRASE_FIT if label == "NOUN"
                   else CALLED_NAME if label == "CALLED" else OTHER_LABEL_FIT)
            fit *= gazetteer_fit(key, head)
            if preferred == PLACE and key in COUNTRIES and not _gazetteers(head):
                fit *= COUNTRY_FOR_PLACE
            if in_relative_clause(doc.text, doc[start].idx):
                fit *= RELATIVE_CLAUSE
            tally[key] = tally.get(key, 0.0) + weight * fit * _slot_fit(doc, start, end, q_terms) * _role_fit(
                doc, start, end, role)
            shown.setdefault(key, text)
    if not tally:
        return None
    if similar is not None and head:
        pool = sorted(tally, key=lambda k: -tally[k])[:12]
        for key, sim in zip(pool, similar(head, [shown[k] for k in pool]), strict=True):
            tally[key] *= max(HEAD_SIMILARITY_FLOOR, 0.5 + HEAD_SIMILARITY * sim)
    ranked = sorted(tally, key=lambda k: (-tally[k], len(k)))
    return shown[ranked[0]] if tally[ranked[0]] >= MIN_TYPED_SUPPORT else None
