"""Chat follow-ups made standalone questions (by the LLM, or offline by carrying key terms)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from assistant.answer.llm.client import ChatClient
from assistant.answer.llm.prompts import load_messages
from assistant.config import Settings
from assistant.text import THINK, content_terms

MAX_TURNS = 3  # previous turns shown to the model
MAX_ANSWER_CHARS = 300
MAX_TERMS = 8


def _words(text: str) -> list[str]:
    return text.split()


_TOKEN = re.compile(r"[\w'’-]+")


def _tokens(text: str) -> list[str]:
    """The words of a question as written (apostrophes and hyphens kept)."""
    return _TOKEN.findall(text)


_CONNECTORS = re.compile(
    r"^\s*(?:and|but|so|also|then|ok|okay|plus|or|what about|how about|what else|anything else)\b",
    re.IGNORECASE,
)
_LEADING = re.compile(r"^\s*(?:and|but|so|also|then|ok|okay|plus)\b[\s,]*", re.IGNORECASE)
_PRONOUNS = frozenset(
    _words("he she it they them him her his hers its their theirs this that these those there")
)
_QUESTION_WORDS = frozenset(
    _words(
        "who whom whose what which when where why how did does do is are was were will would "
        "can could should has have had"
    )
)
_STOPWORDS = (
    _QUESTION_WORDS
    | _PRONOUNS
    | frozenset(
        _words(
            "a an the of in on at to for from by with and or but as be been being not no about "
            "into after before over than then also i you we me my our your tell say said says"
        )
    )
)
# The light words of how a question was asked ("what happened", "how many", "did it get", "make"):
# no subject of the conversation, so a follow-up does not carry them. (Time words stay: "latest",
# "this week" date the news the conversation is about.)
_LIGHT = frozenset(_words("happen happens happening many much get gets got getting make makes take takes "
                          "go goes going come comes become becomes"))
_PREFIX = re.compile(r"^(?:standalone question|rewritten question|question)\s*:\s*", re.IGNORECASE)
_MARKERS = re.compile(r"\s*\[\d+(?:\s*[,;–-]\s*\d+)*\]")  # "in 2024 [1][2]." -> "in 2024."


def rewrite_followup(
    history: list[tuple[str, str]],
    question: str,
    client: ChatClient | None,
    *,
    settings: Settings | None = None,
    on_usage: Callable[[dict[str, int]], None] | None = None,
    on_note: Callable[[str], None] | None = None,
) -> str:
    """The question made standalone from history [(question, answer), ...].

    With a client the model rewrites it (LLMError propagates: then call again with client=None);
    on_usage receives the tokens that request used, when the server reports them. A model
    rewrite that is no question or drops the follow-up's own words (rewrite_problem) is replaced
    by the offline rewrite, and on_note is told why.
    Offline, a question that looks like a follow-up gets the previous question's key terms;
    a standalone question comes back unchanged. Pass the rewritten (standalone) previous
    questions in `history` so that chains of follow-ups keep their subject.
    """
    if not history or not question.strip():
        return question
    if client is None:
        return offline_rewrite(history, question)
    messages = load_messages(
        settings or Settings(), "rewrite",
        history=format_history(history), question=question.strip(),
    )
    result = client.complete(messages, max_tokens=120)
    if on_usage is not None and result.usage:
        on_usage(dict(result.usage))
    line = _first_line(result.text)
    problem = rewrite_problem(line, question)
    if problem is None:
        return line
    fallback = offline_rewrite(history, question)
    if on_note is not None:
        shown = line if len(line) <= 80 else line[:79] + "…"
        on_note(f"The model's rewrite of the follow-up (\"{shown}\") {problem}: searched with the "
                f"offline rewrite \"{fallback}\" instead.")
    return fallback


# A rewrite must be a question: it ends with "?" or starts like one.
_ASKS = re.compile(
    r"^\s*(?:who|whom|whose|what|which|when|where|why|how|did|does|do|is|are|was|were|will|"
    r"would|can|could|should|has|have|had|in what|on what|at what|to whom|name|list|tell)\b",
    re.IGNORECASE,
)
_NOT_A_REWRITE = re.compile(r"^\s*(?:answer|assistant|user|conversation)\s*:|<<<|\[\d+\]",
                            re.IGNORECASE)


def rewrite_problem(rewrite: str, question: str) -> str | None:
    """Why a model's rewrite of `question` cannot be used (None: it can): it must be a question
    of sensible length that keeps every content word of the follow-up itself."""
    if not rewrite:
        return "is empty"
    if len(rewrite) > 3 * len(question) + 300:
        return "is too long"
    if _NOT_A_REWRITE.search(rewrite) or not (rewrite.rstrip().endswith("?")
                                               or _ASKS.match(rewrite)):
        return "is not a question"
    lost = sorted(content_terms(_LEADING.sub("", question)) - content_terms(rewrite))
    if lost:
        return f"drops words of the question ({', '.join(lost)})"
    return None


def format_history(history: list[tuple[str, str]]) -> str:
    """The last turns as "User: ..." / "Assistant: ..." lines (answers shortened, no markers)."""
    lines = []
    for asked, answered in history[-MAX_TURNS:]:
        text = " ".join(_MARKERS.sub("", answered).split())
        if len(text) > MAX_ANSWER_CHARS:
            text = text[: MAX_ANSWER_CHARS - 1].rstrip() + "…"
        lines += [f"User: {' '.join(asked.split())}", f"Assistant: {text}"]
    return "\n".join(lines)


def looks_like_followup(question: str) -> bool:
    """Starts with And / What about / ..., is very short, or names nothing of its own (no name,
    acronym or number: "Where was the summit held?", "Why did they join?")."""
    words = _tokens(question)
    if _CONNECTORS.match(question) or len(words) <= 2:
        return True
    return not _named_entities(words)


@dataclass(frozen=True)
class Followup:
    """A follow-up made standalone: its own question (the focus, what is asked) and the few terms
    it refers back to (the context: the subject of the conversation)."""

    focus: str
    context: tuple[str, ...] = ()

    @property
    def standalone(self) -> str:
        return f"{self.focus} ({' '.join(self.context)})" if self.context else self.focus


_PAREN = re.compile(r"\s*\(([^()]*)\)\s*$")  # the context a rewritten question carries at its end
_VERB_ENDINGS = ("ed",)  # "joined", "represented": what happened, not what it happened to


def offline_followup(history: list[tuple[str, str]], question: str) -> Followup:
    """The follow-up's own question plus what it refers back to: the previous question's names,
    years and topic nouns (never the previous answer's sentences). "And who represented India?"
    after "Who joined the SCO in 2024?" -> focus "Who represented India?", context (SCO, 2024).
    A pronoun ("he", "it", "there") also brings the previous short answer, its likely referent."""
    if not history or not looks_like_followup(question):
        return Followup(question)
    core = _LEADING.sub("", question.strip()) or question.strip()
    core = core[0].upper() + core[1:]
    own = {w.casefold() for w in _tokens(core)}
    previous = history[-1][0]
    carried = _PAREN.search(previous)
    asked = _PAREN.sub("", previous)
    topic = topic_terms(asked)
    if carried:
        topic += [t for t in carried.group(1).split() if t not in topic]
    words = _tokens(core)
    if any(w.lower() in _PRONOUNS for w in words) and not _same_referent(words, asked):
        lead = _short_answer_of(history[-1][1])
        topic = ([lead] if lead else []) + topic
    context = tuple(t for t in dict.fromkeys(topic) if t.casefold() not in own)[:MAX_TERMS]
    return Followup(core, context)


_PERSONS = (frozenset({"he", "him", "his"}), frozenset({"she", "her", "hers"}), frozenset({"it", "its"}),
            frozenset({"they", "them", "their", "theirs"}))


def _same_referent(words: list[str], previous: str) -> bool:
    """The follow-up's pronoun was the previous question's too ("Who did he beat?" then "What share
    did he get?"): it still means whom that question meant (carried in its context), not its answer."""
    asked = {w.lower() for w in _tokens(previous)}
    return any(group & asked for group in _PERSONS if group & {w.lower() for w in words})


def offline_rewrite(history: list[tuple[str, str]], question: str) -> str:
    """offline_followup(...) as one line: "Who represented India? (SCO 2024)"."""
    followup = offline_followup(history, question)
    return followup.standalone if followup.context else question


def topic_terms(text: str) -> list[str]:
    """What a question is about: its names and years first, then content words that are not
    verbs of what happened (joined, represented), in order, without duplicates."""
    terms = [t for t in key_terms(text) if (_is_name(t) or not t.casefold().endswith(_VERB_ENDINGS))
             and t.casefold() not in _LIGHT]
    first = _tokens(text)[:1]
    return [t for t in terms if not (first and t == first[0] and t.casefold() in _STOPWORDS)]


def _short_answer_of(answer: str) -> str | None:
    """The short answer an offline answer leads with ("Belarus."), when it has one."""
    m = re.match(r"\s*([^“\"\[.]{1,60})\.\s", answer + " ")
    lead = m.group(1).strip() if m else ""
    return lead if lead and len(lead.split()) <= 5 and lead[:1].isupper() else None


def key_terms(text: str) -> list[str]:
    """Content words of `text` in order, names first kept as written, without duplicates."""
    words = _tokens(text)
    terms: list[str] = []
    for word in words:
        clean = word.strip("'’-")
        if clean and clean.casefold() not in _STOPWORDS and clean.casefold() not in (
            t.casefold() for t in terms
        ):
            terms.append(clean)
    names = [t for t in terms if _is_name(t)]
    return names + [t for t in terms if not _is_name(t)]


def _named_entities(words: list[str]) -> list[str]:
    """Capitalised words after the first, acronyms and numbers: what a question names itself."""
    return [
        w for i, w in enumerate(words)
        if w != "I" and (_is_name(w) and (i > 0 or w.isupper() or w.lower() not in _STOPWORDS)
                         or w.isdigit())
    ]


def _is_name(word: str) -> bool:
    return word[:1].isupper() or (len(word) > 1 and word.isupper()) or word.isdigit()


def _first_line(text: str) -> str:
    for line in THINK.sub("", text).splitlines():
        line = _PREFIX.sub("", line.strip()).strip().strip("\"“”'").strip()
        if line:
            return line
    return ""
