"""One overall deadline per LLM or embeddings call, kept through the openai SDK's own retries.

The SDK retries (its `max_retries`, backoff and Retry-After handling); this module only adds what
the SDK cannot know, through public seams of the httpx client handed to it:
- a request hook, run before every attempt, that raises `DeadlineExceeded` once the call's
  deadline (measured by an injectable clock) has passed, and gives the attempt timeouts that fit
  in what is left;
- on a local server, a request that was sent in full and got no reply (a read timeout) is not
  sent again (`NotRetried`): the server keeps working on the abandoned request and a retry would
  queue behind it;
- a response hook that marks 429 "quota used up" replies `x-should-retry: false`.
Exceptions subclassing `openai.OpenAIError` raised from a hook propagate without a retry.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import openai

from assistant.config import Settings

Clock = Callable[[], float]


@dataclass(frozen=True)
class Timeouts:
    """Seconds: to connect, to the first token (prompt processing included), between two
    chunks of a stream, and for the whole call (every attempt and wait included)."""

    connect: float = 10.0
    first_token: float = 120.0
    idle: float = 30.0
    total: float = 300.0


class DeadlineExceeded(openai.OpenAIError):
    """The call's overall deadline passed before another attempt could start."""


class NotRetried(openai.OpenAIError):
    """A local server got the whole request and sent nothing back in time: not sent again."""


def is_local(base_url: str) -> bool:
    """True for loopback, private-network and *.localhost / *.local hosts."""
    host = (urlsplit(base_url).hostname or "").lower()
    if host == "localhost" or host.endswith((".localhost", ".local")):
        return True
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    return addr.is_loopback or addr.is_private or addr.is_link_local


class CallGuard:
    """The state of one call (started by `start()`), shared by the hooks of its httpx client.

    `clock` (default time.monotonic) measures the deadline; tests inject a fake one.
    """

    def __init__(self, timeouts: Timeouts, *, local: bool, clock: Clock | None = None) -> None:
        self.timeouts = timeouts
        self.local = local
        self.clock: Clock = clock or time.monotonic
        self.deadline = float("inf")
        self.attempts = 0
        self.attempt_started = 0.0  # real time.monotonic(), for the first-token wait
        self._sent = False  # the current attempt's request reached the server in full
        self._answered = False  # ... and its response headers came back

    def start(self) -> None:
        """Begin a call: the deadline runs from its first attempt (not from the SDK's lazy
        imports and request building, which can take seconds on a busy machine)."""
        self.deadline = float("inf")
        self.attempts = 0
        self._sent = self._answered = False

    def left(self) -> float:
        """Seconds until the deadline (by the injected clock)."""
        return self.deadline - self.clock()

    def on_request(self, request: httpx.Request) -> None:
        """httpx request hook: before every attempt (the SDK's retries included)."""
        if self.attempts and self.local and self._sent and not self._answered:
            raise NotRetried("a local server got the request and sent no reply in time")
        if not self.attempts:
            self.deadline = self.clock() + self.timeouts.total
        left = self.left()
        if left <= 0:
            raise DeadlineExceeded(f"the deadline of {self.timeouts.total:g} s passed")
        self.attempts += 1
        self._sent = self._answered = False
        self.attempt_started = time.monotonic()
        t = self.timeouts
        connect = min(t.connect, left)
        request.extensions["timeout"] = {
            "connect": connect, "read": min(t.first_token, left), "write": connect,
            "pool": connect,
        }
        request.extensions["trace"] = self._trace

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        if event.endswith("send_request_body.complete"):
            self._sent = True

    def on_response(self, response: httpx.Response) -> None:
        """httpx response hook: a 429 for a used-up quota is not worth a retry."""
        self._answered = True
        if response.status_code == 429:
            response.read()
            if "quota" in response.text.lower():
                response.headers["x-should-retry"] = "false"

    def first_token_left(self) -> float:
        """Real seconds the current attempt may still wait for its first token."""
        return self.timeouts.first_token - (time.monotonic() - self.attempt_started)


def guarded_http_client(guard: CallGuard) -> httpx.Client:
    """The openai SDK's default httpx client with the guard's hooks installed."""
    t = guard.timeouts
    return openai.DefaultHttpxClient(
        timeout=httpx.Timeout(t.first_token, connect=t.connect),
        event_hooks={"request": [guard.on_request], "response": [guard.on_response]},
    )


def timeouts_from(settings: Settings) -> Timeouts:
    """The four timeouts of the settings (ASSISTANT_LLM_*_TIMEOUT)."""
    return Timeouts(
        connect=float(settings.llm_connect_timeout),
        first_token=float(settings.llm_first_token_timeout),
        idle=float(settings.llm_idle_timeout),
        total=float(settings.llm_timeout),
    )
