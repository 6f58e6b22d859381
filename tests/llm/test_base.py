"""The base class contract: one method to write, the rest provided."""

import asyncio
import threading
import time

import pytest

from longweave.errors import BackendTimeout, InputError, RateLimitError, RequestRejected, ServerError
from longweave.llm import LLM, Completion, RetryPolicy, Trace

FAST = RetryPolicy(max_retries=3, initial_backoff=0.01, max_backoff=1.0)


class Echo(LLM):
    async def generate(self, messages, **params):
        await asyncio.sleep(params.get("delay", 0))
        return Completion(text=messages[-1]["content"][::-1])


def test_subclass_needs_only_generate_and_no_constructor_args():
    llm = Echo()
    out = llm.complete_sync("abc", role="writer")
    assert out.text == "cba"
    assert out.prompt_tokens > 0 and out.completion_tokens > 0  # estimated when not reported
    assert llm.usage.total.calls == 1
    assert llm.usage.by_role["writer"].calls == 1
    assert llm.context_window == 8192


def test_subclass_without_super_init_still_works():
    class Bare(LLM):
        def __init__(self):  # does not call super().__init__
            self.name = "bare"

        async def generate(self, messages, **params):
            return Completion("ok", 1, 1)

    assert Bare().complete_sync("x").text == "ok"


def test_generate_many_keeps_order_and_bounds_concurrency():
    in_flight = peak = 0
    lock = threading.Lock()

    class Slow(LLM):
        max_concurrency = 4

        async def generate(self, messages, **params):
            nonlocal in_flight, peak
            with lock:
                in_flight += 1
                peak = max(peak, in_flight)
            await asyncio.sleep(0.02 if int(messages[0]["content"]) % 2 else 0.001)
            with lock:
                in_flight -= 1
            return Completion(messages[0]["content"], 1, 1)

    llm = Slow()
    out = llm.generate_many_sync([str(i) for i in range(20)])
    assert [c.text for c in out] == [str(i) for i in range(20)]
    assert peak == 4
    assert llm.usage.total.calls == 20


def test_usage_is_exact_under_concurrency():
    llm = Echo(max_concurrency=50)
    llm.generate_many_sync(["ab"] * 200, role="w")
    assert llm.usage.total.calls == 200
    assert llm.usage.by_role["w"].completion_tokens == 200 * llm.count_tokens("ba")


def test_trace_keeps_exact_messages():
    trace = Trace()
    Echo().complete_sync(
        [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}],
        role="manager",
        trace=trace,
        max_tokens=5,
    )
    rec = trace[0]
    assert rec.role == "manager" and rec.messages[0] == {"role": "system", "content": "S"}
    assert rec.text == "U" and rec.meta == {"max_tokens": 5}
    assert "[system]\nS" in str(trace)


class Flaky(LLM):
    def __init__(self, errors):
        super().__init__(retry=FAST)
        self.errors = list(errors)
        self.attempts = 0

    async def generate(self, messages, **params):
        self.attempts += 1
        if self.errors:
            raise self.errors.pop(0)
        return Completion("fine", 1, 1)


def test_transient_errors_are_retried_then_succeed():
    llm = Flaky([ServerError("boom"), RateLimitError("slow down", retry_after=0.05)])
    started = time.monotonic()
    assert llm.complete_sync("x").text == "fine"
    assert llm.attempts == 3
    assert time.monotonic() - started >= 0.05  # Retry-After honoured


def test_non_transient_errors_are_raised_at_once():
    llm = Flaky([RequestRejected("bad request: field x")])
    with pytest.raises(RequestRejected, match="field x"):
        llm.complete_sync("x")
    assert llm.attempts == 1


def test_retries_are_bounded():
    llm = Flaky([ServerError("boom")] * 10)
    with pytest.raises(ServerError):
        llm.complete_sync("x")
    assert llm.attempts == FAST.max_retries + 1


def test_a_backends_own_timeout_is_retried_and_kept_as_it_was_raised():
    # BackendTimeout is a TimeoutError too; it must not be mistaken for the call's deadline
    assert Flaky([BackendTimeout("read timed out after 30 s")]).complete_sync("x").text == "fine"
    llm = Flaky([BackendTimeout("read timed out after 30 s")] * 10)
    with pytest.raises(BackendTimeout, match="after 30 s"):
        llm.complete_sync("x")
    assert llm.attempts == FAST.max_retries + 1


def test_retry_after_longer_than_allowed_fails_fast():
    llm = Flaky([RateLimitError("later", retry_after=3600)])
    started = time.monotonic()
    with pytest.raises(RateLimitError, match="3600"):
        llm.complete_sync("x")
    assert time.monotonic() - started < 1


def test_timeout_bounds_the_whole_call():
    llm = Echo(timeout=0.2)
    started = time.monotonic()
    with pytest.raises(BackendTimeout, match="0.2"):
        llm.complete_sync("x", delay=5)
    assert time.monotonic() - started < 1


def test_bad_messages_are_rejected_clearly():
    with pytest.raises(InputError, match="role"):
        Echo().complete_sync([{"role": "robot", "content": "x"}])
    with pytest.raises(InputError, match="no messages"):
        Echo().complete_sync([])


def test_generate_must_return_a_completion():
    class Wrong(LLM):
        async def generate(self, messages, **params):
            return "text"

    with pytest.raises(TypeError, match="Completion"):
        Wrong().complete_sync("x")


def test_native_batching_is_used_when_a_backend_has_it():
    class Batched(LLM):
        batches = []

        async def generate(self, messages, **params):
            raise AssertionError("per-item path must not be used")

        async def generate_batch(self, batch, **params):
            self.batches.append(len(batch))
            return [Completion(m[-1]["content"], 2, 1) for m in batch]

    llm = Batched()
    out = llm.generate_many_sync(["a", "b", "c"], role="w")
    assert [c.text for c in out] == ["a", "b", "c"] and llm.batches == [3]
    assert llm.usage.by_role["w"].calls == 3


def test_sync_helpers_work_inside_a_running_loop():
    async def inside():
        return Echo().complete_sync("loop").text

    assert asyncio.run(inside()) == "pool"
