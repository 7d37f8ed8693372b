"""Evidence sentences: only each passage's best sentences by wording are embedded, and the one that
answers is still found among them."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from assistant.answer.citations import quotations, quote_in_passage
from assistant.answer.offline.extractive import (
    _ground,
    answer_extractive,
    quoted,
    score_sentences,
    worth_embedding,
)
from assistant.answer.offline.short import short_answer
from assistant.answer.offline.weights import SENTENCES_EMBEDDED_PER_PASSAGE
from assistant.models import Passage
from assistant.text import Sentence


class BagOfWords:
    """A fake embedder that still ranks: hashed word counts, unit length; it records what it saw."""

    dim = 64

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z]+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def passage(n: int, text: str) -> Passage:
    return Passage(n=n, chunk_id=f"c{n}", article_id=f"a{n}", title=f"Report {n}", source="example.com",
                   url=None, path="x.md", published_at="2031-05-02", text=text, score=1.0)


FILLER = [
    "Rain fell across the valley for most of the afternoon.",
    "Local shops closed early because of the holiday weekend.",
    "Traffic on the coastal road was slower than usual.",
    "A choir performed in the old square after sunset.",
    "Several ferries were delayed by the strong wind.",
    "The museum extended its opening hours for the summer.",
    "Farmers brought their produce to the Thursday market.",
]
ANSWER = "The Velmora harbour commission elected Ilsa Marrow as its new chair on Tuesday."


def test_only_each_passages_best_sentences_by_wording_are_embedded() -> None:
    question = "Who did the Velmora harbour commission elect as chair?"
    first = passage(1, " ".join([*FILLER[:4], ANSWER, *FILLER[4:]]))
    second = passage(2, " ".join(FILLER))
    embedder = BagOfWords()
    scored = score_sentences(question, embedder.embed([question])[0], [first, second], embedder)
    embedder.seen = embedder.seen[1:]  # the question itself
    assert len(embedder.seen) == 2 * SENTENCES_EMBEDDED_PER_PASSAGE < 2 * (len(FILLER) + 1) - 1
    assert scored[0].sentence.text == ANSWER
    assert {s.sentence.text for s in scored} == set(embedder.seen)


def test_equal_wording_keeps_the_earlier_sentences_of_each_passage() -> None:
    sentences = [Sentence(f"s{i}", 0, i // 4) for i in range(8)]  # two passages of four
    wording = [0.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.2, 0.0]
    assert worth_embedding(sentences, wording, per_passage=2) == [0, 1, 4, 6]


def test_a_sentence_that_opens_with_a_quotation_is_not_shown_with_doubled_marks() -> None:
    said = "“We will open the bridge in June,” the Velmora mayor said on Tuesday."
    plain = "The Velmora mayor said the bridge will open in June."
    assert quoted(said) == f'"{said}"' and "““" not in quoted(said) and "””" not in quoted(said)
    assert quoted(plain) == f"“{plain}”"
    mixed = 'The mayor called it "the “new” bridge".'  # both kinds inside: the usual marks
    assert quoted(mixed) == f"“{mixed}”"
    question = "When will the Velmora bridge open?"
    embedder = BagOfWords()
    p = passage(1, " ".join([FILLER[0], said, FILLER[1]]))
    answer = answer_extractive(question, [p], embedder.embed([question])[0], embedder)
    assert answer.mode == "extractive" and f'"{said}" [1]' in answer.answer
    assert "““" not in answer.answer
    assert all(quote_in_passage(q, p.text) for q in quotations(answer.answer))


def test_a_when_question_is_dated_by_the_day_the_report_names_not_by_a_background_year() -> None:
    # Published 2031-05-02, a Friday: "on Tuesday" is 29 April 2031. The year sits in a clause that
    # describes the league; it answers only a question about that description.
    news = ("The Velmora league, which was founded by three river towns in 1998 to run the summer races, "
            "admitted the Ostrava rowing club on Tuesday.")
    p = passage(1, " ".join([FILLER[0], news, FILLER[1]]))
    embedder = BagOfWords()
    asked = [("When did the Velmora league admit the Ostrava rowing club?", "29 April 2031"),
             ("When was the Velmora league founded?", "1998"),
             ("What year did the Velmora league admit the Ostrava rowing club?", None)]  # a year: not Tuesday
    for question, expected in asked:
        scored = score_sentences(question, embedder.embed([question])[0], [p], embedder)
        short = short_answer(question, scored[:3], scored)
        assert short == expected, question
        if expected is None:
            continue
        evidence, kept = _ground(scored[:1], scored, short)
        assert kept == expected and evidence[0].sentence.text == news
    assert _ground(scored[:1], scored, "30 April 2031") == (scored[:1], None)  # held by no sentence


def test_a_sentence_that_is_itself_a_question_is_no_evidence() -> None:
    # An explainer's headings echo the question's words but answer nothing.
    heading = "When will the Velmora bridge open to traffic?"
    quoted_heading = "“Why is the Velmora bridge late?”"
    news = "Engineers said the Velmora bridge will open to cars in June after a final inspection."
    p = passage(1, " ".join([heading, news, quoted_heading, FILLER[0]]))
    question = "When will the Velmora bridge open to traffic?"
    embedder = BagOfWords()
    scored = score_sentences(question, embedder.embed([question])[0], [p], embedder)
    texts = [s.sentence.text for s in scored]
    assert heading not in texts and quoted_heading not in texts
    assert texts[0] == news


def test_an_amount_is_the_whole_amount_and_never_a_day_or_a_time() -> None:
    embedder = BagOfWords()
    cases = [  # (sentence, question, short answer)
        ("The Velmora council bought the old ferry terminal on Oct. 27, paying $44 million for the site.",
         "How much did the Velmora council pay for the ferry terminal?", "$44 million"),
        ("The Velmora dock strike began at 12:01 a.m. and 3,200 workers joined it.",
         "How many workers joined the Velmora dock strike?", "3,200"),
        ("The Velmora mayor opened the new harbour in 2019 at the age of 58.",
         "How old was the Velmora mayor when the harbour opened?", "58"),
    ]
    for sentence, question, expected in cases:
        p = passage(1, " ".join([FILLER[0], sentence, FILLER[1]]))
        scored = score_sentences(question, embedder.embed([question])[0], [p], embedder)
        assert short_answer(question, scored[:3], scored) == expected, question


def test_captions_and_video_titles_are_quoted_without_their_furniture_and_photo_credit() -> None:
    text = ("Hide Caption 3 of 12 Photos: Photos: Velmora's Ilsa Marrow lifts the harbour regatta cup after "
            "the final race. Jon Brel/AP Ilsa Marrow waves to the crowd from the winning boat Prev Next\n"
            "Video Ad Feedback Watch the Velmora harbour regatta cup final in full 04:20 - Source: CNN")
    p = passage(1, text)
    question = "Who lifted the Velmora harbour regatta cup?"
    embedder = BagOfWords()
    scored = score_sentences(question, embedder.embed([question])[0], [p], embedder)
    texts = {s.sentence.text for s in scored}
    assert texts == {"Velmora's Ilsa Marrow lifts the harbour regatta cup after the final race.",
                     "Ilsa Marrow waves to the crowd from the winning boat",
                     "Watch the Velmora harbour regatta cup final in full"}
    assert all(text[s.sentence.start : s.sentence.start + len(s.sentence.text)] == s.sentence.text
               for s in scored)  # still verbatim, at its place


def test_a_name_answer_is_neither_the_questions_own_words_with_a_number_nor_a_month() -> None:
    from assistant.answer.offline.short import candidates
    from assistant.text import name_terms

    assert name_terms("COVID-19") == {"covid"} and name_terms("F-35") == set()
    assert name_terms("Velmora Cup 2031") <= name_terms("Which team won the Velmora Cup?")
    found = candidates("The Ostrava Rowers won the championship Feb. 12 and lost it in May.", "name")
    assert "Ostrava Rowers" in found and not {"Feb", "May"} & set(found)
