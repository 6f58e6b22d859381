"""The one model interface every backend implements, and everything it gives for free.

A backend (or a user's own model) subclasses `LLM` and writes one method, `generate`. The base
class supplies the rest: `complete` (input checks, retries with backoff on transient errors,
an overall deadline, usage accounting per role, the call trace), `generate_many` (order kept,
bounded concurrency, or the engine's own batching where a backend overrides `generate_batch`),
`count_tokens` and `context_window`.

Deliberately not here: prompt templates (see ``longweave.prompts``), parsing replies (agents do
that), and anything about HTTP (see the openai backend).

Example:
    >>> from longweave.llm import LLM, Completion
    >>> class Echo(LLM):
    ...     async def generate(self, messages, **params):
    ...         return Completion(text=messages[-1]["content"].upper())
    >>> Echo().complete_sync("hello").text
    'HELLO'
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from longweave._sync import run_sync
from longweave.errors import BackendTimeout, RateLimitError
from longweave.llm.prompt_format import normalize_messages
from longweave.llm.retry import RetryPolicy
from longweave.llm.usage import CallRecord, Completion, Trace, Usage
from longweave.text.tokenizer import Tokenizer, get_tokenizer

Messages = list[dict]
log = logging.getLogger(__name__)

# Per-message framing tokens chat formats add around each message (role markers, separators).
_MESSAGE_OVERHEAD = 4


class LLM:
    """Base class of every model backend.

    Class attributes are defaults a subclass may override, or set per instance through the
    constructor; a subclass need not call ``super().__init__()``.

    Attributes:
        model: a name for the model, used in errors and usage.
        context_window: prompt plus completion tokens the model accepts.
        max_concurrency: how many calls `generate_many` keeps in flight.
        retry: the `RetryPolicy` for transient errors.
        timeout: seconds one `complete` call may take, retries included (None: no limit).
    """

    model: str = "custom"
    context_window: int = 8192
    max_concurrency: int = 8
    retry: RetryPolicy = RetryPolicy()
    timeout: float | None = None
    # True where `generate` accepts OpenAI-style ``tools=`` and fills `Completion.tool_calls`.
    supports_tools: bool = False
    # True where `generate` honours ``json_schema=`` (a JSON Schema dict): the reply is then a
    # JSON document of that shape (llama.cpp grammar, vLLM structured outputs, OpenAI json_schema).
    supports_json_schema: bool = False
    # True where the model runs on this machine's CPU (llama.cpp, transformers on CPU): there a
    # prompt costs real time (the 0.5B evaluates ~130 prompt tokens/s on 2 cores against ~35
    # generated), so pipelines spend fewer calls on bookkeeping such as rolling summaries.
    runs_on_cpu: bool = False

    def __init__(
        self,
        *,
        model: str | None = None,
        context_window: int | None = None,
        max_concurrency: int | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        tokenizer: Tokenizer | None = None,
    ) -> None:
        if model is not None:
            self.model = model
        if context_window is not None:
            self.context_window = context_window
        if max_concurrency is not None:
            self.max_concurrency = max_concurrency
        if retry is not None:
            self.retry = retry
        if timeout is not None:
            self.timeout = timeout
        if tokenizer is not None:
            self._tokenizer = tokenizer

    # -- the one method a backend writes -------------------------------------------------

    async def generate(self, messages: Messages, **params) -> Completion:
        """Produce one completion for OpenAI-style `messages`.

        Params a backend should honour where it can: ``max_tokens``, ``temperature``, ``stop``
        (a list of strings), ``seed``; ``min_tokens`` (no end of turn before that many tokens)
        where the engine can, ``tools`` (OpenAI-style, filling `Completion.tool_calls`)
        where `supports_tools` is set, and ``json_schema`` (constrain the reply to JSON of that
        schema) where `supports_json_schema` is set. Ignore the rest. Raise `longweave.errors.BackendError`
        subclasses for failures; mark retryable ones transient (they already are).
        """
        raise NotImplementedError(f"{type(self).__name__} must implement async generate()")

    async def generate_batch(self, batch: Sequence[Messages], **params) -> list[Completion]:
        """Optional: generate many at once with the engine's own batching (vLLM does)."""
        raise NotImplementedError

    # -- what the base class gives -------------------------------------------------------

    @property
    def usage(self) -> Usage:
        """Running totals of every call made through `complete` / `generate_many`."""
        try:
            return self.__dict__["_usage"]
        except KeyError:
            return self.__dict__.setdefault("_usage", Usage())

    @property
    def tokenizer(self) -> Tokenizer:
        """The tokenizer budgets are counted with (the model's own where the backend has one)."""
        tok = self.__dict__.get("_tokenizer")
        if tok is None:
            tok = self.__dict__["_tokenizer"] = get_tokenizer()
        return tok

    def count_tokens(self, text: str | Messages) -> int:
        """Tokens in a string, or in a message list including per-message framing."""
        if isinstance(text, str):
            return self.tokenizer.count(text)
        counts = self.tokenizer.count_many([m["content"] for m in text])
        return sum(counts) + _MESSAGE_OVERHEAD * len(text)

    async def complete(
        self,
        messages: str | Messages,
        *,
        role: str | None = None,
        trace: Trace | None = None,
        **params,
    ) -> Completion:
        """Call the model once, with retries, a deadline, usage accounting and tracing.

        Args:
            messages: a prompt string (sent as one user message) or OpenAI-style messages.
            role: the agent making the call, for per-role usage and the trace.
            trace: where to record the call, with its exact messages.
            **params: max_tokens, temperature, stop, seed, ... passed to `generate`.

        Raises:
            BackendError: the model failed and retries (if any were allowed) did not help.
        """
        msgs = normalize_messages(messages)
        started = time.monotonic()
        deadline = started + self.timeout if self.timeout else None
        policy = self.retry
        attempt = 0
        while True:
            attempt += 1
            try:
                if deadline is None:
                    completion = await self.generate(msgs, **params)
                else:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError
                    completion = await asyncio.wait_for(self.generate(msgs, **params), remaining)
                break
            except BackendTimeout as exc:  # the backend's own; a TimeoutError, so caught before that
                if attempt > policy.max_retries:
                    raise
                error = exc
            except TimeoutError as exc:
                error = BackendTimeout(
                    f"{self.model} gave no answer within {self.timeout:g} s; raise the timeout or "
                    "check that the server is responsive.",
                    model=self.model,
                )
                if attempt > policy.max_retries or deadline is not None:
                    raise error from exc
            except Exception as exc:
                if not getattr(exc, "transient", False) or attempt > policy.max_retries:
                    raise
                error = exc
            retry_after = getattr(error, "retry_after", None)
            wait = policy.backoff(attempt, retry_after)
            if retry_after is not None and retry_after > policy.max_backoff:
                raise RateLimitError(
                    f"{self.model} asked to retry after {retry_after:g} s, longer than the "
                    f"allowed {policy.max_backoff:g} s; wait and run again, or raise "
                    "RetryPolicy.max_backoff.",
                    model=self.model,
                    retry_after=retry_after,
                ) from error
            if deadline is not None and time.monotonic() + wait >= deadline:
                raise error
            log.info("%s: %s; retry %d of %d in %.1f s", self.model, _brief(error), attempt,
                     policy.max_retries, wait)  # fmt: skip
            await asyncio.sleep(wait)
        return self._account(msgs, completion, time.monotonic() - started, role, trace, params)

    def _account(
        self,
        msgs: Messages,
        completion: Completion,
        seconds: float,
        role: str | None,
        trace: Trace | None,
        params: dict,
    ) -> Completion:
        if not isinstance(completion, Completion):
            raise TypeError(
                f"{type(self).__name__}.generate must return a Completion, got {type(completion).__name__}"
            )
        if not completion.prompt_tokens:
            completion.prompt_tokens = self.count_tokens(msgs)
        if not completion.completion_tokens and completion.text:
            completion.completion_tokens = self.count_tokens(completion.text)
        completion.seconds = seconds
        completion.model = completion.model or self.model
        log.debug("%s call by %s: %d prompt + %d completion tokens, %.2f s, %s", completion.model,
                  role or "default", completion.prompt_tokens, completion.completion_tokens, seconds,
                  completion.finish_reason)  # fmt: skip
        self.usage.record(completion, role)
        if trace is not None:
            trace.add(
                CallRecord(
                    role=role or "default",
                    messages=msgs,
                    text=completion.text,
                    prompt_tokens=completion.prompt_tokens,
                    completion_tokens=completion.completion_tokens,
                    seconds=seconds,
                    finish_reason=completion.finish_reason,
                    meta={k: v for k, v in params.items() if k in ("max_tokens", "temperature")},
                )
            )
        return completion

    async def generate_many(
        self,
        batch: Sequence[str | Messages],
        *,
        role: str | None = None,
        trace: Trace | None = None,
        **params,
    ) -> list[Completion]:
        """Complete every prompt in `batch`; results keep the batch's order.

        Uses the backend's native batching when it overrides `generate_batch`, else runs
        `complete` for each with at most `max_concurrency` in flight.
        """
        if type(self).generate_batch is not LLM.generate_batch:
            return await self._native_batch(batch, role, trace, params)
        limit = asyncio.Semaphore(max(1, self.max_concurrency))

        async def one(messages: str | Messages) -> Completion:
            async with limit:
                return await self.complete(messages, role=role, trace=trace, **params)

        return list(await asyncio.gather(*(one(m) for m in batch)))

    async def _native_batch(self, batch, role, trace, params) -> list[Completion]:
        normalized = [normalize_messages(m) for m in batch]
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                completions = await self.generate_batch(normalized, **params)
                break
            except Exception as exc:
                if not getattr(exc, "transient", False) or attempt > self.retry.max_retries:
                    raise
                wait = self.retry.backoff(attempt, getattr(exc, "retry_after", None))
                log.info("%s: batch of %d: %s; retry %d of %d in %.1f s", self.model, len(normalized),
                         _brief(exc), attempt, self.retry.max_retries, wait)  # fmt: skip
                await asyncio.sleep(wait)
        if len(completions) != len(normalized):
            raise TypeError(
                f"{type(self).__name__}.generate_batch returned {len(completions)} completions "
                f"for {len(normalized)} prompts"
            )
        share = (time.monotonic() - started) / max(1, len(normalized))
        return [
            self._account(m, c, share, role, trace, params)
            for m, c in zip(normalized, completions, strict=True)
        ]

    # -- synchronous conveniences for scripts and notebooks ----------------------------

    def complete_sync(self, messages: str | Messages, **kwargs) -> Completion:
        """`complete` for code that is not async (works inside Jupyter's running loop too)."""
        return run_sync(self.complete(messages, **kwargs))

    def generate_many_sync(self, batch: Sequence[str | Messages], **kwargs) -> list[Completion]:
        """`generate_many` for code that is not async."""
        return run_sync(self.generate_many(batch, **kwargs))

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release what the backend holds (engines, connections). Safe to call twice."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r})"


def _brief(error: BaseException) -> str:
    """An error in one short line for the log: its type and the start of its message."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:160]}" if text else type(error).__name__
