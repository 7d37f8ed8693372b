"""The OpenAI-compatible chat client: timeouts, retries with Retry-After, streaming, safe errors."""

from __future__ import annotations

import email.utils
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from assistant.config import Settings
from assistant.errors import ConfigError, LLMError

if TYPE_CHECKING:
    import httpx
    import openai

log = logging.getLogger(__name__)

OPENAI_URL = "https://api.openai.com/v1"
MAX_RETRY_AFTER_S = 30.0  # a server asking for a longer wait is reported at once, not waited for
TIMEOUT_BACKOFF_S = 0.25  # after a timeout the wait already happened: retry almost at once
NO_LLM = "or use --no-llm"  # every fault message ends with the way out


@dataclass(frozen=True)
class ChatResult:
    """The model's reply: full text, token usage when the server reports it, and why it stopped."""

    text: str
    usage: dict[str, int] | None
    finish_reason: str | None = None


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
    """The stream broke off mid-answer; the partial text was discarded."""


class LLMFailureDetail(Exception):
    """Sanitised description of the underlying client error, kept as __cause__ for --debug."""


@dataclass(frozen=True)
class _Fault:
    kind: str  # a key of _MESSAGES
    detail: str
    status: int | None = None
    retry_after: float | None = None

    @property
    def retryable(self) -> bool:
        return self.kind in ("timeout", "rate", "server")


@dataclass
class _Progress:
    opened: bool = False  # the server accepted the request and began streaming
    parts: list[str] = field(default_factory=list)


class _SinkError(Exception):
    """on_token raised: re-raised unchanged, never mistaken for a server fault."""


def make_chat_client(
    settings: Settings, *, http_client: httpx.Client | None = None
) -> OpenAIChatClient:
    """The chat client for the configured server; the key is sent only when the user set one."""
    if not (settings.openai_api_key or settings.openai_base_url):
        raise ConfigError(
            "No LLM configured: set OPENAI_API_KEY or OPENAI_BASE_URL (or use --no-llm)"
        )
    return OpenAIChatClient(
        model=settings.llm_model,
        base_url=settings.openai_base_url or OPENAI_URL,
        api_key=settings.openai_api_key,
        timeout=settings.llm_timeout,
        retries=settings.llm_retries,
        http_client=http_client,
    )


class OpenAIChatClient:
    """openai.OpenAI with SDK retries off and our own loop, so every fault ends in one LLMError."""

    def __init__(
        self,
        *,
        model: str,
        base_url: str,
        api_key: str | None,
        timeout: float,
        retries: int,
        http_client: httpx.Client | None = None,
    ) -> None:
        import openai

        self.model = model
        self.timeout = float(timeout)
        self._deadline = float("inf")
        self.retries = max(0, int(retries))
        self._url = display_url(base_url)
        self._key = api_key or ""
        self._include_usage = True
        # An explicit key (or a provider returning "") stops the SDK reading OPENAI_API_KEY itself;
        # with no key the Authorization header is omitted on purpose (local servers need none).
        key: str | Callable[[], str] = api_key if api_key else (lambda: "")
        self._extra: dict[str, Any] = {} if api_key else {"Authorization": openai.Omit()}
        self._client = openai.OpenAI(
            api_key=key,
            base_url=base_url,
            timeout=self.timeout,
            max_retries=0,
            http_client=http_client,
        )

    def __repr__(self) -> str:
        return f"OpenAIChatClient(model={self.model!r}, base_url={self._url!r})"

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        on_token: Callable[[str], None] | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult:
        """One chat completion (streamed through on_token when given); LLMError on any fault."""
        attempts = self.retries + 1
        # The whole call, retries and waits included, never outlasts timeout x attempts (plus the
        # short pauses between timed-out attempts): a long Retry-After is cut to fit.
        self._deadline = time.monotonic() + self.timeout * attempts + TIMEOUT_BACKOFF_S * self.retries
        fault: _Fault | None = None
        tried = 0
        for attempt in range(attempts):
            tried = attempt + 1
            if attempt and self._deadline - time.monotonic() < 0.5:
                break
            outcome = self._attempt(messages, on_token, max_tokens)
            if isinstance(outcome, ChatResult):
                return outcome
            fault = outcome
            log.debug("LLM attempt %d/%d failed: %s %s", tried, attempts, fault.kind, fault.detail)
            wait = _wait_before_retry(fault, attempt)
            if not fault.retryable or tried >= attempts or wait is None:
                break
            time.sleep(max(0.0, min(wait, self._deadline - time.monotonic() - 0.5)))
        assert fault is not None
        raise self._error(fault, tried)

    def _attempt(
        self,
        messages: list[dict[str, str]],
        on_token: Callable[[str], None] | None,
        max_tokens: int | None,
    ) -> ChatResult | _Fault:
        import httpx
        import openai

        progress = _Progress()
        try:
            if on_token is None:
                return self._plain(messages, max_tokens)
            return self._stream(messages, on_token, max_tokens, progress)
        except _SinkError as exc:
            assert exc.__cause__ is not None
            raise exc.__cause__ from None
        except (openai.APIError, httpx.HTTPError, ValueError, TypeError, AttributeError,
                IndexError, KeyError) as exc:
            fault = _classify(exc, self._key, streamed=progress.opened)
        if (fault.kind == "request" and on_token is not None and self._include_usage
                and "stream_options" in fault.detail.lower()):
            self._include_usage = False  # an older server rejects stream_options: ask again without
            return self._attempt(messages, on_token, max_tokens)
        return fault

    def _params(self, messages: list[dict[str, str]], max_tokens: int | None) -> dict[str, Any]:
        params: dict[str, Any] = {"model": self.model, "messages": messages}
        left = self._deadline - time.monotonic()
        if left < self.timeout:
            params["timeout"] = max(0.5, left)
        if self._extra:
            params["extra_headers"] = self._extra
        # reasoning models spend hidden tokens first: a small cap would leave them no answer
        if max_tokens is not None and re.match(r"^(o\d|gpt-5)", self.model) is None:
            params["max_tokens"] = max_tokens
        return params

    def _plain(self, messages: list[dict[str, str]], max_tokens: int | None) -> ChatResult:
        resp: Any = self._client.chat.completions.create(**self._params(messages, max_tokens))
        choices = getattr(resp, "choices", None)
        if not isinstance(choices, list) or not choices:
            raise ValueError("no choices in the reply")
        content = getattr(getattr(choices[0], "message", None), "content", None)
        if not isinstance(content, str):
            raise ValueError("no message content in the reply")
        finish = getattr(choices[0], "finish_reason", None)
        return ChatResult(content, _usage(getattr(resp, "usage", None)), finish)

    def _stream(
        self,
        messages: list[dict[str, str]],
        on_token: Callable[[str], None],
        max_tokens: int | None,
        progress: _Progress,
    ) -> ChatResult:
        params = self._params(messages, max_tokens)
        if self._include_usage:
            params["stream_options"] = {"include_usage": True}
        stream: Any = self._client.chat.completions.create(stream=True, **params)
        usage: dict[str, int] | None = None
        finish: str | None = None
        progress.opened = True
        with stream:
            for chunk in stream:
                usage = _usage(getattr(chunk, "usage", None)) or usage
                for choice in getattr(chunk, "choices", None) or []:
                    piece = getattr(getattr(choice, "delta", None), "content", None)
                    finish = getattr(choice, "finish_reason", None) or finish
                    if isinstance(piece, str) and piece:
                        progress.parts.append(piece)
                        try:
                            on_token(piece)
                        except Exception as exc:
                            raise _SinkError() from exc
        if finish is None:
            raise _StreamEnded("the stream ended before the answer was complete")
        return ChatResult("".join(progress.parts), usage, finish)

    def _error(self, fault: _Fault, tried: int) -> LLMError:
        wait = f"; it asks to wait {fault.retry_after:g} s" if fault.retry_after else ""
        text = _MESSAGES[fault.kind].format(
            url=self._url, model=self.model, secs=f"{self.timeout:g}", status=fault.status,
            tries=f"{tried} attempt{'s' if tried != 1 else ''}", detail=fault.detail, wait=wait,
        )
        error = (StreamCutError if fault.kind == "cut" else LLMError)(f"{text}, {NO_LLM}.")
        error.__cause__ = LLMFailureDetail(f"{fault.kind}: {fault.detail}")
        return error


_MESSAGES = {
    "refused": "Cannot connect to the LLM server at {url}: connection refused. "
    "Start the server or fix OPENAI_BASE_URL",
    "connect": "Cannot connect to the LLM server at {url} ({detail}). "
    "Check OPENAI_BASE_URL and the network",
    "timeout": "The LLM server at {url} did not answer within {secs} s ({tries}). "
    "Raise ASSISTANT_LLM_TIMEOUT or check the server",
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


class _StreamEnded(ValueError):
    """The stream closed without a final chunk."""


def _usage(raw: Any) -> dict[str, int] | None:
    if raw is None:
        return None
    out = {}
    for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
        value = getattr(raw, name, None)
        if isinstance(value, int):
            out[name] = value
    return out or None


def _classify(exc: BaseException, key: str, *, streamed: bool) -> _Fault:
    """Map an SDK/transport/parsing exception to a fault whose detail holds no secret."""
    import httpx
    import openai

    name = type(exc).__name__
    if isinstance(exc, _StreamEnded) or (streamed and not isinstance(exc, openai.APIStatusError)):
        return _Fault("cut", redact(f"{name}: {exc}", key) if not isinstance(exc, _StreamEnded)
                      else str(exc))
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        return _Fault("timeout", name)
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
        kind = "rate" if status == 429 else "server"
        return _Fault(kind, detail, status, _retry_after(exc.response.headers))
    return _Fault("request", detail, status)


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


def _retry_after(headers: Any) -> float | None:
    """Seconds from Retry-After-Ms / Retry-After (seconds or an HTTP date); None when absent."""
    try:
        if headers.get("retry-after-ms"):
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        raw = headers.get("retry-after")
        if not raw:
            return None
        try:
            return max(0.0, float(raw))
        except ValueError:
            when = email.utils.parsedate_to_datetime(str(raw))
            return max(0.0, float(when.timestamp()) - time.time())
    except (TypeError, ValueError):
        return None


def _wait_before_retry(fault: _Fault, attempt: int) -> float | None:
    """Seconds to wait before the next attempt; None when the server asks for too long a wait."""
    if fault.kind == "timeout":
        return TIMEOUT_BACKOFF_S
    if fault.retry_after is not None:
        return fault.retry_after if fault.retry_after <= MAX_RETRY_AFTER_S else None
    return min(0.5 * 2.0**attempt, 8.0) * random.uniform(0.75, 1.0)


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
