"""The chat client over real HTTP to a scripted local server: replies, streams, faults, leaks."""

from __future__ import annotations

import logging
import socket
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openai_server import OpenAIServer, Reply, openai_server_fixture  # noqa: F401

from assistant.answer.llm.client import OpenAIChatClient, StreamCutError, make_chat_client
from assistant.config import load_settings
from assistant.deadline import is_local
from assistant.errors import ConfigError, LLMError

CANARY = "sk-canary-7Qz9XwVb3LmN8pRt"
MESSAGES = [{"role": "user", "content": "Who joined the SCO?"}]
SOON = {"retry-after-ms": "1"}  # the SDK's own wait before a retry, made tiny


class FakeClock:
    """An injected clock for the overall deadline: time moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> Callable[[], None]:
        def tick() -> None:
            self.now += seconds

        return tick


def client_for(server: OpenAIServer | None, *, key: str | None = CANARY, first_token: float = 5.0,
               idle: float = 5.0, total: float = 60.0, retries: int = 0, model: str = "test-model",
               base_url: str | None = None, clock: FakeClock | None = None) -> OpenAIChatClient:
    overrides: dict[str, Any] = {
        "openai_base_url": base_url or (server.base_url if server else None),
        "openai_api_key": key, "llm_first_token_timeout": first_token, "llm_idle_timeout": idle,
        "llm_timeout": total, "llm_retries": retries, "llm_model": model,
    }
    settings = load_settings(overrides, environ={}, dotenv_path=Path("/nonexistent/.env"))
    return make_chat_client(settings, clock=clock)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fail(client: OpenAIChatClient, stream: bool = False) -> LLMError:
    tokens: list[str] = []
    with pytest.raises(LLMError) as info:
        client.complete(MESSAGES, on_token=tokens.append if stream else None)
    message = str(info.value)
    assert "\n" not in message and message.endswith("or use --no-llm.")
    return info.value


def test_reply_usage_model_and_request(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(text="Belarus joined the SCO [1].", model="gemma-3-270m",
                          usage={"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18})
    result = client_for(openai_server).complete(MESSAGES, max_tokens=50)
    assert result.text == "Belarus joined the SCO [1]."
    assert result.usage == {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    assert (result.finish_reason, result.model) == ("stop", "gemma-3-270m")  # who really answered
    (req,) = openai_server.chat_requests
    assert req.json["model"] == "test-model" and req.json["messages"] == MESSAGES
    assert req.json["max_tokens"] == 50 and req.json["temperature"] == 0  # the same answer each time
    # always a stream, with usage asked for, even when nobody watches the tokens
    assert req.json["stream"] is True and req.json["stream_options"] == {"include_usage": True}
    assert req.headers["authorization"] == f"Bearer {CANARY}"


def test_stream_delivers_tokens_as_they_arrive(openai_server: OpenAIServer) -> None:
    text = "Belarus joined the SCO on Thursday [1]."
    openai_server.enqueue(text=text)
    tokens: list[str] = []
    result = client_for(openai_server).complete(MESSAGES, on_token=tokens.append)
    assert len(tokens) > 3 and "".join(tokens) == text == result.text
    assert result.usage is not None and result.usage["completion_tokens"] == len(text.split())


def test_stream_without_usage_reports_none_not_zero(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(text="Belarus joined the SCO [1].", no_usage=True)  # as llama.cpp does
    result = client_for(openai_server).complete(MESSAGES)
    assert result.text == "Belarus joined the SCO [1]." and result.usage is None


def test_server_rejecting_stream_options_is_asked_again_without(
        openai_server: OpenAIServer) -> None:
    openai_server.enqueue(status=400, body=b'{"error": {"message": "unknown field stream_options"}}')
    openai_server.enqueue(text="Belarus [1].")
    assert client_for(openai_server).complete(MESSAGES).text == "Belarus [1]."
    first, second = openai_server.chat_requests
    assert "stream_options" in first.json and "stream_options" not in second.json


def test_no_key_sends_no_authorization_even_with_env_key(
    openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment")
    openai_server.enqueue(text="ok [1].")
    client_for(openai_server, key=None).complete(MESSAGES)
    assert "authorization" not in openai_server.chat_requests[0].headers


def test_nothing_configured_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY or OPENAI_BASE_URL"):
        client_for(None, key=None)


def test_429_twice_then_answer_by_the_sdks_retries(openai_server: OpenAIServer) -> None:
    for _ in range(2):
        openai_server.enqueue(status=429, headers=SOON)
    openai_server.enqueue(text="Belarus [1].")
    client = client_for(openai_server, retries=2)
    assert client.complete(MESSAGES).text == "Belarus [1]."
    assert len(openai_server.chat_requests) == 3 and client.attempts == 3


def test_429_exhausted_is_reported(openai_server: OpenAIServer) -> None:
    for _ in range(2):
        openai_server.enqueue(status=429, headers=SOON)
    error = fail(client_for(openai_server, retries=1))
    assert "HTTP 429, 2 attempts" in str(error) and "ASSISTANT_LLM_RETRIES" in str(error)
    assert len(openai_server.chat_requests) == 2


def test_429_asking_for_a_long_wait_is_reported_at_once(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(status=429, headers={"Retry-After": "3600"})
    error = fail(client_for(openai_server, retries=2))
    assert "asks to wait 3600 s" in str(error)
    assert len(openai_server.chat_requests) == 1  # the SDK does not wait an hour


def test_429_out_of_quota_is_not_retried(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(status=429, headers=SOON, body=b'{"error": {"message": "You exceeded '
                          b'your current quota", "code": "insufficient_quota"}}')
    error = fail(client_for(openai_server, retries=2))
    assert "quota of this API key is used up" in str(error)
    assert len(openai_server.chat_requests) == 1


def test_overall_deadline_stops_the_sdks_retries(openai_server: OpenAIServer) -> None:
    clock = FakeClock()
    for _ in range(6):  # each attempt "takes" 20 s of the injected clock
        openai_server.enqueue(status=503, headers=SOON, on_request=clock.advance(20))
    client = client_for(openai_server, retries=5, total=50, clock=clock)
    error = fail(client)
    assert "did not finish within 50 s (3 attempts)" in str(error)
    assert "ASSISTANT_LLM_TIMEOUT" in str(error)
    assert len(openai_server.chat_requests) == 3 and clock.now == 1060.0


def test_deadline_is_per_call(openai_server: OpenAIServer) -> None:
    clock = FakeClock()
    client = client_for(openai_server, total=50, clock=clock)
    openai_server.enqueue(text="one [1].", on_request=clock.advance(40))
    openai_server.enqueue(text="two [1].", on_request=clock.advance(40))
    assert [client.complete(MESSAGES).text for _ in range(2)] == ["one [1].", "two [1]."]


def test_reasoning_models_get_no_small_token_cap(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(text="ok [1].")
    client_for(openai_server, model="o4-mini").complete(MESSAGES, max_tokens=50)
    body = openai_server.chat_requests[0].json
    assert "max_tokens" not in body and "max_completion_tokens" not in body
    assert "temperature" not in body  # they accept only their default


def test_5xx_is_retried_then_answers(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(status=503, headers=SOON)
    openai_server.enqueue(status=500, headers=SOON)
    openai_server.enqueue(text="fine [1].")
    assert client_for(openai_server, retries=2).complete(MESSAGES).text == "fine [1]."
    assert len(openai_server.chat_requests) == 3


def test_5xx_exhausted(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(status=502, headers=SOON)
    openai_server.enqueue(status=502, headers=SOON)
    error = fail(client_for(openai_server, retries=1))
    assert "failed (HTTP 502, 2 attempts)" in str(error)


@pytest.mark.parametrize("status", [401, 403])
def test_bad_key_is_not_retried(openai_server: OpenAIServer, status: int) -> None:
    openai_server.enqueue(status=status)
    error = fail(client_for(openai_server, retries=2))
    assert f"rejected the API key (HTTP {status})" in str(error) and "OPENAI_API_KEY" in str(error)
    assert len(openai_server.chat_requests) == 1


def test_unknown_model(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(status=404)
    error = fail(client_for(openai_server, model="llama-nope", retries=2))
    assert "does not know model 'llama-nope'" in str(error) and "ASSISTANT_LLM_MODEL" in str(error)
    assert len(openai_server.chat_requests) == 1


def test_other_4xx_names_the_server_message(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(status=400)
    error = fail(client_for(openai_server, retries=2))
    assert "refused the request (HTTP 400: scripted status 400)" in str(error)


def test_hanging_local_server_is_not_asked_twice(openai_server: OpenAIServer) -> None:
    for _ in range(3):
        openai_server.enqueue(delay=30)  # no headers: prompt processing that never ends
    t0 = time.monotonic()
    error = fail(client_for(openai_server, first_token=0.5, retries=2), stream=True)
    assert time.monotonic() - t0 >= 0.5  # it did wait for the first token (a lower bound only)
    assert "sent no answer within 0.5 s (1 attempt; not retried: a local server" in str(error)
    assert "ASSISTANT_LLM_FIRST_TOKEN_TIMEOUT" in str(error)
    assert len(openai_server.chat_requests) == 1


def test_slow_first_token_after_the_headers(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(text="Belarus [1].", first_delay=30)
    error = fail(client_for(openai_server, first_token=0.5, idle=5, retries=2), stream=True)
    assert "sent no answer within 0.5 s" in str(error)
    assert not isinstance(error, StreamCutError) and len(openai_server.chat_requests) == 1


def test_first_token_gets_its_own_limit_not_the_idle_one(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(text="Belarus joined the SCO [1].", first_delay=0.6)
    result = client_for(openai_server, first_token=30, idle=0.2).complete(MESSAGES)
    assert result.text == "Belarus joined the SCO [1]."


def test_mid_stream_stall_is_given_up_and_discarded(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(text="Belarus joined the SCO on Thursday [1].", stall_after=2, stall=30)
    tokens: list[str] = []
    client = client_for(openai_server, idle=0.3, retries=2)
    with pytest.raises(StreamCutError) as info:
        client.complete(MESSAGES, on_token=tokens.append)
    assert "".join(tokens) == "Belarus joined "
    assert "stalled (no new text for 0.3 s): partial answer discarded" in str(info.value)
    assert "ASSISTANT_LLM_IDLE_TIMEOUT" in str(info.value)
    assert len(openai_server.chat_requests) == 1


def test_is_local() -> None:
    for url in ("http://127.0.0.1:8080/v1", "http://localhost:11434/v1", "http://[::1]:8000/v1",
                "http://192.168.1.20:8000/v1", "http://gpu.local/v1"):
        assert is_local(url), url
    for url in ("https://api.openai.com/v1", "https://example.com/v1", "http://8.8.8.8/v1"):
        assert not is_local(url), url


def test_connection_refused_is_reported() -> None:
    client = client_for(None, base_url=f"http://127.0.0.1:{free_port()}/v1", retries=1)
    error = fail(client)
    assert "connection refused (2 attempts)" in str(error) and "OPENAI_BASE_URL" in str(error)


@pytest.mark.parametrize("body", [b"<html>Bad gateway</html>", b'{"foo": 1}',
                                  b'{"choices": [{"message": 5}]}'])
def test_malformed_response(openai_server: OpenAIServer, body: bytes) -> None:
    openai_server.enqueue(body=body)
    error = fail(client_for(openai_server))
    assert "malformed response" in str(error)


def test_stream_cut_mid_answer_discards_partial_text(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(text="Belarus joined the SCO on Thursday [1].", cut_after=3)
    tokens: list[str] = []
    with pytest.raises(StreamCutError) as info:
        client_for(openai_server, retries=2).complete(MESSAGES, on_token=tokens.append)
    assert "".join(tokens) == "Belarus joined the "  # the user saw these: the error says so
    assert "partial answer discarded" in str(info.value) and "\n" not in str(info.value)
    assert len(openai_server.chat_requests) == 1  # never retried once tokens were shown


def test_reply_that_is_no_event_stream_is_malformed(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(body=b'{"id": "x", "choices": []}')
    error = fail(client_for(openai_server), stream=True)
    assert "malformed response" in str(error) and not isinstance(error, StreamCutError)


def test_stream_ending_without_finish_is_a_cut(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(text="Belarus joined", finish_reason=None)
    with pytest.raises(StreamCutError, match="ended before the answer was complete"):
        client_for(openai_server).complete(MESSAGES, on_token=lambda t: None)


def test_embeddings_endpoint_and_its_faults(openai_server: OpenAIServer) -> None:
    import openai

    client = openai.OpenAI(api_key="k", base_url=openai_server.base_url, max_retries=0, timeout=2)
    texts = ["Belarus joined the SCO", "Belarus joined the SCO", "chip export curbs"]
    data = client.embeddings.create(model="embed-test", input=texts).data
    assert [len(d.embedding) for d in data] == [16, 16, 16]
    assert data[0].embedding == data[1].embedding != data[2].embedding
    assert openai_server.requests[0].json["input"] == texts
    openai_server.enqueue(status=503, endpoint="embeddings")
    with pytest.raises(openai.InternalServerError):
        client.embeddings.create(model="embed-test", input=["x"])


def embedder_for(server: OpenAIServer, clock: FakeClock | None = None, **extra: Any) -> Any:
    from assistant.embed.openai import OpenAIEmbedder

    settings = load_settings({"openai_base_url": server.base_url, "llm_retries": 2, **extra},
                             environ={}, dotenv_path=Path("/nonexistent/.env"))
    return OpenAIEmbedder(settings, "embed-test", clock=clock)


def test_embeddings_share_the_sdk_retries_and_the_deadline(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(status=503, headers=SOON, endpoint="embeddings")
    assert embedder_for(openai_server).embed(["Belarus joined"]).shape == (1, 16)
    assert len(openai_server.requests) == 2  # retried once by the SDK
    clock = FakeClock()
    for _ in range(3):
        openai_server.enqueue(status=503, headers=SOON, endpoint="embeddings",
                              on_request=clock.advance(40))
    with pytest.raises(LLMError, match="ASSISTANT_LLM_TIMEOUT"):
        embedder_for(openai_server, clock, llm_timeout=50).embed(["x"])
    assert len(openai_server.requests) == 4 and clock.now == 1080.0


def test_on_token_errors_propagate_unchanged(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(text="Belarus joined the SCO [1].")

    def sink(token: str) -> None:
        raise UnicodeEncodeError("ascii", token, 0, 1, "terminal cannot print")

    with pytest.raises(UnicodeEncodeError):
        client_for(openai_server).complete(MESSAGES, on_token=sink)


FAULTS: dict[str, tuple[list[Reply], bool]] = {
    "401": ([Reply(status=401, echo_auth=True)], False),
    "403": ([Reply(status=403, echo_auth=True)], True),
    "404": ([Reply(status=404, echo_auth=True)], False),
    "400": ([Reply(status=400, echo_auth=True)], True),
    "429": ([Reply(status=429, echo_auth=True, headers=SOON)] * 2, False),
    "500": ([Reply(status=500, echo_auth=True, headers=SOON)] * 2, True),
    "garbage": ([Reply(body=f"<html>{CANARY}</html>".encode())], False),
    "no-choices": ([Reply(body=f'{{"error": "bad key {CANARY}"}}'.encode())], False),
    "timeout": ([Reply(delay=5)] * 2, True),
    "stall": ([Reply(text=f"partial {CANARY} text and more", stall_after=2, stall=5)], True),
    "cut": ([Reply(text=f"partial {CANARY} text and more", cut_after=2)], True),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_canary_key_never_leaks(
    openai_server: OpenAIServer, fault: str, caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    replies, stream = FAULTS[fault]
    for reply in replies:
        openai_server.enqueue(reply)
    caplog.set_level(logging.DEBUG)
    for name in ("openai", "httpx", "httpcore", "assistant"):
        caplog.set_level(logging.DEBUG, logger=name)
    client = client_for(openai_server, first_token=0.5, idle=0.5, retries=1)
    error = fail(client, stream=stream)
    shown = [str(error), repr(error), "".join(traceback.format_exception(error)), repr(client),
             caplog.text, *capsys.readouterr()]
    assert openai_server.chat_requests[0].headers["authorization"] == f"Bearer {CANARY}"
    for text in shown:
        assert CANARY not in text
        assert CANARY[10:] not in text


def test_messages_hide_url_credentials() -> None:
    client = client_for(None, base_url=f"http://user:pw-secret@127.0.0.1:{free_port()}/v1?t=tok-q")
    error = fail(client)
    for text in (str(error), repr(client)):
        assert "pw-secret" not in text and "tok-q" not in text and "127.0.0.1" in text
