"""Several OpenAI-compatible servers of one model behind one `LLM`: vLLM replicas, for example.

``load_llm("openai:MODEL@http://a:8000/v1,http://b:8000/v1")`` gives an `EndpointPool`. Each
call goes to the endpoint with the fewest requests in flight, among those under their limit
(``max_concurrency`` per endpoint, 16 by default); when all are full, the call waits for a
free slot. This is the routing vLLM's own docs recommend in front of data-parallel replicas
(least outstanding requests), done in the client so no proxy is needed.

An endpoint whose request fails with a connection error, a timeout or a 5xx is set aside and
the request goes at once to another endpoint; after `cooldown` seconds one request probes it
again (a successful probe brings it back, a failed one doubles its time out, up to
`max_cooldown`). A 429 sets the endpoint aside for its Retry-After. Only when every endpoint
failed does the error reach `LLM.complete`, whose retries with backoff then apply. Errors that
another server would repeat (a bad request, a context window exceeded) are raised at once.
`endpoint_usage()` reports calls, failures and tokens per endpoint.

Deliberately not here: health checks on a timer (probing rides on real requests), weighting
by server size, and sticky routing for prefix caches.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from longweave.errors import BackendError, ConfigError, ConnectionFailed
from longweave.llm.base import LLM, Messages
from longweave.llm.openai_compat import OpenAICompatible
from longweave.llm.retry import RetryPolicy
from longweave.llm.usage import Completion

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Endpoint:
    """One server of the pool and what the pool knows of it.

    Attributes:
        url: its ``/v1`` base URL; ``llm``: the backend that talks to it.
        in_flight: requests now sent to it; ``limit``: the most it is sent at once.
        calls / failures / prompt_tokens / completion_tokens: its counts so far.
        down_until: monotonic time before which it is set aside (0: healthy).
        cooldown: how long the next failure sets it aside.
        probing: a probe request is out; no other request goes there until it answers.
    """

    url: str
    llm: OpenAICompatible
    limit: int
    in_flight: int = 0
    calls: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    down_until: float = 0.0
    cooldown: float = 0.0
    probing: bool = False


class EndpointPool(LLM):
    """One model served by several OpenAI-compatible endpoints, routed by fewest in flight.

    Args:
        model: the model name every endpoint serves.
        urls: the endpoints' ``/v1`` base URLs.
        max_concurrency: requests in flight per endpoint (the pool's own `max_concurrency`,
            what `generate_many` uses, is the sum).
        cooldown: seconds an endpoint is set aside after its first failure (default 5).
        max_cooldown: the longest it is set aside after repeated failures (default 60).
        timeout, max_retries, api_key, context_window, extra_body: as for `OpenAICompatible`;
            retries happen in `complete`, after every endpoint was tried.

    Example:
        >>> pool = load_llm("openai:qwen@http://10.0.0.1:8000/v1,http://10.0.0.2:8000/v1")  # doctest: +SKIP
        >>> pool.endpoint_usage()  # doctest: +SKIP
    """

    supports_tools = True
    supports_json_schema = True

    def __init__(
        self,
        model: str,
        urls: Sequence[str],
        *,
        max_concurrency: int = 16,
        cooldown: float = 5.0,
        max_cooldown: float = 60.0,
        timeout: float | None = 600.0,
        max_retries: int = 3,
        api_key: str | None = None,
        context_window: int | None = None,
        extra_body: dict | None = None,
        **kwargs,
    ) -> None:
        urls = [u.strip() for u in urls if u.strip()]
        if not urls:
            raise ConfigError("an endpoint pool needs at least one URL: openai:MODEL@URL1,URL2.")
        bad = [u for u in urls if not u.startswith(("http://", "https://"))]
        if bad:
            raise ConfigError(f"endpoint {bad[0]!r} is not an http:// or https:// URL; give URL1,URL2,...")
        if max_concurrency < 1:
            raise ConfigError(f"max_concurrency must be at least 1, not {max_concurrency}.")
        self.endpoints = [
            Endpoint(
                url,
                OpenAICompatible(
                    model, base_url=url, api_key=api_key, timeout=timeout, max_retries=0,
                    context_window=context_window, max_concurrency=max_concurrency, extra_body=extra_body,
                ),
                max_concurrency,
            )
            for url in urls
        ]  # fmt: skip
        super().__init__(
            model=model,
            context_window=self.endpoints[0].llm.context_window,
            max_concurrency=max_concurrency * len(urls),
            retry=RetryPolicy(max_retries=max_retries),
            timeout=timeout,
            **kwargs,
        )
        self.base_cooldown, self.max_cooldown = cooldown, max_cooldown
        self._freed: asyncio.Condition | None = None
        self._freed_loop: asyncio.AbstractEventLoop | None = None

    def _condition(self) -> asyncio.Condition:
        loop = asyncio.get_running_loop()  # a Condition belongs to one loop, as the clients do
        if self._freed is None or self._freed_loop is not loop:
            self._freed, self._freed_loop = asyncio.Condition(), loop
        return self._freed

    def _pick(self, tried: set[int]) -> int | None:
        """The index of the endpoint to send to now, or None when all usable ones are full.

        Healthy endpoints under their limit come first, fewest in flight; an endpoint whose
        time out has passed gets one probe request.
        """
        now = time.monotonic()
        best, best_load = None, None
        for i, e in enumerate(self.endpoints):
            if i in tried or e.in_flight >= e.limit or e.probing:
                continue
            if e.down_until > now:
                continue
            if e.down_until:  # time out over: this request is the probe
                return i
            if best_load is None or e.in_flight < best_load:
                best, best_load = i, e.in_flight
        return best

    def _usable(self, tried: set[int]) -> bool:
        """Whether some endpoint not yet tried may take this request, now or once one frees."""
        now = time.monotonic()
        return any(
            i not in tried and (e.down_until <= now or e.down_until - now < 0.05)
            for i, e in enumerate(self.endpoints)
        )

    async def generate(self, messages: Messages, **params) -> Completion:
        freed = self._condition()
        tried: set[int] = set()
        error: BackendError | None = None
        while True:
            async with freed:
                while (i := self._pick(tried)) is None:
                    if not self._usable(tried):
                        raise error or self._all_down()
                    await _wait(freed, self._next_change())
                e = self.endpoints[i]
                e.in_flight += 1
                e.probing = bool(e.down_until)  # its time out is over: this request probes it
            try:
                completion = await e.llm.generate(messages, **params)
            except BackendError as exc:
                if not exc.transient:
                    await self._release(e, ok=True)
                    raise
                await self._release(e, ok=False, retry_after=getattr(exc, "retry_after", None))
                tried.add(i)
                error = exc
                continue
            except BaseException:
                await self._release(e, ok=True)
                raise
            e.calls += 1
            e.prompt_tokens += completion.prompt_tokens
            e.completion_tokens += completion.completion_tokens
            await self._release(e, ok=True)
            return completion

    async def _release(self, e: Endpoint, *, ok: bool, retry_after: float | None = None) -> None:
        freed = self._condition()
        async with freed:
            e.in_flight -= 1
            e.probing = False
            if ok:
                e.down_until, e.cooldown = 0.0, 0.0
            else:
                e.failures += 1
                if retry_after is not None:
                    wait = retry_after
                else:
                    e.cooldown = min(self.max_cooldown, e.cooldown * 2 if e.cooldown else self.base_cooldown)
                    wait = e.cooldown
                e.down_until = time.monotonic() + wait
                log.info("endpoint %s set aside for %.1f s after %d failure(s)", e.url, wait, e.failures)
            freed.notify_all()

    def _next_change(self) -> float | None:
        """Seconds until an endpoint set aside may be probed (None: wait for a slot to free)."""
        now = time.monotonic()
        waits = [e.down_until - now for e in self.endpoints if e.down_until > now]
        return max(0.01, min(waits)) if waits else None

    def _all_down(self) -> BackendError:
        return ConnectionFailed(
            f"model {self.model!r}: every endpoint of the pool is set aside after failures "
            f"({', '.join(e.url for e in self.endpoints)}); check the servers.",
            model=self.model,
        )

    def endpoint_usage(self) -> list[dict]:
        """Per endpoint: url, calls, failures, prompt and completion tokens, in flight, whether up."""
        now = time.monotonic()
        return [
            {
                "url": e.url,
                "calls": e.calls,
                "failures": e.failures,
                "prompt_tokens": e.prompt_tokens,
                "completion_tokens": e.completion_tokens,
                "in_flight": e.in_flight,
                "up": e.down_until <= now,
            }
            for e in self.endpoints
        ]

    def close(self) -> None:
        for e in self.endpoints:
            e.llm.close()

    def __repr__(self) -> str:
        return f"EndpointPool(model={self.model!r}, endpoints={len(self.endpoints)})"


async def _wait(condition: asyncio.Condition, timeout: float | None) -> None:
    try:
        await asyncio.wait_for(condition.wait(), timeout)
    except TimeoutError:
        pass


__all__ = ["Endpoint", "EndpointPool"]
