"""What the chat client tells the user when a call fails: the fault kinds and their messages, the
HTTP status mapping, and the redaction that keeps keys and URLs' credentials out of every message."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    import openai


@dataclass(frozen=True)
class Fault:
    kind: str  # a key of MESSAGES
    detail: str
    status: int | None = None
    wait: str = ""  # what a 429 asked for (the header as sent, shown, never parsed)


MESSAGES = {
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


def status_fault(exc: openai.APIStatusError, key: str) -> Fault:
    status = exc.status_code
    if status in (401, 403):
        return Fault("auth", f"HTTP {status}", status)  # the body may echo the key: never kept
    detail = redact(server_message(exc), key)
    if status == 404:
        return Fault("model", detail, status)
    if status == 429 and "quota" in detail.lower():
        return Fault("quota", detail, status)  # out of credit: waiting will not help
    if status in (408, 409, 429) or status >= 500:
        return Fault("rate" if status == 429 else "server", detail, status,
                      asked_wait(exc.response.headers))
    return Fault("request", detail, status)


def asked_wait(headers: Any) -> str:
    """"; it asks to wait 3600 s" from Retry-After(-Ms) as sent (shown, not interpreted)."""
    for name, unit in (("retry-after-ms", " ms"), ("retry-after", " s")):
        raw = " ".join(str(headers.get(name) or "").split())[:40]
        if raw:
            return f"; it asks to wait {raw}{unit if raw.replace('.', '').isdigit() else ''}"
    return ""


def server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
        if message:
            return str(message)
    return str(exc.message)


def error_chain(exc: BaseException) -> list[BaseException]:
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
