"""Question files for `assistant eval`: JSONL with gold fields, or plain text (one a line)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from assistant.dates import parse_day
from assistant.errors import EvalError

_JSONL_SUFFIXES = {".jsonl", ".json", ".ndjson"}


@dataclass(frozen=True)
class EvalQuestion:
    """One question to evaluate; `answer` None = no gold answer, "" = not answerable."""

    id: str
    question: str
    answer: str | None = None
    aliases: list[str] = field(default_factory=list)
    choices: list[str] | None = None
    answer_index: int | None = None
    gold_doc_ids: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    as_of: str | None = None  # YYYY-MM-DD
    qtype: str | None = None
    previous: str | None = None


class _Malformed(ValueError):
    """A line that cannot become a question; the message says why."""


def normalize_date(value: Any) -> str | None:
    """YYYY-MM-DD from "2022-06-17", "2022/06/17" or an ISO datetime; None when empty."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _Malformed(f"date {value!r} is not YYYY-MM-DD")
    try:
        return parse_day(value).isoformat()
    except ValueError as exc:
        raise _Malformed(f"date {exc}") from None


def _str_list(obj: dict[str, Any], key: str) -> list[str]:
    value = obj.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise _Malformed(f"'{key}' must be a list of strings")
    return [str(v) for v in value if str(v).strip()]


def _opt_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Malformed(f"'{key}' must be a string")
    return str(value).strip()


def _evidence(obj: dict[str, Any]) -> list[str]:
    value = obj.get("evidence")
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    facts: list[str] = []
    for item in items:
        fact = item.get("fact") if isinstance(item, dict) else item
        if not isinstance(fact, str):
            raise _Malformed('\'evidence\' must be a list of {"fact": "..."} objects or strings')
        if fact.strip():
            facts.append(fact.strip())
    return facts


def _answer_index(obj: dict[str, Any], choices: list[str] | None) -> int | None:
    value = obj.get("answer_index")
    if isinstance(value, list) and value:
        value = value[0]  # RealTime QA stores [i]
    if value is None or value == []:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Malformed("'answer_index' must be an integer (or a list of one)")
    if choices is None or not 0 <= value < len(choices):
        raise _Malformed(f"'answer_index' {value} does not point into 'choices'")
    return value


def _question_from_obj(obj: Any, lineno: int) -> EvalQuestion:
    if not isinstance(obj, dict):
        raise _Malformed("expected a JSON object")
    text = obj.get("question")
    if not isinstance(text, str) or not text.strip():
        raise _Malformed("missing 'question'")
    qid = _opt_str(obj, "id") or f"line-{lineno}"  # a quick file without ids just works
    choices = _str_list(obj, "choices") or None
    index = _answer_index(obj, choices)
    answer = _opt_str(obj, "answer")
    if answer is None and choices is not None and index is not None:
        answer = choices[index]
    qtype = _opt_str(obj, "question_type") or _opt_str(obj, "kind") or None
    if answer is None and _marked_unanswerable(obj, qtype):
        answer = ""  # "" is the one spelling of "not answerable" inside the eval
    as_of = normalize_date(obj.get("as_of") or obj.get("question_date"))
    return EvalQuestion(
        id=qid,
        question=text.strip(),
        answer=answer,
        aliases=_str_list(obj, "aliases"),
        choices=choices,
        answer_index=index,
        gold_doc_ids=_str_list(obj, "gold_doc_ids"),
        evidence=_evidence(obj),
        as_of=as_of,
        qtype=qtype,
        previous=_opt_str(obj, "previous") or None,
    )


def _marked_unanswerable(obj: dict[str, Any], qtype: str | None) -> bool:
    """A question without an answer that its file marks as not answerable: `"answerable": false`,
    `"unanswerable": true`, or the question type (or kind) `unanswerable`."""
    for key, means in (("answerable", False), ("unanswerable", True)):
        value = obj.get(key)
        if value is not None and not isinstance(value, bool):
            raise _Malformed(f"'{key}' must be true or false")
        if value is means:
            return True
    return qtype is not None and qtype.lower() == "unanswerable"


def _read_lines(path: Path) -> list[str]:
    if not path.exists():
        raise EvalError(f"Question file {path} not found: pass a .jsonl or .txt file of questions")
    if not path.is_file():
        raise EvalError(f"{path} is not a file: pass a .jsonl or .txt file of questions")
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalError(f"Cannot read {path} ({exc}): save it as UTF-8 text") from exc


def _is_jsonl(path: Path, lines: list[str]) -> bool:
    if path.suffix.lower() in _JSONL_SUFFIXES:
        return True
    if path.suffix.lower() == ".txt":
        return False
    first = next((line.strip() for line in lines if line.strip()), "")
    return first.startswith("{")


def _parse_jsonl(path: Path, lines: list[str]) -> tuple[list[EvalQuestion], list[str]]:
    questions: list[EvalQuestion] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{lineno}"
        try:
            q = _question_from_obj(json.loads(line), lineno)
        except json.JSONDecodeError as exc:
            warnings.append(f"{where}: invalid JSON ({exc.msg}), line skipped")
            continue
        except _Malformed as exc:
            warnings.append(f"{where}: {exc}, line skipped")
            continue
        if q.id in seen:
            warnings.append(f"{where}: duplicate id {q.id!r}, line skipped")
            continue
        if q.previous is not None and q.previous not in seen:
            warnings.append(
                f"{where}: 'previous' {q.previous!r} is not an earlier question, "
                "run as a standalone question"
            )
            q = replace(q, previous=None)
        seen.add(q.id)
        questions.append(q)
    return questions, warnings


def _parse_text(lines: list[str]) -> list[EvalQuestion]:
    return [
        EvalQuestion(id=f"q{lineno}", question=line.strip())
        for lineno, line in enumerate(lines, start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]


def load_questions(path: Path) -> tuple[list[EvalQuestion], list[str]]:
    """Questions from a JSONL file (gold fields optional) or a text file, and line warnings."""
    lines = _read_lines(path)
    if _is_jsonl(path, lines):
        questions, warnings = _parse_jsonl(path, lines)
    else:
        questions, warnings = _parse_text(lines), []
    if not questions:
        detail = f" ({len(warnings)} malformed lines)" if warnings else ""
        raise EvalError(
            f"{path} holds no questions{detail}: write one JSON object per line with "
            'a "question" (and an "id"), or one question per line in a .txt file'
        )
    return questions, warnings
