"""The offline multiple-choice picker: named choices, per-choice searches, negation, numbers."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from assistant.answer.offline.choice import pick_choice
from assistant.models import Passage


class BagEmbedder:
    """A real (hashed bag-of-words) embedder: texts sharing words are close."""

    dim = 256

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        out[:, 0] += 1e-3
        normed: np.ndarray = out / np.linalg.norm(out, axis=1, keepdims=True)
        return normed

    def embed_query(self, text: str) -> np.ndarray:
        row: np.ndarray = self.embed([text])[0]
        return row


def passage(n: int, text: str, date: str = "2022-09-20", title: str = "News") -> Passage:
    return Passage(n, f"c{n}", f"a{n}", title, "example.com", None, f"/n/{n}.md", date, text, 0.5)


def pick(question: str, choices: list[str], passages: list[Passage],
         found: dict[str, list[Passage]] | None = None) -> int | None:
    emb = BagEmbedder()

    def search(text: str) -> list[Passage]:
        return (found or {}).get(text.removeprefix(question).strip(), [])

    return pick_choice(question, choices, passages, emb.embed_query(question), emb, search=search).index


def test_the_choice_named_where_the_question_is_answered_wins() -> None:
    question = "Which carmaker recalled more than 90,000 delivery vans this week?"
    passages = [
        passage(1, "Zentrovia unveiled a new electric sedan at the Valdora auto show on Monday."),
        passage(2, "Kestrel Motors is recalling more than 90,000 delivery vans because they can roll away."),
        passage(3, "Zentrovia said sales of its sedans rose in August, and Zentrovia shares climbed."),
    ]
    assert pick(question, ["Zentrovia", "Brannoch", "Pelmora", "Kestrel Motors"], passages) == 3


def test_a_choice_found_only_by_its_own_search_counts_and_old_news_weighs_less() -> None:
    question = "Which national park was hit by severe flooding that washed out roads this week?"
    passages = [passage(1, "Flooding washed out roads and bridges this week, officials said.")]
    found = {
        "Quellin": [passage(2, "Severe flooding in Quellin National Park washed out roads and "
                               "bridges this week.", title="Quellin flooding")],
        "Harwick": [passage(3, "Severe flooding in Harwick National Park washed out roads and bridges.",
                            date="2019-03-01", title="Harwick flooding")],
    }
    assert pick(question, ["Harwick", "Quellin", "Ebbrecht", "Saltrenna"], passages, found) == 1


def test_a_negated_question_takes_the_choice_no_sentence_names() -> None:
    question = "Which one of these people was not given the Order of the Silver Fern this week?"
    passages = [passage(1, "The governor gave the Order of the Silver Fern to Orla Vennicott, Tobias "
                           "Krantzmeyer and, posthumously, Amarine Soltberg this week.")]
    choices = ["Orla Vennicott", "Tobias Krantzmeyer", "Amarine Soltberg", 'Desmond "Quill" Quillfeather']
    assert pick(question, choices, passages) == 3


def test_numbers_match_as_words_and_approximately() -> None:
    question = "How many times has the media mogul been divorced?"
    passages = [passage(1, "The split means the media mogul has been divorced four times.")]
    assert pick(question, ["Two", "Three", "Four", "Five"], passages) == 2
    question = "Approximately how many library branches closed across the region over the last year?"
    passages = [passage(1, "Over the last year there were 2,532 cuts and 1,648 library branches closed "
                           "across the region.")]
    assert pick(question, ["500", "900", "1,300", "1,600"], passages) == 3


def test_the_pick_says_when_no_passage_names_any_choice() -> None:
    emb = BagEmbedder()
    question = "Which river burst its banks near the old mill?"
    passages = [passage(1, "The river burst its banks near the old mill on Sunday, flooding homes.")]
    picked = pick_choice(question, ["Tarn", "Quell", "Brannoch"], passages, emb.embed_query(question), emb)
    assert picked.evidence == "none" and picked.index is not None
    named = pick_choice(question, ["Tarn", "Quell"], [passage(2, "The Quell burst its banks near the old "
                                                              "mill.")], emb.embed_query(question), emb)
    assert (named.index, named.evidence) == (1, "named")
