"""In-process models run every call on one thread (one OpenMP team; see model_thread.py)."""

import asyncio
import threading

import pytest

from longweave.llm.model_thread import ModelThread


def test_concurrent_calls_all_run_on_the_same_thread_one_at_a_time():
    worker = ModelThread("test-model")
    seen, active, overlap = [], [0], []

    def call(k: int) -> int:
        active[0] += 1
        overlap.append(active[0])
        seen.append(threading.get_ident())
        active[0] -= 1
        return k * k

    async def main():
        return await asyncio.gather(*(worker.run(call, k) for k in range(40)))

    try:
        assert asyncio.run(main()) == [k * k for k in range(40)]
        # a second event loop (as a later sync call would use) still reaches the same thread
        assert asyncio.run(worker.run(call, 3)) == 9
    finally:
        worker.close()
    assert len(set(seen)) == 1 and seen[0] != threading.get_ident()
    assert max(overlap) == 1


def test_errors_reach_the_caller_and_close_refuses_later_calls():
    worker = ModelThread("test-model")

    def boom():
        raise ValueError("bad prompt")

    with pytest.raises(ValueError, match="bad prompt"):
        asyncio.run(worker.run(boom))
    worker.close()
    with pytest.raises(RuntimeError):
        asyncio.run(worker.run(len, "abc"))
