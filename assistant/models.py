"""Plain frozen dataclasses shared by every layer: Article, Chunk, Passage, Citation, Answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

NOT_FOUND = "I could not find this in the indexed articles."


@dataclass(frozen=True)
class Article:
    """One news article as read from a file (or one object of a JSON/JSONL file)."""

    id: str
    title: str
    source: str | None
    url: str | None
    author: str | None
    published_at: str | None  # ISO date YYYY-MM-DD, or None when the file does not say
    path: str
    text: str


@dataclass(frozen=True)
class Skipped:
    """A file (or JSONL line) that was not indexed, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Chunk:
    """A sentence-aware slice of an article; `embed_text` is what the embedder sees."""

    id: str
    article_id: str
    index: int
    text: str
    embed_text: str
    title: str
    source: str | None
    url: str | None
    author: str | None
    published_at: str | None
    path: str


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk, numbered [n] for the answerer and the user."""

    n: int
    chunk_id: str
    article_id: str
    title: str
    source: str | None
    url: str | None
    path: str
    published_at: str | None
    text: str
    score: float
    also_reported_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Citation:
    """A checked reference from an answer to passage [n]; `quote` is verbatim from it."""

    n: int
    article_id: str
    title: str
    source: str | None
    published_at: str | None
    url: str | None
    path: str
    quote: str


@dataclass(frozen=True)
class Answer:
    """A grounded answer; `to_json()` is the `--json` contract (keys are never renamed).

    Frozen: a step that adds to an answer builds a new one (dataclasses.replace)."""

    question: str
    answer: str
    mode: str  # "extractive" | "llm" | "none"
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    usage: dict[str, int] | None = None
    rewritten_question: str | None = None
    choice_index: int | None = None
    choice_evidence: str | None = None  # offline picks: "named", "none" (no passage names a choice), ...
    date_window: tuple[str, str] | None = None
    as_of: str | None = None
    confidence: float | None = None  # offline answers: P(the evidence answers the question)
    signals: dict[str, float] | None = None  # offline answers: what the confidence was made of
    llm: dict[str, Any] | None = None  # the model's side: who answered, the verification verdict

    def to_json(self) -> dict[str, Any]:
        """The JSON object printed by `ask --json` and stored by `eval`."""
        out: dict[str, Any] = {
            "question": self.question,
            "answer": self.answer,
            "mode": self.mode,
            "citations": [asdict(c) for c in self.citations],
            "passages": [
                {
                    "n": p.n,
                    "article_id": p.article_id,
                    "chunk_id": p.chunk_id,
                    "title": p.title,
                    "source": p.source,
                    "published_at": p.published_at,
                    "path": p.path,
                    "url": p.url,
                    "score": round(p.score, 6),
                    "text": p.text,
                    "also_reported_by": list(p.also_reported_by),
                }
                for p in self.passages
            ],
            "warnings": list(self.warnings),
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }
        if self.usage is not None:
            out["usage"] = dict(self.usage)
        elif self.llm is not None:
            out["usage"] = None  # a model answered but its server reported no usage: unknown
        if self.rewritten_question is not None:
            out["rewritten_question"] = self.rewritten_question
        if self.choice_index is not None:
            out["choice_index"] = self.choice_index
        if self.choice_evidence is not None:
            out["choice_evidence"] = self.choice_evidence
        if self.date_window is not None:
            out["date_window"] = list(self.date_window)
        if self.as_of is not None:
            out["as_of"] = self.as_of
        if self.confidence is not None:
            out["confidence"] = round(self.confidence, 3)
        if self.signals is not None:
            out["signals"] = {k: round(v, 4) for k, v in self.signals.items()}
        if self.llm is not None:
            out["llm"] = dict(self.llm)
        return out
