"""The OpenAI-compatible chat client: always streamed, the SDK's own retries, one deadline per call.

Retries, backoff and Retry-After are the openai SDK's (`max_retries`); assistant/deadline.py adds
the overall deadline, the quota no-retry and the local-server rule through httpx hooks. Every reply
is requested as a stream, also when nobody watches it: a CPU server then has a time-to-first-token
limit (prompt processing) and an idle limit between chunks instead of one limit for the whole reply.
"""

from __future__ import annotations

import logging
import queue
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from assistant.answer.llm.faults import MESSAGES, Fault, display_url, error_chain, redact, status_fault
from assistant.config import Settings
from assistant.errors import ConfigError, LLMError

if TYPE_CHECKING:

    from assistant.deadline import Clock, Timeouts

log = logging.getLogger(__name__)

OPENAI_URL = "https://api.openai.com/v1"
# Grounded answers want the model's most likely wording, and the same answer whether piped or
# streamed to a terminal (llama.cpp's server samples at 0.8 by default). Reasoning models accept
# only their default, so they get none.
TEMPERATURE = 0.0
_REASONING = re.compile(r"^(o\d|gpt-5)")
NO_LLM = "or use --no-llm"  # every fault message ends with the way out
LOCAL_NO_RETRY = ("; not retried: a local server keeps working on a request the client gave up "
                  "on, so a retry would queue behind it")


@dataclass(frozen=True)
class ChatResult:
    """The model's reply: full text, token usage (None: the server did not report it), why it
    stopped, and the model the server says answered."""

    text: str
    usage: dict[str, int] | None
    finish_reason: str | None = None
    model: str | None = None


class ChatClient(Protocol):
    """What the answerer needs from a chat model."""

    model: str

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        on_token: Callable[[str], None] | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult: ...


class StreamCutError(LLMError):
    """The stream broke off (or stalled) mid-answer; the partial text was discarded."""


class LLMFailureDetail(Exception):
    """Sanitised description of the underlying client error, kept as __cause__ for --debug."""


@dataclass
class _Progress:
    opened: bool = False  # the server began streaming
    parts: list[str] = field(default_factory=list)


class _SinkError(Exception):
    """on_token raised: re-raised unchanged, never mistaken for a server fault."""


class _Waited(Exception):
    """No chunk came in time: kind is "first_token", "stall" or "deadline"."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class _StreamEnded(ValueError):
    """The stream closed without a final chunk."""


class _NoEvents(ValueError):
    """The reply held no server-sent event at all."""


def make_chat_client(settings: Settings, *, clock: Clock | None = None) -> OpenAIChatClient:
    """The chat client for the configured server; the key is sent only when the user set one.

    `clock` measures the overall deadline (default time.monotonic; tests inject one).
    """
    from assistant.deadline import timeouts_from

    if not (settings.openai_api_key or settings.openai_base_url):
        raise ConfigError(
            "No LLM configured: set OPENAI_API_KEY or OPENAI_BASE_URL (or use --no-llm)"
        )
    return OpenAIChatClient(
        model=settings.llm_model,
        base_url=settings.openai_base_url or OPENAI_URL,
        api_key=settings.openai_api_key,
        timeouts=timeouts_from(settings),
        retries=settings.llm_retries,
        clock=clock,
    )


class OpenAIChatClient:
    """openai.OpenAI with its own retries, a guarded httpx client, and one LLMError per fault."""

    def __init__(
        self,
        *,
        model: str,
        base_url: str,
        api_key: str | None,
        timeouts: Timeouts,
        retries: int,
        clock: Clock | None = None,
    ) -> None:
        import openai

        from assistant.deadline import CallGuard, guarded_http_client, is_local

        self.model = model
        self.timeouts = timeouts
        self.retries = max(0, int(retries))
        self._url = display_url(base_url)
        self._key = api_key or ""
        self._include_usage = True
        self._guard = CallGuard(timeouts, local=is_local(base_url), clock=clock)
        # An explicit key (or a provider returning "") stops the SDK reading OPENAI_API_KEY itself;
        # with no key the Authorization header is omitted on purpose (local servers need none).
        key: str | Callable[[], str] = api_key if api_key else (lambda: "")
        self._extra: dict[str, Any] = {} if api_key else {"Authorization": openai.Omit()}
        self._client = openai.OpenAI(
            api_key=key,
            base_url=base_url,
            max_retries=self.retries,
            http_client=guarded_http_client(self._guard),
        )

    def __repr__(self) -> str:
        return f"OpenAIChatClient(model={self.model!r}, base_url={self._url!r})"

    @property
    def attempts(self) -> int:
        """HTTP attempts of the last call (the SDK's retries included)."""
        return self._guard.attempts

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        on_token: Callable[[str], None] | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult:
        """One streamed chat completion (tokens passed to on_token as they come); LLMError on
        any fault, a StreamCutError when text had already been streamed."""
        import httpx
        import openai

        self._guard.start()
        progress = _Progress()
        try:
            stream = self._client.chat.completions.create(**self._params(messages, max_tokens))
            progress.opened = True
            return self._consume(stream, on_token, progress)
        except _SinkError as exc:
            assert exc.__cause__ is not None
            raise exc.__cause__ from None
        except (openai.OpenAIError, httpx.HTTPError, _Waited, ValueError, TypeError,
                AttributeError, IndexError, KeyError) as exc:
            fault = _classify(exc, self._key, streamed=progress.opened and not isinstance(
                exc, _NoEvents), shown=bool(progress.parts))
        if (fault.kind == "request" and self._include_usage
                and "stream_options" in fault.detail.lower()):
            self._include_usage = False  # an older server rejects stream_options: ask again without
            return self.complete(messages, on_token=on_token, max_tokens=max_tokens)
        log.debug("LLM call failed after %d attempt(s): %s %s", self.attempts, fault.kind,
                  fault.detail)
        raise self._error(fault)

    def _params(self, messages: list[dict[str, str]], max_tokens: int | None) -> dict[str, Any]:
        params: dict[str, Any] = {"model": self.model, "messages": messages, "stream": True}
        if self._include_usage:
            params["stream_options"] = {"include_usage": True}
        if self._extra:
            params["extra_headers"] = self._extra
        if _REASONING.match(self.model) is None:
            params["temperature"] = TEMPERATURE
            # reasoning models spend hidden tokens first: a small cap would leave them no answer
            if max_tokens is not None:
                params["max_tokens"] = max_tokens
        return params

    def _consume(
        self, stream: Any, on_token: Callable[[str], None] | None, progress: _Progress
    ) -> ChatResult:
        """Read the stream (in a helper thread) under the first-token, idle and overall limits."""
        events: queue.Queue[tuple[str, Any]] = queue.Queue()
        abandon = threading.Event()
        threading.Thread(target=_pump, args=(stream, events, abandon), daemon=True).start()
        usage: dict[str, int] | None = None
        finish: str | None = None
        model: str | None = None
        seen = False
        try:
            while True:
                kind, item = self._next_event(events, started=bool(progress.parts))
                if kind == "end":
                    break
                if kind == "error":
                    raise item
                seen = True
                model = getattr(item, "model", None) or model
                usage = _usage(getattr(item, "usage", None)) or usage
                for choice in getattr(item, "choices", None) or []:
                    finish = getattr(choice, "finish_reason", None) or finish
                    piece = getattr(getattr(choice, "delta", None), "content", None)
                    if isinstance(piece, str) and piece:
                        progress.parts.append(piece)
                        if on_token is not None:
                            try:
                                on_token(piece)
                            except Exception as exc:
                                raise _SinkError() from exc
        finally:
            if not abandon.is_set():
                abandon.set()
                _hang_up(stream)
        if not seen:
            raise _NoEvents("no server-sent events in the reply")
        if finish is None:
            raise _StreamEnded("the stream ended before the answer was complete")
        return ChatResult("".join(progress.parts), usage, finish, model)

    def _next_event(self, events: queue.Queue[tuple[str, Any]], *, started: bool
                    ) -> tuple[str, Any]:
        guard = self._guard
        wait, kind = ((guard.timeouts.idle, "stall") if started
                      else (guard.first_token_left(), "first_token"))
        left = guard.left()
        if left < wait:
            wait, kind = left, "deadline"
        try:
            return events.get(timeout=max(0.0, wait))
        except queue.Empty:
            raise _Waited(kind) from None

    def _error(self, fault: Fault) -> LLMError:
        t = self.timeouts
        tried = self.attempts
        why = LOCAL_NO_RETRY if self._guard.local and fault.kind == "first_token" else ""
        text = MESSAGES[fault.kind].format(
            url=self._url, model=self.model, status=fault.status, detail=fault.detail,
            tries=f"{tried} attempt{'s' if tried != 1 else ''}", wait=fault.wait, why=why,
            connect=f"{t.connect:g}", first=f"{t.first_token:g}", idle=f"{t.idle:g}",
            total=f"{t.total:g}",
        )
        cut = fault.kind in ("cut", "stall", "deadline_cut")
        error = (StreamCutError if cut else LLMError)(f"{text}, {NO_LLM}.")
        error.__cause__ = LLMFailureDetail(f"{fault.kind}: {fault.detail}")
        return error


def _pump(stream: Any, events: queue.Queue[tuple[str, Any]], abandon: threading.Event) -> None:
    """Move the stream's chunks to `events` until it ends, fails or is abandoned."""
    try:
        for chunk in stream:
            if abandon.is_set():
                return
            events.put(("chunk", chunk))
        events.put(("end", None))
    except BaseException as exc:  # handed to the reading thread, which classifies it
        events.put(("error", exc))
    finally:
        try:
            stream.close()
        except Exception as exc:  # closing an abandoned stream may fail: nothing to do
            log.debug("closing the stream: %s", type(exc).__name__)


def _hang_up(stream: Any) -> None:
    """Shut the socket of an abandoned stream: the helper thread wakes and the server sees the
    client leave (llama.cpp then stops generating)."""
    try:
        net = stream.response.extensions.get("network_stream")
        sock = net.get_extra_info("socket") if net is not None else None
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    except (OSError, AttributeError) as exc:
        log.debug("hang up: %s", type(exc).__name__)


def _usage(raw: Any) -> dict[str, int] | None:
    if raw is None:
        return None
    out = {}
    for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
        value = getattr(raw, name, None)
        if isinstance(value, int):
            out[name] = value
    return out or None


def _classify(exc: BaseException, key: str, *, streamed: bool, shown: bool) -> Fault:
    """Map an SDK/transport/parsing exception to a fault whose detail holds no secret."""
    import httpx
    import openai

    from assistant.deadline import DeadlineExceeded, NotRetried

    name = type(exc).__name__
    if isinstance(exc, _Waited):
        if exc.kind == "deadline" and shown:
            return Fault("deadline_cut", "deadline")
        return Fault("stall" if shown else exc.kind, exc.kind)
    if isinstance(exc, DeadlineExceeded):
        return Fault("deadline", str(exc))
    if isinstance(exc, NotRetried):
        return Fault("first_token", str(exc))
    if isinstance(exc, _NoEvents):
        return Fault("malformed", str(exc))
    if isinstance(exc, _StreamEnded):
        return Fault("cut", str(exc))
    if streamed and not isinstance(exc, openai.APIStatusError):
        return Fault("cut", redact(f"{name}: {exc}", key))
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        cause = exc if isinstance(exc, httpx.TimeoutException) else exc.__cause__
        return Fault("connect_timeout" if isinstance(cause, httpx.ConnectTimeout)
                      else "first_token", name)
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
        chain = " ".join(str(e) for e in error_chain(exc))
        kind = "refused" if "refused" in chain.lower() else "connect"
        return Fault(kind, redact(chain, key) or name)
    if isinstance(exc, openai.APIStatusError):
        return status_fault(exc, key)
    return Fault("malformed", redact(f"{name}: {exc}", key))
