"""One dedicated thread for an in-process model's calls.

Native libraries that parallelise with OpenMP (llama.cpp, PyTorch on CPU) keep a team of
worker threads per *calling* thread. `asyncio.to_thread` hands successive calls to whichever
executor thread is free, so a new caller builds a second team while the first one's threads
still spin on the same cores. Decoding, which synchronises its threads after every small
matrix product, suffers most: with the embedded model on 2 cores, llama.cpp fell from about
37 to 19 tokens/s a few calls into an AgentWrite run, while prompt evaluation barely changed.
Running every call of a model on the same thread keeps one team (measured: 37-41 tokens/s
throughout, a 4-section run 162 s -> 107 s with the same text).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class ModelThread:
    """Runs callables one at a time on a single long-lived thread, awaitable from asyncio.

    The thread starts on the first call and ends with `close` (or with the process: it is a
    daemon-like executor thread that holds no state of its own).
    """

    def __init__(self, name: str) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the model's thread and return its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args))

    def close(self) -> None:
        """Let the thread end once a call in progress returns; later calls are refused."""
        self._pool.shutdown(wait=False)


__all__ = ["ModelThread"]
