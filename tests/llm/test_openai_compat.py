"""The openai backend against a real HTTP server on loopback that misbehaves on purpose."""

import time

import pytest

from longweave.errors import (
    BackendTimeout,
    ConnectionFailed,
    ContextWindowExceeded,
    RateLimitError,
    RequestRejected,
    ServerError,
)
from longweave.llm import RetryPolicy, load_llm
from longweave.testing import Fail, FakeOpenAIServer, Reply, Stall

FAST = RetryPolicy(max_retries=3, initial_backoff=0.05, max_backoff=5)


def scripted(*actions):
    """Responder that plays `actions` in order, then replies 'ok'."""
    return lambda req, n: actions[n] if n < len(actions) else Reply("ok")


def make(server, **opts):
    llm = load_llm(f"openai:test-model@{server.url}", **opts)
    llm.retry = opts.pop("retry", FAST)
    return llm


def test_roundtrip_sends_params_and_reports_usage():
    with FakeOpenAIServer(lambda req, n: Reply("hello there", finish_reason="length")) as server:
        llm = make(server)
        out = llm.complete_sync(
            [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
            max_tokens=7,
            temperature=0,
            stop=["\n\n"],
            seed=3,
            role="writer",
        )
        sent = server.requests[0]
    assert out.text == "hello there" and out.finish_reason == "length"
    assert out.prompt_tokens == 3 and out.completion_tokens == 2  # the server's own counts
    assert sent["model"] == "test-model" and sent["max_tokens"] == 7 and sent["stop"] == ["\n\n"]
    assert sent["temperature"] == 0 and sent["seed"] == 3
    assert sent["messages"][0] == {"role": "system", "content": "be brief"}
    assert llm.usage.by_role["writer"].calls == 1


def test_429_honours_retry_after_then_succeeds():
    with FakeOpenAIServer(scripted(Fail(429, "slow down", {"Retry-After": "0.4"}))) as server:
        llm = make(server)
        started = time.monotonic()
        assert llm.complete_sync("x").text == "ok"
        elapsed = time.monotonic() - started
    assert len(server.requests) == 2 and elapsed >= 0.4


def test_5xx_are_retried_with_backoff_and_bounded():
    with FakeOpenAIServer(scripted(Fail(503, "busy"), Fail(500, "oops"))) as server:
        assert make(server).complete_sync("x").text == "ok"
        assert len(server.requests) == 3
    with FakeOpenAIServer(lambda req, n: Fail(502, "down")) as server:
        with pytest.raises(ServerError, match="502.*down"):
            make(server).complete_sync("x")
        assert len(server.requests) == FAST.max_retries + 1


def test_other_4xx_raise_at_once_with_the_servers_message():
    with FakeOpenAIServer(lambda req, n: Fail(400, "temperature must be <= 2")) as server:
        with pytest.raises(RequestRejected, match="temperature must be <= 2") as info:
            make(server).complete_sync("x")
        assert info.value.status == 400 and len(server.requests) == 1
    with FakeOpenAIServer(lambda req, n: Fail(404, "model 'test-model' not found")) as server:
        with pytest.raises(RequestRejected, match="Check the model name"):
            make(server).complete_sync("x")


def test_context_overflow_has_its_own_error():
    message = "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens."
    with FakeOpenAIServer(lambda req, n: Fail(400, message)) as server:
        with pytest.raises(ContextWindowExceeded, match="smaller chunks"):
            make(server).complete_sync("x")


def test_rate_limit_with_a_long_retry_after_fails_fast():
    with FakeOpenAIServer(lambda req, n: Fail(429, "quota", {"Retry-After": "120"})) as server:
        started = time.monotonic()
        with pytest.raises(RateLimitError) as info:
            make(server).complete_sync("x")
    assert info.value.retry_after == 120 and time.monotonic() - started < 2


def test_a_stalled_server_fails_within_the_timeout():
    with FakeOpenAIServer(lambda req, n: Stall(30)) as server:
        llm = make(server, timeout=1.0)
        started = time.monotonic()
        with pytest.raises(BackendTimeout):
            llm.complete_sync("x")
        assert time.monotonic() - started < 2.0


def test_connection_refused_is_reported_with_a_hint():
    server = FakeOpenAIServer()
    url = server.url
    server.close()  # bound, then closed: nothing listens on that port
    llm = load_llm(f"openai:m@{url}", max_retries=0)
    with pytest.raises(ConnectionFailed, match="server is running"):
        llm.complete_sync("x")


def test_generate_many_runs_concurrently_and_keeps_order():
    with FakeOpenAIServer(latency=0.2) as server:
        llm = make(server, max_concurrency=8)
        started = time.monotonic()
        out = llm.generate_many_sync([f"q{i}" for i in range(16)])
        elapsed = time.monotonic() - started
    assert [c.text for c in out] == [f"q{i}" for i in range(16)]
    assert elapsed < 0.2 * 16 / 2  # well under sequential (3.2 s); ideal is 0.4 s


def test_one_client_per_event_loop():
    with FakeOpenAIServer() as server:
        llm = make(server)
        assert llm.complete_sync("a").text == "a"
        assert llm.complete_sync("b").text == "b"  # a second asyncio.run() must not break


def test_backends_dropped_without_close_do_not_hang_later_calls():
    # Regression: leaked clients left sockets registered on the shared sync loop; a reused fd
    # then swallowed a new connection's reply and the call hung until its timeout.
    for _ in range(8):
        with FakeOpenAIServer(latency=0.02) as server:
            llm = load_llm(f"openai:m@{server.url}", max_concurrency=16, timeout=10, max_retries=0)
            assert len(llm.generate_many_sync([str(i) for i in range(32)])) == 32
            del llm


def test_close_releases_the_connections_and_the_backend_still_works():
    with FakeOpenAIServer() as server:
        llm = make(server)
        assert llm.complete_sync("a").text == "a"
        llm.close()
        llm.close()  # twice is fine
        assert llm.complete_sync("b").text == "b"
