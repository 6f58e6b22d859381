"""Run a coroutine from synchronous code, also where an event loop is already running.

Synchronous entry points (`Pipeline.run`, `LLM.complete_sync`) all run their coroutines on one
long-lived event loop in a daemon thread, rather than a fresh loop per call. Clients bound to a
loop (the openai SDK's connection pool) are then reused across calls instead of being left
behind on closed loops, and the same code works inside Jupyter, whose own loop is running.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def _background_loop() -> tuple[asyncio.AbstractEventLoop, threading.Thread]:
    global _loop, _thread
    with _lock:
        if _loop is None or _loop.is_closed() or _thread is None or not _thread.is_alive():
            _loop = asyncio.new_event_loop()
            _thread = threading.Thread(target=_loop.run_forever, name="longweave-loop", daemon=True)
            _thread.start()
        return _loop, _thread


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion on longweave's background loop and return its result.

    Called from that loop's own thread (a coroutine calling sync code that calls back in),
    it runs `coro` on a fresh loop in a worker thread instead of deadlocking. Ctrl-C while
    waiting cancels the coroutine.
    """
    loop, thread = _background_loop()
    if threading.current_thread() is thread:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, coro).result()
    future = asyncio.run_coroutine_threadsafe(coro, loop)
    try:
        return future.result()
    except KeyboardInterrupt:
        future.cancel()
        raise
