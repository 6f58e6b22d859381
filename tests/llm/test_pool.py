"""EndpointPool: fewest in flight under a per-endpoint limit, failover, probing back, usage per endpoint."""

import asyncio
import threading
import time

import pytest

from longweave import load_llm
from longweave.errors import ConfigError, ConnectionFailed, RequestRejected
from longweave.llm.pool import EndpointPool
from longweave.testing import Fail, FakeOpenAIServer, Reply


def _peak_counter():
    lock, state = threading.Lock(), {"now": 0, "peak": 0}

    def responder(request, n):
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return Reply("ok")

    return responder, state


def test_spec_with_several_urls_makes_a_pool_and_bad_urls_are_config_errors():
    pool = load_llm("openai:m@http://127.0.0.1:1/v1,http://127.0.0.1:2/v1", max_concurrency=3)
    assert isinstance(pool, EndpointPool) and len(pool.endpoints) == 2 and pool.max_concurrency == 6
    with pytest.raises(ConfigError, match="not an http"):
        EndpointPool("m", ["http://127.0.0.1:1/v1", "ftp://x"])


async def test_requests_spread_by_fewest_in_flight_and_never_over_the_limit():
    (r1, s1), (r2, s2) = _peak_counter(), _peak_counter()
    with FakeOpenAIServer(r1) as a, FakeOpenAIServer(r2) as b:
        pool = EndpointPool("m", [a.url, b.url], max_concurrency=4)
        try:
            replies = await asyncio.gather(*(pool.complete("hi") for _ in range(40)))
        finally:
            pool.close()
    assert all(r.text == "ok" for r in replies)
    assert s1["peak"] <= 4 and s2["peak"] <= 4  # the per-endpoint limit holds
    assert len(a.requests) == len(b.requests) == 20  # equal servers share the load evenly
    usage = pool.endpoint_usage()
    assert [u["calls"] for u in usage] == [20, 20] and all(u["prompt_tokens"] > 0 for u in usage)


async def test_a_dead_endpoint_is_set_aside_and_its_requests_go_elsewhere():
    dead = FakeOpenAIServer()
    dead_url = dead.url
    dead.close()  # nothing listens there: connection refused
    with FakeOpenAIServer() as alive:
        pool = EndpointPool("m", [dead_url, alive.url], max_concurrency=8, cooldown=30)
        try:
            replies = await asyncio.gather(*(pool.complete(f"q{i}") for i in range(30)))
        finally:
            pool.close()
    assert [r.text for r in replies] == [f"q{i}" for i in range(30)]  # none lost
    down, up = pool.endpoint_usage()
    assert down["calls"] == 0 and down["failures"] >= 1 and not down["up"]
    assert up["calls"] == 30 and len(alive.requests) == 30


async def test_a_failing_endpoint_is_probed_back_after_its_cooldown():
    broken = {"on": True}

    def flaky(request, n):
        return Fail(503, "warming up") if broken["on"] else Reply("back")

    with FakeOpenAIServer(flaky) as a, FakeOpenAIServer(lambda r, n: Reply("steady")) as b:
        pool = EndpointPool("m", [a.url, b.url], max_concurrency=2, cooldown=0.2, max_cooldown=0.2)
        try:
            first = [r.text for r in await asyncio.gather(*(pool.complete("x") for _ in range(6)))]
            assert first == ["steady"] * 6 and pool.endpoint_usage()[0]["failures"] >= 1
            broken["on"] = False
            await asyncio.sleep(0.3)
            later = [r.text for r in await asyncio.gather(*(pool.complete("x") for _ in range(8)))]
        finally:
            pool.close()
    assert "back" in later and pool.endpoint_usage()[0]["up"]


async def test_every_endpoint_down_raises_a_transient_error_and_rejections_are_not_rerouted():
    gone = [FakeOpenAIServer(), FakeOpenAIServer()]
    urls = [s.url for s in gone]
    for s in gone:
        s.close()
    pool = EndpointPool("m", urls, max_retries=0)
    with pytest.raises(ConnectionFailed):
        await pool.complete("hi")
    with FakeOpenAIServer(lambda r, n: Fail(400, "bad field")) as a, FakeOpenAIServer() as b:
        pool = EndpointPool("m", [a.url, b.url], max_concurrency=1)
        with pytest.raises(RequestRejected, match="bad field"):
            await asyncio.gather(*(pool.complete("hi") for _ in range(2)))
        pool.close()
