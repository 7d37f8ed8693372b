"""Files of an eval run: crash-safe results.jsonl, atomic writes, answers read back from JSON."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from assistant.errors import EvalError
from assistant.models import Answer, Citation, Passage

RESULTS = "results.jsonl"


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write a file so a crash leaves the old or the new content (tmp file, fsync, rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with open(tmp, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise EvalError(f"Cannot write {path} ({exc.strerror}): check the --out folder") from exc


def append_record(fh: IO[str], record: dict[str, Any]) -> None:
    """Append one result line and force it to disk, so kill -9 loses at most the next question."""
    fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    fh.flush()
    os.fsync(fh.fileno())


def _parse_records(lines: list[str]) -> tuple[dict[str, dict[str, Any]], int]:
    records: dict[str, dict[str, Any]] = {}
    bad = 0
    for line in lines:
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        if isinstance(rec, dict) and isinstance(rec.get("id"), str):
            records[rec["id"]] = rec
        else:
            bad += 1
    return records, bad


def read_results(path: Path) -> dict[str, dict[str, Any]]:
    """Records of results.jsonl by question id (last line of an id wins; broken lines dropped)."""
    if not path.is_file():
        return {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise EvalError(f"Cannot read {path} ({exc.strerror}): check the --out folder") from exc
    return _parse_records(text.splitlines())[0]


def prepare_results(out_dir: Path, resume: bool) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Completed records to keep (resume) and warnings; refuses to overwrite results silently.

    On resume the file is rewritten atomically without a truncated last line, broken lines
    and records of questions that failed with an error (those are asked again).
    """
    path = out_dir / RESULTS
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EvalError(f"Cannot create {out_dir} ({exc.strerror}): choose another --out") from exc
    if not path.exists():
        return {}, []
    if not resume:
        raise EvalError(
            f"{path} already exists: pass --resume to continue that run or choose another --out"
        )
    text = path.read_text(encoding="utf-8", errors="replace")
    records, bad = _parse_records(text.splitlines())
    failed = [k for k, rec in records.items() if rec.get("error")]
    for key in failed:
        del records[key]
    warnings = []
    if bad:
        warnings.append(f"{path}: dropped {bad} incomplete line(s) left by an interrupted run")
    if failed:
        warnings.append(f"{path}: asking again {len(failed)} question(s) that failed before")
    if bad or failed or (text and not text.endswith("\n")):
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records.values())
        write_atomic(path, body)
    return records, warnings


def answer_from_json(obj: dict[str, Any]) -> Answer:
    """Rebuild an Answer from its `to_json()` object (used to resume follow-up conversations)."""
    passages = [
        Passage(
            n=p["n"],
            chunk_id=p.get("chunk_id", ""),
            article_id=p.get("article_id", ""),
            title=p.get("title", ""),
            source=p.get("source"),
            url=p.get("url"),
            path=p.get("path", ""),
            published_at=p.get("published_at"),
            text=p.get("text", ""),
            score=float(p.get("score", 0.0)),
            also_reported_by=tuple(p.get("also_reported_by", ())),
        )
        for p in obj.get("passages", [])
    ]
    fields = ("n", "article_id", "title", "source", "published_at", "url", "path", "quote")
    citations = [Citation(**{k: c.get(k) for k in fields}) for c in obj.get("citations", [])]
    window = obj.get("date_window")
    return Answer(
        question=obj.get("question", ""),
        answer=obj.get("answer", ""),
        mode=obj.get("mode", "none"),
        citations=citations,
        passages=passages,
        warnings=list(obj.get("warnings", [])),
        timings_ms=dict(obj.get("timings_ms", {})),
        usage=obj.get("usage"),
        rewritten_question=obj.get("rewritten_question"),
        choice_index=obj.get("choice_index"),
        date_window=(window[0], window[1]) if window else None,
        as_of=obj.get("as_of"),
    )


def load_summary(path: Path) -> dict[str, Any]:
    """A summary.json written by an earlier eval (for --compare)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise EvalError(f"{path} not found: pass the summary.json of an earlier eval") from exc
    except (OSError, ValueError) as exc:
        raise EvalError(
            f"Cannot read {path} ({exc}): pass the summary.json of an earlier eval"
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        raise EvalError(f"{path} is not an eval summary: pass the summary.json of an earlier eval")
    return data


def default_out_dir(root: Path = Path("eval-results")) -> Path:
    """eval-results/<local timestamp>/ (a new folder per run)."""
    return root / datetime.now().strftime("%Y%m%d-%H%M%S")


def _git(args: list[str], cwd: Path | None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5,
                          check=True).stdout.strip()


def git_commit(cwd: Path | None = None) -> str | None:
    """The current git commit of `cwd` (short hash, "+dirty" if modified), or None."""
    try:
        head = _git(["rev-parse", "--short=12", "HEAD"], cwd)
        dirty = _git(["status", "--porcelain", "--untracked-files=no"], cwd)
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if dirty else head or None
