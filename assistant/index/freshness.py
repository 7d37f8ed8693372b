"""Which indexed files changed since the last ingest: size and mtime first, and the bytes' sha256
when only the mtime moved (a remounted or copied folder keeps its bytes but not its mtimes)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from assistant.index.manifest import Manifest
from assistant.sqlite_cache import SqliteCache

CHECKS_FILE = "file_checks.sqlite3"  # beside the manifest: (path, size, mtime) whose bytes matched
_SCHEMA = ("CREATE TABLE IF NOT EXISTS checked (path TEXT PRIMARY KEY, size INTEGER NOT NULL, "
           "mtime_ns INTEGER NOT NULL, sha256 TEXT NOT NULL)")


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes (read in blocks: memory stays flat for a large JSONL)."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def same_bytes(path: Path, size: int, recorded_size: int, recorded_sha: str | None) -> bool:
    """True when a file whose mtime moved still holds the bytes it held when indexed."""
    if recorded_sha is None or size != recorded_size:
        return False
    try:
        return file_sha256(path) == recorded_sha
    except OSError:
        return False


def changed_files(manifest: Manifest, checks_path: Path | None = None) -> list[str]:
    """Indexed files that are gone or whose bytes changed. A file whose mtime moved is hashed
    once; the match is remembered in `checks_path` (when given), so later questions do not read
    it again until its size or mtime moves once more."""
    checks = SqliteCache(checks_path, _SCHEMA, "file-check cache",
                         "delete the file; it is rebuilt") if checks_path is not None else None
    try:
        known = {(str(r[0]), int(r[1]), int(r[2])): str(r[3]) for r in
                 checks.query("SELECT path, size, mtime_ns, sha256 FROM checked", [])} if checks else {}
        out: list[str] = []
        matched: list[tuple[str, int, int, str]] = []
        for path, (size, mtime, sha) in manifest.file_digests().items():
            try:
                st = Path(path).stat()
            except OSError:
                out.append(path)
                continue
            if (st.st_size, st.st_mtime_ns) == (size, mtime):
                continue
            if sha is not None and known.get((path, st.st_size, st.st_mtime_ns)) == sha:
                continue
            if same_bytes(Path(path), st.st_size, size, sha):
                matched.append((path, st.st_size, st.st_mtime_ns, str(sha)))
                continue
            out.append(path)
        if checks is not None and matched:
            checks.insert("INSERT OR REPLACE INTO checked VALUES (?, ?, ?, ?)", matched)
        return out
    finally:
        if checks is not None:
            checks.close()
