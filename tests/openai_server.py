"""A scripted OpenAI-compatible HTTP server on 127.0.0.1: chat, SSE streams, embeddings, faults."""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

MAX_HANG_S = 60.0  # a "hanging" reply never sleeps longer than this (and stop() wakes it at once)


@dataclass
class Reply:
    """One scripted answer (or fault) of the server.

    text: assistant content; status/headers: HTTP status and extra headers (e.g. Retry-After);
    body: raw bytes sent instead of a JSON reply (garbage); delay: seconds before answering
    (a hang when larger than the client's timeout); cut_after: for streams, close the socket
    after this many content chunks; finish_reason None in a stream ends it without a final chunk;
    echo_auth: put the request's Authorization header into the reply body (a leaky server).
    first_delay: in a stream, seconds between the headers and the first content chunk (a CPU
    server reading a long prompt); stall_after/stall: after this many content chunks, stop for
    `stall` seconds (a stalled stream); no_usage: never send usage in a stream, asked or not
    (llama.cpp's server); model: the model named in the reply (default: the one asked for);
    on_request: called when the request arrives (tests advance an injected clock with it).
    """

    text: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    delay: float = 0.0
    cut_after: int | None = None
    finish_reason: str | None = "stop"
    usage: dict[str, int] | None = None
    echo_auth: bool = False
    first_delay: float = 0.0
    stall_after: int | None = None
    stall: float = 0.0
    no_usage: bool = False
    model: str | None = None
    on_request: Callable[[], None] | None = None


@dataclass
class Recorded:
    """A request the server got: path, headers (lower-case names) and JSON body."""

    path: str
    headers: dict[str, str]
    json: Any


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up mid-request (the fault tests do) is expected, not an error to print."""

    def handle_error(self, request: object, client_address: object) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class OpenAIServer:
    """Threaded HTTP server speaking /v1/chat/completions (plain and SSE) and /v1/embeddings."""

    def __init__(self, embedding_dim: int = 16) -> None:
        self.embedding_dim = embedding_dim
        self.requests: list[Recorded] = []
        self._queues: dict[str, deque[Reply]] = {"chat": deque(), "embeddings": deque()}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting -------------------------------------------------------------------------
    def enqueue(self, reply: Reply | None = None, *, endpoint: str = "chat", **kw: Any) -> None:
        """Script the next reply of `endpoint` ("chat" or "embeddings"): a Reply or its fields."""
        with self._lock:
            self._queues[endpoint].append(reply if reply is not None else Reply(**kw))

    def _next(self, endpoint: str) -> Reply | None:
        with self._lock:
            queue = self._queues[endpoint]
            return queue.popleft() if queue else None

    @property
    def chat_requests(self) -> list[Recorded]:
        """Recorded requests to /v1/chat/completions."""
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> OpenAIServer:
        handler = type("Handler", (_Handler,), {"owner": self})
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # wakes any hanging reply
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    owner: OpenAIServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        return

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.owner.requests.append(Recorded(self.path, headers, body))
        try:
            if self.path.endswith("/chat/completions"):
                self._chat(body if isinstance(body, dict) else {}, headers)
            elif self.path.endswith("/embeddings"):
                self._embeddings(body if isinstance(body, dict) else {})
            else:
                self._json(404, {"error": {"message": f"no route {self.path}"}})
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True  # the client gave up (timeout): nothing to do

    # -- endpoints -------------------------------------------------------------------------
    def _chat(self, body: dict[str, Any], headers: dict[str, str]) -> None:
        reply = self.owner._next("chat")
        if reply is None:
            self._json(400, {"error": {"message": "test server: no reply scripted"}})
            return
        if reply.on_request is not None:
            reply.on_request()
        if reply.delay:
            self.owner._stop.wait(min(reply.delay, MAX_HANG_S))
            if self.owner._stop.is_set():
                self.close_connection = True
                return
        if self._fault(reply, headers):
            return
        if body.get("stream"):
            self._stream(reply, body)
        else:
            self._json(200, _completion(reply, body), reply.headers)

    def _embeddings(self, body: dict[str, Any]) -> None:
        reply = self.owner._next("embeddings")
        if reply is not None and reply.on_request is not None:
            reply.on_request()
        if reply is not None and self._fault(reply, {}):
            return
        inputs = body.get("input") or []
        texts = [inputs] if isinstance(inputs, str) else list(inputs)
        data = [
            {"object": "embedding", "index": i,
             "embedding": _vector(str(t), self.owner.embedding_dim)}
            for i, t in enumerate(texts)
        ]
        tokens = sum(len(str(t).split()) for t in texts)
        self._json(200, {"object": "list", "data": data, "model": body.get("model", "test"),
                         "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    def _fault(self, reply: Reply, headers: dict[str, str]) -> bool:
        """Send a scripted error status or garbage body; True when the request is answered."""
        if reply.body is not None:
            self._raw(reply.status, reply.body, "application/json", reply.headers)
            return True
        if reply.status != 200:
            message = f"scripted status {reply.status}"
            if reply.echo_auth:
                message += f" (you sent {headers.get('authorization', 'no key')})"
            self._json(reply.status, {"error": {"message": message, "type": "test"}}, reply.headers)
            return True
        return False

    def _stream(self, reply: Reply, body: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.end_headers()
        self._chunk(_sse(_delta(body, {"role": "assistant", "content": ""}, None, reply)))
        if reply.first_delay and self._wait(reply.first_delay):
            return
        for i, piece in enumerate(_pieces(reply.text)):
            if reply.stall_after is not None and i == reply.stall_after and self._wait(reply.stall):
                return
            if reply.cut_after is not None and i >= reply.cut_after:
                self.wfile.flush()
                self.close_connection = True
                self.connection.close()  # no terminating chunk: the client sees a broken body
                return
            self._chunk(_sse(_delta(body, {"content": piece}, None, reply)))
            time.sleep(0.001)
        if reply.finish_reason is not None:
            self._chunk(_sse(_delta(body, {}, reply.finish_reason, reply)))
            if (body.get("stream_options") or {}).get("include_usage") and not reply.no_usage:
                usage = _delta(body, {}, None, reply)
                usage["choices"], usage["usage"] = [], _usage(reply, body)
                self._chunk(_sse(usage))
            self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")

    def _wait(self, seconds: float) -> bool:
        """Sleep (woken by stop()); True when the client left meanwhile or the server stops."""
        self.owner._stop.wait(min(seconds, MAX_HANG_S))
        if self.owner._stop.is_set():
            self.close_connection = True
            return True
        return False

    # -- wire helpers ----------------------------------------------------------------------
    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._raw(status, json.dumps(obj).encode(), "application/json", headers or {})

    def _raw(self, status: int, data: bytes, ctype: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()


def _pieces(text: str) -> list[str]:
    """Split text into small stream deltas (word plus its following space)."""
    out, current = [], ""
    for ch in text:
        current += ch
        if ch == " ":
            out.append(current)
            current = ""
    if current:
        out.append(current)
    return out


def _usage(reply: Reply, body: dict[str, Any]) -> dict[str, int]:
    if reply.usage is not None:
        return dict(reply.usage)
    prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
    completion = len(reply.text.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def _completion(reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": reply.model or body.get("model", "test"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text},
                     "finish_reason": reply.finish_reason or "stop"}],
        "usage": _usage(reply, body),
    }


def _delta(body: dict[str, Any], delta: dict[str, Any], finish: str | None,
           reply: Reply) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": reply.model or body.get("model", "test"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _sse(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def _vector(text: str, dim: int) -> list[float]:
    """A deterministic unit vector from hashed word counts (similar texts get similar vectors)."""
    vec = [0.0] * dim
    for word in text.lower().split():
        h = int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "big")
        vec[h % dim] += 1.0
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [v / norm for v in vec]


@pytest.fixture(name="openai_server")
def openai_server_fixture() -> Iterator[OpenAIServer]:
    """The `openai_server` fixture: a started OpenAIServer, stopped after the test.

    Import `openai_server_fixture` into a conftest.py (or a test module) to make it available.
    """
    server = OpenAIServer().start()
    try:
        yield server
    finally:
        server.stop()
