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
from urllib.parse import urlsplit, urlunsplit

from assistant.config import Settings
from assistant.errors import ConfigError, LLMError

if TYPE_CHECKING:
    import openai

    from assistant.deadline import Clock, Timeouts

log = logging.getLogger(__name__)

OPENAI_URL = "https://api.openai.com/v1"
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


@dataclass(frozen=True)
class _Fault:
    kind: str  # a key of _MESSAGES
    detail: str
    status: int | None = None
    wait: str = ""  # what a 429 asked for (the header as sent, shown, never parsed)


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
        # reasoning models spend hidden tokens first: a small cap would leave them no answer
        if max_tokens is not None and re.match(r"^(o\d|gpt-5)", self.model) is None:
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

    def _error(self, fault: _Fault) -> LLMError:
        t = self.timeouts
        tried = self.attempts
        why = LOCAL_NO_RETRY if self._guard.local and fault.kind == "first_token" else ""
        text = _MESSAGES[fault.kind].format(
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


_MESSAGES = {
    "refused": "Cannot connect to the LLM server at {url}: connection refused ({tries}). "
    "Start the server or fix OPENAI_BASE_URL",
    "connect": "Cannot connect to the LLM server at {url} ({detail}; {tries}). "
    "Check OPENAI_BASE_URL and the network",
    "connect_timeout": "Cannot connect to the LLM server at {url} within {connect} s ({tries}). "
    "Check OPENAI_BASE_URL and the network, or raise ASSISTANT_LLM_CONNECT_TIMEOUT",
    "first_token": "The LLM server at {url} sent no answer within {first} s ({tries}{why}). "
    "Raise ASSISTANT_LLM_FIRST_TOKEN_TIMEOUT or check the server",
    "stall": "The LLM answer from {url} stalled (no new text for {idle} s): partial answer "
    "discarded. Raise ASSISTANT_LLM_IDLE_TIMEOUT or check the server",
    "deadline": "The LLM server at {url} did not finish within {total} s ({tries}). "
    "Raise ASSISTANT_LLM_TIMEOUT or check the server",
    "deadline_cut": "The LLM answer from {url} did not finish within {total} s: partial answer "
    "discarded. Raise ASSISTANT_LLM_TIMEOUT or check the server",
    "auth": "The LLM server at {url} rejected the API key (HTTP {status}). "
    "Set a valid OPENAI_API_KEY for this server",
    "model": "The LLM server at {url} does not know model '{model}' (HTTP 404). "
    "Set ASSISTANT_LLM_MODEL to a model it serves (and check OPENAI_BASE_URL ends in /v1)",
    "rate": "The LLM server at {url} is rate limiting requests (HTTP 429, {tries}{wait}). "
    "Wait and try again or raise ASSISTANT_LLM_RETRIES",
    "quota": "The LLM server at {url} says the quota of this API key is used up (HTTP 429: "
    "{detail}). Check the plan and billing of the key",
    "server": "The LLM server at {url} failed (HTTP {status}, {tries}). Try again later",
    "request": "The LLM server at {url} refused the request (HTTP {status}: {detail}). "
    "Check ASSISTANT_LLM_MODEL and ASSISTANT_LLM_CONTEXT",
    "malformed": "The LLM server at {url} sent a malformed response ({detail}). "
    "Check that OPENAI_BASE_URL is an OpenAI-compatible /v1 endpoint",
    "cut": "The LLM answer from {url} broke off mid-stream ({detail}): partial answer discarded. "
    "Try again",
}


def _usage(raw: Any) -> dict[str, int] | None:
    if raw is None:
        return None
    out = {}
    for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
        value = getattr(raw, name, None)
        if isinstance(value, int):
            out[name] = value
    return out or None


def _classify(exc: BaseException, key: str, *, streamed: bool, shown: bool) -> _Fault:
    """Map an SDK/transport/parsing exception to a fault whose detail holds no secret."""
    import httpx
    import openai

    from assistant.deadline import DeadlineExceeded, NotRetried

    name = type(exc).__name__
    if isinstance(exc, _Waited):
        if exc.kind == "deadline" and shown:
            return _Fault("deadline_cut", "deadline")
        return _Fault("stall" if shown else exc.kind, exc.kind)
    if isinstance(exc, DeadlineExceeded):
        return _Fault("deadline", str(exc))
    if isinstance(exc, NotRetried):
        return _Fault("first_token", str(exc))
    if isinstance(exc, _NoEvents):
        return _Fault("malformed", str(exc))
    if isinstance(exc, _StreamEnded):
        return _Fault("cut", str(exc))
    if streamed and not isinstance(exc, openai.APIStatusError):
        return _Fault("cut", redact(f"{name}: {exc}", key))
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        cause = exc if isinstance(exc, httpx.TimeoutException) else exc.__cause__
        return _Fault("connect_timeout" if isinstance(cause, httpx.ConnectTimeout)
                      else "first_token", name)
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
        chain = " ".join(str(e) for e in _chain(exc))
        kind = "refused" if "refused" in chain.lower() else "connect"
        return _Fault(kind, redact(chain, key) or name)
    if isinstance(exc, openai.APIStatusError):
        return _status_fault(exc, key)
    return _Fault("malformed", redact(f"{name}: {exc}", key))


def _status_fault(exc: openai.APIStatusError, key: str) -> _Fault:
    status = exc.status_code
    if status in (401, 403):
        return _Fault("auth", f"HTTP {status}", status)  # the body may echo the key: never kept
    detail = redact(_server_message(exc), key)
    if status == 404:
        return _Fault("model", detail, status)
    if status == 429 and "quota" in detail.lower():
        return _Fault("quota", detail, status)  # out of credit: waiting will not help
    if status in (408, 409, 429) or status >= 500:
        return _Fault("rate" if status == 429 else "server", detail, status,
                      _asked_wait(exc.response.headers))
    return _Fault("request", detail, status)


def _asked_wait(headers: Any) -> str:
    """"; it asks to wait 3600 s" from Retry-After(-Ms) as sent (shown, not interpreted)."""
    for name, unit in (("retry-after-ms", " ms"), ("retry-after", " s")):
        raw = " ".join(str(headers.get(name) or "").split())[:40]
        if raw:
            return f"; it asks to wait {raw}{unit if raw.replace('.', '').isdigit() else ''}"
    return ""


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
        if message:
            return str(message)
    return str(exc.message)


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in out and len(out) < 5:
        out.append(current)
        current = current.__cause__ or current.__context__
    return out


def redact(text: str, key: str) -> str:
    """One line without the key (or any bearer token), at most 200 characters."""
    if key:
        text = text.replace(key, "***")
    text = re.sub(r"(?i)(bearer\s+)\S+", r"\1***", text)
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:197] + "..."


def display_url(url: str) -> str:
    """The URL without user:password, query or fragment (they may hold secrets)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
