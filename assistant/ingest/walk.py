"""Safe, deterministic directory walk: only regular files inside the given paths are ever opened."""

from __future__ import annotations

import errno
import io
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.config import Settings
from assistant.errors import InputError
from assistant.models import Skipped

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl")
MB = 1024 * 1024


class FileSkip(Exception):
    """A file that cannot be read as an article; the message is the one-line reason."""


def display_path(path: str | Path) -> str:
    """The path shown to users: relative to the current folder when under it, else absolute."""
    absolute = os.path.abspath(path)
    cwd = os.getcwd()
    if absolute.startswith(cwd.rstrip(os.sep) + os.sep):
        return absolute[len(cwd.rstrip(os.sep)) + 1 :]
    return absolute


def size_limit_mb(path: str | Path, settings: Settings) -> float:
    """The size cap (MB) that applies to this file."""
    is_jsonl = str(path).lower().endswith(".jsonl")
    return settings.max_jsonl_mb if is_jsonl else settings.max_file_mb


def _too_large(size: int, limit_mb: float, path: str | Path) -> str | None:
    if size <= limit_mb * MB:
        return None
    var = (
        "ASSISTANT_MAX_JSONL_MB"
        if str(path).lower().endswith(".jsonl")
        else "ASSISTANT_MAX_FILE_MB"
    )
    return f"file too large ({size / MB:.1f} MB > {limit_mb:g} MB; raise {var} to read it)"


def open_regular(path: str | Path, settings: Settings) -> io.BufferedReader:
    """Open a regular file for reading without ever blocking on FIFOs or devices; raise FileSkip."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except PermissionError as exc:
        raise FileSkip("permission denied: cannot open the file") from exc
    except OSError as exc:
        raise FileSkip(f"cannot open the file: {exc.strerror}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileSkip("not a regular file")
        reason = _too_large(st.st_size, size_limit_mb(path, settings), path)
        if reason:
            raise FileSkip(reason)
        return open(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_limited(path: str | Path, settings: Settings) -> bytes:
    """The whole content of a regular file within its size cap; raise FileSkip otherwise."""
    limit = int(size_limit_mb(path, settings) * MB)
    with open_regular(path, settings) as handle:
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise FileSkip(f"cannot read the file: {exc.strerror}") from exc
    if len(data) > limit:
        raise FileSkip(_too_large(len(data), limit / MB, path) or "file too large")
    return data


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "device"),
    ):
        if test(mode):
            return name
    return "block device" if stat.S_ISBLK(mode) else "special file"


@dataclass
class _Dir:
    path: str
    real: str
    depth: int


@dataclass
class _Walker:
    settings: Settings
    allowed: list[str]
    seen_files: dict[tuple[int, int], str] = field(default_factory=dict)
    seen_dirs: set[tuple[int, int]] = field(default_factory=set)

    def inside(self, real: str) -> bool:
        return any(
            real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in self.allowed
        )

    def visit(self, path: str, depth: int) -> Path | Skipped | _Dir | None:
        shown = display_path(path)
        try:
            st = os.lstat(path)
            real = path
            if stat.S_ISLNK(st.st_mode):
                try:
                    real = os.path.realpath(path, strict=True)
                except OSError as exc:
                    loop = exc.errno == errno.ELOOP
                    return Skipped(
                        shown, "symlink loop" if loop else "broken symlink (target missing)"
                    )
                if not self.inside(real):
                    return Skipped(
                        shown, "symlink to a target outside the given paths (not followed)"
                    )
                st = os.stat(real)
        except FileNotFoundError:
            return Skipped(shown, "disappeared while the folder was being read")
        except OSError as exc:
            return Skipped(shown, f"cannot inspect: {exc.strerror}")
        if stat.S_ISDIR(st.st_mode):
            return self._directory(path, shown, os.path.realpath(real), st, depth)
        if stat.S_ISREG(st.st_mode):
            return self._file(path, shown, real, st)
        return Skipped(shown, f"not a regular file ({_kind(st.st_mode)})")

    def _directory(
        self, path: str, shown: str, real: str, st: os.stat_result, depth: int
    ) -> _Dir | Skipped:
        if depth > self.settings.max_depth:
            return Skipped(
                shown, f"folder deeper than {self.settings.max_depth} levels (ASSISTANT_MAX_DEPTH)"
            )
        key = (st.st_dev, st.st_ino)
        if key in self.seen_dirs:
            parent = os.path.realpath(os.path.dirname(os.path.abspath(path)))
            loop = parent == real or parent.startswith(real.rstrip(os.sep) + os.sep)
            return Skipped(
                shown, "symlink loop" if loop else "folder already read through another path"
            )
        self.seen_dirs.add(key)
        return _Dir(path, real, depth)

    def _file(self, path: str, shown: str, real: str, st: os.stat_result) -> Path | Skipped:
        ext = os.path.splitext(path)[1].lower()
        if ext not in SUPPORTED:
            what = f"'{ext}'" if ext else "(no extension)"
            return Skipped(shown, f"unsupported file type {what}; readable: {' '.join(SUPPORTED)}")
        key = (st.st_dev, st.st_ino)
        if key in self.seen_files:
            return Skipped(shown, f"same file as {self.seen_files[key]}")
        self.seen_files[key] = shown
        if st.st_size == 0:
            return Skipped(shown, "empty file")
        reason = _too_large(st.st_size, size_limit_mb(path, self.settings), path)
        if reason:
            return Skipped(shown, reason)
        if not os.access(real, os.R_OK):
            return Skipped(shown, "permission denied: cannot open the file")
        return Path(path)

    def children(self, folder: _Dir) -> list[tuple[str, int]] | Skipped:
        try:
            with os.scandir(folder.real) as entries:
                names = sorted(e.name for e in entries if not e.name.startswith("."))
        except OSError as exc:
            return Skipped(display_path(folder.path), f"cannot list the folder: {exc.strerror}")
        return [(os.path.join(folder.path, name), folder.depth + 1) for name in names]

    def walk(self, root: str) -> Iterator[Path | Skipped]:
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            path, depth = stack.pop()
            found = self.visit(path, depth)
            if isinstance(found, _Dir):
                listed = self.children(found)
                if isinstance(listed, Skipped):
                    yield listed
                else:
                    stack.extend(reversed(listed))
            elif found is not None:
                yield found


def _check_exists(paths: Sequence[str | Path] | str | Path) -> list[str]:
    roots = [str(paths)] if isinstance(paths, str | Path) else [str(p) for p in paths]
    for root in roots:
        if not os.path.lexists(root):
            raise InputError(
                f"{root}: no such file or folder; check the path "
                f"(relative paths start from {os.getcwd()})"
            )
    return roots


def _generate(roots: list[str], settings: Settings) -> Iterator[Path | Skipped]:
    allowed = []
    for root in roots:
        try:
            allowed.append(os.path.realpath(root, strict=True))
        except OSError:
            continue
    walker = _Walker(settings, allowed)
    for root in roots:
        yield from walker.walk(root)


def article_files(
    paths: Sequence[str | Path] | str | Path, settings: Settings
) -> Iterator[Path | Skipped]:
    """Readable article files under `paths`, in sorted order, and a Skipped for everything else.

    Raises InputError at once (before any file is read) when a given path does not exist.
    Hidden entries (names starting with '.') under a folder are ignored silently.
    """
    return _generate(_check_exists(paths), settings)
