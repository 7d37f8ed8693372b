"""ParsedDoc against spaCy: after a JSON round trip every token, span and spans.py result is the same."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from assistant.answer.offline import spans
from assistant.answer.offline.extractive import Scored
from assistant.answer.offline.nlp import MODEL_PACKAGE, load_pipeline
from assistant.answer.offline.parsed import FORMAT, ParsedDoc
from assistant.answer.offline.qtype import expected_type
from assistant.models import Passage
from assistant.text import Sentence, content_terms

# Written for this test: names, possessives, titles, quoted titles, relative clauses, numbers,
# odd spacing, and questions.
SENTENCES = [
    "London’s National Gallery reopened on Monday after a $4.5 million renovation, officials said.",
    "Mrs. Jill Biden visited a school in Ohio with Dr. Anthony Fauci on Tuesday.",
    "The Netflix drama “The Silent Harbour” was renewed for a third season, the company said.",
    'Critics called "Paper Moons" the best album of the year.',
    "The council, which was founded by Norway and Iceland in 1996, admitted Finland, Sweden’s closest "
    "partner, to the group on Friday.",
    "Acme Motors recalled 1.2 million trucks because a faulty sensor may let them roll away.",
    "Unemployment fell to 3.6% in May, the lowest rate since 1969, according to the Labor Department.",
    "Maria Lopez, who leads the union, said 12,000 workers would strike at 40 plants across Michigan.",
    "The storm hit Lake Tahoe  and\nthe Sierra Nevada overnight.",
    "Brazil's President Luiz Inácio Lula da Silva met King Charles III at Buckingham Palace.",
    "The bill, known as the Clean Water Act, passed the Senate 68-31 on Wednesday.",
    "Shares of Globex Corp. rose 8% to $112.40 on the Nasdaq after the deal.",
    "The Eiffel Tower drew 6.2 million visitors, up 14 percent from the year before.",
]
QUESTIONS = [
    "Who won the mayoral race in Springfield last week?",
    "Which company recalled 1.2 million trucks?",
    "Which country did the council admit on Friday?",
    "Where was the gallery reopened?",
    "What did the board approve on Thursday?",
    "Whom did the jury acquit?",
    "Which show was renewed for a third season?",
    "Who visited a school in Ohio?",
    "Which album did critics call the best of the year?",
    "What percentage did unemployment fall to?",
    "How many visitors did the tower draw?",
]
ALL = SENTENCES + QUESTIONS


@pytest.fixture(scope="module")
def pairs() -> list[tuple[Any, ParsedDoc]]:
    """(spaCy doc, the ParsedDoc made from it and read back from its JSON) for every text."""
    nlp = load_pipeline(MODEL_PACKAGE)
    out = []
    for text in ALL:
        doc = nlp(text)
        again = ParsedDoc.from_json(ParsedDoc.from_spacy(doc).to_json())
        assert again.text == doc.text == text
        out.append((doc, again))
    return out


def attempt(f: Callable[[], Any]) -> Any:
    """The value, or the kind of exception raised: both sides must fail alike too."""
    try:
        return f()
    except Exception as exc:  # noqa: BLE001 - compared, not hidden
        return ("raised", type(exc).__name__)


def token_view(t: Any) -> tuple[Any, ...]:
    return (t.i, t.text, t.lower_, t.lemma_, t.pos_, t.tag_, t.dep_, t.head.i, [c.i for c in t.children],
            t.ent_type_, t.is_stop, t.is_punct, t.is_space, t.idx, t.whitespace_, len(t), str(t))


def span_view(s: Any) -> tuple[Any, ...]:
    return (s.start, s.end, s.label_, s.text, len(s), [t.i for t in s], attempt(lambda: s.root.i),
            attempt(lambda: s[0].i), attempt(lambda: s[-1].i))


def test_tokens_entities_and_noun_chunks_match(pairs: list[tuple[Any, ParsedDoc]]) -> None:
    for doc, parsed in pairs:
        assert len(parsed) == len(doc)
        assert [token_view(t) for t in parsed] == [token_view(t) for t in doc]
        assert [token_view(parsed[i]) for i in range(-len(doc), len(doc))] == [
            token_view(doc[i]) for i in range(-len(doc), len(doc))]
        assert attempt(lambda: parsed[len(doc)]) == attempt(lambda: doc[len(doc)])  # noqa: B023
        assert [span_view(e) for e in parsed.ents] == [span_view(e) for e in doc.ents]
        assert [span_view(c) for c in parsed.noun_chunks] == [span_view(c) for c in doc.noun_chunks]
    labels = {e.label_ for _, p in pairs for e in p.ents}
    assert {"PERSON", "ORG", "GPE", "DATE", "MONEY", "PERCENT", "WORK_OF_ART", "CARDINAL"} <= labels


def test_every_short_span_has_spacys_root_and_text(pairs: list[tuple[Any, ParsedDoc]]) -> None:
    checked = 0
    for doc, parsed in pairs:
        n = len(doc)
        for start in range(n + 1):
            for end in range(start, min(n, start + 6) + 1):
                assert span_view(parsed[start:end]) == span_view(doc[start:end]), (doc.text, start, end)
                checked += 1
        for a, b in ((5, 3), (-3, None), (None, 4), (2, 10_000), (-10_000, -1)):
            assert span_view(parsed[a:b]) == span_view(doc[a:b])
            assert span_view(parsed[2:9][a:b]) == span_view(doc[2:9][a:b])
    assert checked > 1000


def char_spans(doc: Any, mode: str) -> Iterator[Any]:
    text = doc.text
    for a in range(len(text)):
        for b in range(a + 1, min(len(text), a + 14) + 1):
            span = doc.char_span(a, b, alignment_mode=mode)
            yield None if span is None else (span.start, span.end, span.text)


@pytest.mark.parametrize("mode", ["expand", "strict", "contract"])
def test_char_span_aligns_as_spacy(pairs: list[tuple[Any, ParsedDoc]], mode: str) -> None:
    for doc, parsed in pairs:
        assert list(char_spans(parsed, mode)) == list(char_spans(doc, mode))


def test_tokens_are_fresh_views_equal_by_position_as_in_spacy(pairs: list[tuple[Any, ParsedDoc]]) -> None:
    for doc in pairs[0]:
        first = doc[0]
        assert first is not doc[0] and first == doc[0] and hash(first) == hash(doc[0])
        assert first.head.head is not first.head.head  # so `phrase is not verb` reads the same on both
        assert first in list(doc) and first != doc[1]
    spacy_doc, parsed = pairs[0]
    assert parsed[0] != pairs[1][1][0]  # same position, another doc


def label_sets() -> list[frozenset[str]]:
    """Every label set spans.py asks for: the named groups and what labels_for gives each question."""
    sets = {spans.PERSON, spans.ORG, spans.PLACE, spans.WORK, spans.NAMED, spans.NUMERIC,
            *spans.KIND_LABELS.values()}
    for q in QUESTIONS:
        kind, head = expected_type(q)
        sets.update(spans.labels_for(kind, head, q))
    for kind, head in (("name", "city"), ("name", "show"), ("number", "percentage"), ("money", None)):
        sets.update(spans.labels_for(kind, head, "Which one?"))
    return sorted(sets, key=sorted)


def test_entity_candidates_match_for_every_label_set(pairs: list[tuple[Any, ParsedDoc]]) -> None:
    found = 0
    for doc, parsed in pairs:
        for wanted in label_sets():
            for nouns in (False, True):
                ours = list(spans.entity_candidates(parsed, wanted, nouns))
                assert ours == list(spans.entity_candidates(doc, wanted, nouns)), (doc.text, wanted)
                found += len(ours)
    assert found > 100


def test_roles_and_slots_match_on_every_short_span(pairs: list[tuple[Any, ParsedDoc]]) -> None:
    roles = [spans.question_role(d) for d, _ in pairs]
    assert [spans.question_role(p) for _, p in pairs] == roles
    assert sum(r is not None for r in roles) >= len(QUESTIONS) - 2
    roles.append(None)
    terms = [content_terms(q) for q in QUESTIONS]
    for doc, parsed in pairs:
        for start in range(len(doc)):
            for end in range(start + 1, min(len(doc), start + 6) + 1):
                for role in dict.fromkeys(roles):
                    assert spans._role_fit(parsed, start, end, role) == spans._role_fit(doc, start, end, role)
                for q_terms in terms:
                    assert spans._slot_fit(parsed, start, end, q_terms) == spans._slot_fit(
                        doc, start, end, q_terms)


def scored(texts: list[str]) -> list[Scored]:
    out = []
    for i, text in enumerate(texts):
        score = 0.9 - 0.02 * i
        p = Passage(i + 1, f"c{i}", f"a{i}", "t", "example.com", None, "x.txt", "2024-07-04", text, score)
        out.append(Scored(Sentence(text, 0, i), p, score, 0.5, score))
    return out


def test_typed_short_answers_match_end_to_end(pairs: list[tuple[Any, ParsedDoc]]) -> None:
    spacy_docs = {d.text: d for d, _ in pairs}
    parsed_docs = {p.text: p for _, p in pairs}

    def by_length(head: str, candidates: list[str]) -> list[float]:
        return [min(1.0, len(c) / 20) for c in candidates]

    answers = []
    for q in QUESTIONS:
        kind, head = expected_type(q)
        for first in range(0, len(SENTENCES), 3):  # each window of evidence leads with other sentences
            evidence = scored(SENTENCES[first:] + SENTENCES[:first])
            for similar in (None, by_length):
                want = spans.typed_short_answer(q, kind, head, evidence,
                                                lambda ts: [spacy_docs[t] for t in ts], similar=similar)
                got = spans.typed_short_answer(q, kind, head, evidence,
                                               lambda ts: [parsed_docs[t] for t in ts], similar=similar)
                assert got == want, (q, first, similar)
                answers.append(got)
    assert sum(a is not None for a in answers) > len(answers) // 2


def test_json_of_another_format_is_refused() -> None:
    with pytest.raises(ValueError, match="format"):
        ParsedDoc.from_json(f'{{"f": {FORMAT + 1}, "t": [], "e": [], "c": []}}')
    empty = ParsedDoc.from_json(f'{{"f": {FORMAT}, "t": [], "e": [], "c": []}}')
    assert (empty.text, len(empty), empty.ents, list(empty.noun_chunks)) == ("", 0, (), [])
