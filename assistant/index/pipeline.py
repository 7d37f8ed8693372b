"""A bounded ingest pipeline: the caller chunks, one thread embeds, one thread stores the vectors.

Batches flow in order through two bounded queues, so reading and chunking the next batch, embedding
this one and writing the previous one to Chroma overlap, while at most `depth` batches wait at each
step (memory stays bounded whatever the corpus size). Stored batches come back to the caller, which
records them in the manifest (SQLite stays on the caller's thread). An error in a stage stops the
pipeline and is raised in the caller at its next put() or stored().
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")
_STOP = object()
_POLL = 0.2  # seconds between checks for a failed stage while a queue is full or empty


@dataclass
class StageClock:
    """Seconds each stage spent working (not waiting), for the report's time breakdown."""

    busy: dict[str, float] = field(default_factory=dict)

    def add(self, stage: str, seconds: float) -> None:
        self.busy[stage] = self.busy.get(stage, 0.0) + seconds


class Pipeline(Generic[T]):
    """put(batch) -> embed(batch) on one thread -> store(batch) on another -> stored() returns it."""

    def __init__(self, embed: Callable[[T], None], store: Callable[[T], None], depth: int = 2,
                 clock: StageClock | None = None) -> None:
        self.clock = clock or StageClock()
        self._to_embed: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._to_store: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stored: queue.Queue[Any] = queue.Queue()
        self._failed: BaseException | None = None
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._stage, args=("embed", embed, self._to_embed, self._to_store),
                             name="ingest-embed", daemon=True),
            threading.Thread(target=self._stage, args=("store", store, self._to_store, self._stored),
                             name="ingest-store", daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _stage(self, name: str, work: Callable[[T], None], inbox: queue.Queue[Any],
               outbox: queue.Queue[Any]) -> None:
        while not self._stop.is_set():
            try:
                item = inbox.get(timeout=_POLL)
            except queue.Empty:
                continue
            if item is not _STOP:
                start = time.perf_counter()
                try:
                    work(item)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                    self._failed = exc
                    self._stop.set()
                    return
                self.clock.add(name, time.perf_counter() - start)
            if not self._put(outbox, item):
                return
            if item is _STOP:
                return

    def _put(self, box: queue.Queue[Any], item: Any) -> bool:
        while not self._stop.is_set():
            try:
                box.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def _check(self) -> None:
        if self._failed is not None:
            raise self._failed

    def put(self, batch: T) -> None:
        """Queue a batch (blocks while the pipeline is full); raises a failed stage's error."""
        self._check()
        start = time.perf_counter()
        while not self._put(self._to_embed, batch):
            self._check()
            raise RuntimeError("the ingest pipeline was stopped")
        self.clock.add("wait", time.perf_counter() - start)
        self._check()

    def stored(self) -> list[T]:
        """Batches whose vectors are stored, in order (without waiting)."""
        self._check()
        out: list[T] = []
        while True:
            try:
                item = self._stored.get_nowait()
            except queue.Empty:
                return out
            if item is not _STOP:
                out.append(item)

    def finish(self) -> list[T]:
        """Wait until every queued batch is stored; returns those not yet handed back."""
        self.put(_STOP)  # type: ignore[arg-type]
        out: list[T] = []
        while True:
            self._check()
            try:
                item = self._stored.get(timeout=_POLL)
            except queue.Empty:
                continue
            if item is _STOP:
                return out
            out.append(item)

    def close(self) -> None:
        """Stop the stages (after finish(), or to abandon the run); waits for them to exit."""
        self._stop.set()
        for t in self._threads:
            t.join()
