"""Process-safe access to Chroma: a local folder under an inter-process lock, or a server."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from assistant.config import Settings
from assistant.errors import StoreBusyError, StoreError

LOCK_FILE = "chroma.lock"
STAMP_FILE = "chroma.stamp"
LOCK_TIMEOUT = 600.0  # seconds; a Chroma call holds the lock for well under a second
CHROMA_DIR = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class StoreDamagedError(StoreError):
    """Chroma failed on its own files (or the server's collection failed): a rebuild fixes it."""


def brief(exc: BaseException) -> str:
    """An exception as one short line."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"


def chroma_settings() -> Any:
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False)


def forget_client(client: Any) -> None:
    """Stop a PersistentClient's system and drop it from chromadb's per-path cache."""
    from chromadb.api.shared_system_client import SharedSystemClient

    ident = getattr(client, "_identifier", None)
    systems = getattr(SharedSystemClient, "_identifier_to_system", {})
    with contextlib.suppress(Exception):
        systems[ident].stop()
    systems.pop(ident, None)
    getattr(SharedSystemClient, "_identifier_to_refcount", {}).pop(ident, None)


class LocalAccess:
    """A local Chroma folder: one client per process, every call under an inter-process lock.

    Chroma is not process-safe: a process that opens the folder may write its index files, and a
    process keeps its own in-memory index. So every call holds `chroma.lock`, every write first
    moves `chroma.stamp`, and a process whose stamp is behind reopens before its next call.
    """

    _by_folder: dict[str, LocalAccess] = {}

    @classmethod
    def of(cls, folder: Path) -> LocalAccess:
        key = str(folder.expanduser().resolve())
        if key not in cls._by_folder:
            cls._by_folder[key] = cls(Path(key))
        return cls._by_folder[key]

    def __init__(self, folder: Path) -> None:
        from filelock import FileLock

        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.lock = FileLock(str(folder / LOCK_FILE))
        self.client: Any = None
        self.stamp = ""
        self.opens = 0

    def _read_stamp(self) -> str:
        try:
            return (self.folder / STAMP_FILE).read_text("ascii")
        except OSError:
            return ""

    def new_stamp(self) -> str:
        stamp = uuid.uuid4().hex
        tmp = self.folder / f"{STAMP_FILE}.{os.getpid()}"
        tmp.write_text(stamp, "ascii")
        os.replace(tmp, self.folder / STAMP_FILE)
        return stamp

    @contextlib.contextmanager
    def session(self, write: bool) -> Iterator[Any]:
        from filelock import Timeout

        try:
            self.lock.acquire(timeout=LOCK_TIMEOUT)
        except Timeout:
            raise StoreBusyError(f"Another process has held {self.folder / LOCK_FILE} for "
                                 f"{LOCK_TIMEOUT:.0f} s: check for a stuck assistant process") from None
        try:
            stamp = self._read_stamp()
            if self.client is None or stamp != self.stamp:
                self.close()
                self.client = self._open()
                self.stamp = stamp
            if write:
                self.stamp = self.new_stamp()  # before writing: a crash mid-write still moves it
            yield self.client
        finally:
            self.lock.release()

    def _open(self) -> Any:
        import chromadb

        self.opens += 1
        try:
            return chromadb.PersistentClient(path=str(self.folder), settings=chroma_settings())
        except Exception as exc:
            raise StoreDamagedError(f"Cannot open the store at {self.folder} ({brief(exc)}): "
                                    "run `assistant doctor --repair`") from None

    def close(self) -> None:
        if self.client is not None:
            forget_client(self.client)
            self.client = None

    def wipe(self) -> str:
        """Move Chroma's files into damaged-<time>/ (dropping older copies); returns that folder."""
        with self.lock:
            self.close()
            for old in self.folder.glob("damaged-*"):
                shutil.rmtree(old, ignore_errors=True)
            backup = self.folder / f"damaged-{time.strftime('%Y%m%d-%H%M%S')}"
            try:
                backup.mkdir()
                for item in self.folder.iterdir():
                    if item.name.startswith("chroma.sqlite3") or CHROMA_DIR.match(item.name):
                        shutil.move(str(item), backup / item.name)
            except OSError as exc:
                raise StoreError(f"Cannot move the damaged store files out of {self.folder} "
                                 f"({exc}): check the folder's permissions") from None
            self.new_stamp()
            self.stamp = ""
        return str(backup)


class RemoteAccess:
    """A `chroma run` server: it serializes access itself, so no lock and no reopening."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.chroma_url or ""
        self.client = http_client(settings)

    @contextlib.contextmanager
    def session(self, write: bool) -> Iterator[Any]:
        yield self.client

    def close(self) -> None:
        return None


def http_client(settings: Settings) -> Any:
    import chromadb

    url = urlparse(settings.chroma_url or "")
    headers: dict[str, str] = {}
    if settings.chroma_auth_token:
        token = settings.chroma_auth_token
        if settings.chroma_auth_header.lower() == "authorization":
            token = f"Bearer {token}"
        headers[settings.chroma_auth_header] = token
    try:
        return chromadb.HttpClient(
            host=url.hostname or "127.0.0.1",
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
            headers=headers,
            settings=chroma_settings(),
        )
    except Exception as exc:
        text = f"{type(exc).__name__} {exc}".lower()
        if any(word in text for word in ("unauthorized", "forbidden", "authoriz", "401", "403")):
            raise StoreError(
                f"The Chroma server at {settings.chroma_url} refused the connection "
                f"({type(exc).__name__}): set ASSISTANT_CHROMA_AUTH_TOKEN (and "
                "ASSISTANT_CHROMA_AUTH_HEADER) to what the server expects"
            ) from None
        raise StoreError(
            f"Cannot reach the Chroma server at {settings.chroma_url} ({type(exc).__name__}): "
            "start it with `chroma run --path DIR --host 127.0.0.1 --port N` or fix "
            "ASSISTANT_CHROMA_URL"
        ) from None
