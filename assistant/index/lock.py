"""One writer per store across processes: ingest, sync and repair take the lock; readers never do."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from assistant.errors import StoreBusyError


@contextmanager
def writer_lock(folder: Path, wait: bool = True,
                on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold `<folder>/write.lock` (every Chroma call also takes a short lock of its own, see
    store/access.py). Without `wait`, a held lock raises StoreBusyError at once."""
    from filelock import FileLock, Timeout

    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / "write.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if not wait:
            raise StoreBusyError(
                f"Another ingest is writing to {folder}: wait for it to finish "
                "(or run this again without --no-wait to queue behind it)"
            ) from None
        if on_wait:
            on_wait()
        lock.acquire()
    try:
        yield
    finally:
        lock.release()
