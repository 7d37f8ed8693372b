"""Citation check: invalid markers, uncited sentences, fabricated quotes, refusal, quotes."""

from __future__ import annotations

from pathlib import Path

from assistant.answer.citations import (
    best_quote,
    check_citations,
    quote_in_passage,
    sentence_spans,
)
from assistant.answer.llm.verify import UNSUPPORTED_TAG, verify
from assistant.models import NOT_FOUND, Passage

SEED = Path(__file__).resolve().parent.parent / "seeds" / "000_e8d20170f0601f30.txt"
TITLE = "Xi urges SCO members to resist US tech curbs"
GROUPS = [(8, 11), (0, 3), (11, 14), (3, 6), (14, 19)]  # seed lines of passages [1]..[5]


def seed_passages(dates: list[str | None] | None = None) -> list[Passage]:
    """Five passages cut from the seed article: [1] holds the Belarus sentence."""
    lines = [line for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]
    dates = dates or ["2024-07-04"] * len(GROUPS)
    return [
        Passage(
            n=i + 1, chunk_id=f"seed-{i}", article_id="seed-000", title=TITLE,
            source="The National", url=None, path=str(SEED), published_at=dates[i],
            text="\n".join(lines[a:b]), score=1.0 - i / 10,
        )
        for i, (a, b) in enumerate(GROUPS)
    ]


def test_acceptance_reply_keeps_one_citation_and_warns_about_7() -> None:
    passages = seed_passages()
    text, citations, warnings = check_citations(
        "Belarus joined the SCO [1]. It was also joined by Narnia [7].", passages
    )
    assert text == "Belarus joined the SCO [1]. It was also joined by Narnia."
    assert [c.n for c in citations] == [1]
    assert citations[0].quote in passages[0].text and "added Belarus" in citations[0].quote
    assert len(warnings) == 1 and "[7]" in warnings[0]


def test_citation_9_of_5_is_removed_and_reported() -> None:
    text, citations, warnings = check_citations("India sent its foreign minister [9].",
                                                seed_passages())
    assert "[9]" not in text and citations == []
    assert any("[9]" in w for w in warnings)


def test_mixed_and_list_markers() -> None:
    passages = seed_passages()
    text, citations, warnings = check_citations(
        "Modi skipped the meeting [1, 8]. Xi spoke of a \u201csmall yard, high fence\u201d "
        "[Article 2]. Chips matter [3-4].", passages
    )
    assert text == ("Modi skipped the meeting [1]. Xi spoke of a \u201csmall yard, high "
                    "fence\u201d [2]. Chips matter [3][4].")
    assert [c.n for c in citations] == [1, 2, 3, 4]
    assert [w for w in warnings if "[8]" in w] and not [w for w in warnings if "Quote" in w]


def test_uncited_sentence_is_reported() -> None:
    _, citations, warnings = check_citations(
        "Belarus joined the SCO [1]. The summit was held in Kazakhstan.", seed_passages()
    )
    assert [c.n for c in citations] == [1]
    assert warnings == ['No citation for: "The summit was held in Kazakhstan."']


def test_fabricated_quote_is_reported_and_real_one_accepted() -> None:
    passages = seed_passages()
    _, _, warnings = check_citations('Lavrov said "we will crush the West" [3].', passages)
    assert len(warnings) == 1 and "Quote not found in [3]" in warnings[0]
    _, _, warnings = check_citations(
        'Lavrov said "we are interested in  interconnecting the development" [3].', passages
    )
    assert warnings == []


def test_quote_must_be_in_the_cited_passage_not_another() -> None:
    # the words exist in passage [2], but the sentence attributes them to [1]
    _, _, warnings = check_citations('Xi said "we need to defend our rights to develop" [1].',
                                     seed_passages())
    assert any("Quote not found in [1]" in w for w in warnings)


def test_quote_normalisation_quotes_whitespace_case_ellipsis() -> None:
    passage = seed_passages()[1].text
    assert quote_in_passage("Facing the risks of 'small yard,   high fence,'", passage)
    assert quote_in_passage("facing the risks ... defend our rights", passage)
    assert not quote_in_passage("facing the risks ... defend our borders", passage)
    assert quote_in_passage("One Belt - One Road initiative", seed_passages()[2].text)


def test_refusal_sentence_gives_no_citations() -> None:
    assert check_citations(NOT_FOUND, seed_passages()) == (NOT_FOUND, [], [])
    assert check_citations(f" {NOT_FOUND} The articles cover the SCO summit.",
                           seed_passages()) == (NOT_FOUND, [], [])


def test_refusal_with_cited_content_stays_an_answer() -> None:
    text, citations, warnings = check_citations(
        f"Belarus joined the SCO [1]. {NOT_FOUND}", seed_passages()
    )
    assert text.startswith("Belarus") and [c.n for c in citations] == [1] and warnings == []


def test_best_quote_is_verbatim_sentence() -> None:
    passage = seed_passages()[0].text
    quote = best_quote("Who stood in for Narendra Modi at the meeting?", passage)
    assert quote in passage
    assert quote.startswith("Indian Prime Minister Narendra Modi did not attend")
    assert best_quote("anything", "") == ""


def test_citations_in_order_of_first_use_one_per_passage() -> None:
    _, citations, _ = check_citations(
        "Chips are restricted [4]. Belarus joined the SCO [1]. Xi spoke in Kazakhstan [2][4].",
        seed_passages(),
    )
    assert [c.n for c in citations] == [4, 1, 2]
    assert all(c.quote in seed_passages()[c.n - 1].text for c in citations)


def test_sentence_spans_keep_markers_and_skip_abbreviations() -> None:
    text = "Mr. Xi met Mr Putin. [1] Then U.S. officials left [2].\nA list item"
    spans = [text[a:b] for a, b in sentence_spans(text)]
    assert spans == ["Mr. Xi met Mr Putin. [1]", "Then U.S. officials left [2].", "A list item"]


# -- verification: what the user is shown ---------------------------------------------------------

def test_verified_answer_cites_supporting_passages() -> None:
    v = verify("Belarus joined the SCO [1]. India sent its foreign minister in place of "
               "Narendra Modi [1].", seed_passages())
    assert (v.status, v.reasons, v.warnings, v.failing) == ("verified", [], [], [])
    assert [c.n for c in v.citations] == [1] and UNSUPPORTED_TAG not in v.text


def test_supported_sentences_without_markers_are_attributed_by_the_checker() -> None:
    v = verify("Belarus was added to the SCO on Thursday.", seed_passages())
    assert v.status == "verified" and v.attributed == ["Belarus was added to the SCO on Thursday."]
    assert v.text == "Belarus was added to the SCO on Thursday. [1]"
    assert [c.n for c in v.citations] == [1]


def test_unsupported_sentences_without_markers_are_unverified() -> None:
    v = verify("Narnia joined the SCO. It happened at a summit in Paris.", seed_passages())
    assert v.status == "unverified" and "no valid citation" in v.reasons and not v.attributed


def test_prompt_echo_is_unverified_even_with_a_valid_marker() -> None:
    echo = ("Articles:\n<<<ARTICLE 5>>>\n[5] Xi urges SCO members to resist US tech curbs\n"
            "Belarus joined the SCO [1].\nQuestion: Who joined the SCO?")
    v = verify(echo, seed_passages())
    assert v.status == "unverified" and v.reasons[0].startswith("it repeats the prompt")


def test_out_of_range_markers_only_is_unverified() -> None:
    v = verify("Belarus joined the SCO [7]. Narnia joined it too [9].", seed_passages())
    assert v.status == "unverified" and v.citations == [] and "no valid citation" in v.reasons
    assert any("[7]" in w for w in v.warnings) and any("[9]" in w for w in v.warnings)
    assert "[7]" not in v.text and "[9]" not in v.text


def test_invented_quote_without_a_marker_is_caught() -> None:
    v = verify('Belarus joined the SCO [1]. Xi said "the West will fall within a year" in '
               "his speech.", seed_passages())
    assert v.status == "partly"
    assert any(w.startswith("Quote not found in any article") for w in v.warnings)
    assert v.failing == ['Xi said "the West will fall within a year" in his speech.']
    real = verify('Belarus joined the SCO [1]. Xi spoke of a "small yard, high fence" risk.',
                  seed_passages())
    assert not any("Quote not found" in w for w in real.warnings)  # verbatim in passage [2]


def test_valid_marker_with_unrelated_content_is_unsupported() -> None:
    unrelated = "Chip export curbs could slow China's progress in chip-making [1]."
    v = verify(f"Belarus joined the SCO [1]. {unrelated}", seed_passages())
    assert v.status == "partly" and v.failing == [unrelated.replace(" [1]", "")]
    assert any(w.startswith("Not supported by [1]") for w in v.warnings)
    assert v.text.endswith(f"chip-making [1].{UNSUPPORTED_TAG}")
    assert v.text.startswith("Belarus joined the SCO [1]. Chip")  # the supported one untagged
    assert verify(unrelated.replace("[1]", "[4]"), seed_passages()).status == "verified"


def test_an_invented_name_is_not_supported() -> None:
    v = verify("Narnia joined the SCO on Thursday [1].", seed_passages())
    assert v.status == "unverified" and v.failing == ["Narnia joined the SCO on Thursday."]


def test_mostly_unsupported_is_unverified_and_the_refusal_is_a_refusal() -> None:
    v = verify("Belarus joined the SCO [1]. Mongolia hosted the Olympics [1]. Paris won the summit vote [2].",
               seed_passages())
    assert v.status == "unverified" and "2 of 3 sentences" in v.reasons[-1]
    assert verify(NOT_FOUND, seed_passages()).status == "refusal"
