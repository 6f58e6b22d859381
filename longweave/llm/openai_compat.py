"""Any OpenAI-compatible chat endpoint: the OpenAI API, `vllm serve`, `transformers serve`,
llama.cpp's server, and the many hosted services that speak the same protocol.

One backend serves them all (no wrapper class per vendor). The SDK's own retries are turned
off so that `LLM.complete` retries every backend the same way; this module maps the SDK's
exceptions to `longweave.errors` and reads Retry-After. It does not use constrained decoding:
servers disagree on its fields (see DESIGN.md), so parsers must cope with free text anyway.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import os
import time
import weakref

from longweave.errors import (
    BackendError,
    BackendTimeout,
    ConfigError,
    ConnectionFailed,
    ContextWindowExceeded,
    RateLimitError,
    RequestRejected,
    ServerError,
)
from longweave.llm.base import LLM, Messages
from longweave.llm.retry import RetryPolicy
from longweave.llm.usage import Completion

log = logging.getLogger(__name__)

_CONTEXT_HINTS = (
    "context length",
    "context window",
    "maximum context",
    "too many tokens",
    "prompt is too long",
    "exceeds the model",
)
# Windows of well-known hosted models; anything else defaults to the base class's 8192
# unless the caller passes context_window=.
_KNOWN_WINDOWS = {"gpt-4o": 128_000, "gpt-4.1": 1_000_000, "gpt-5": 400_000, "o3": 200_000}


def _retry_after(response) -> float | None:
    value = response.headers.get("retry-after") if response is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time()) if when else None


def _server_message(exc) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str):
            return err
    return str(getattr(exc, "message", None) or exc)


def map_openai_error(exc: Exception, model: str) -> BackendError | None:
    """Translate an openai SDK exception into ours; None if it is not one of the SDK's."""
    import openai

    where = f"model {model!r}"
    if isinstance(exc, openai.APITimeoutError):
        return BackendTimeout(
            f"{where}: the request timed out; raise timeout= or check the server.", model=model
        )
    if isinstance(exc, openai.APIConnectionError):
        return ConnectionFailed(
            f"{where}: cannot connect ({exc}); check that the server is running and the URL is right.",
            model=model,
        )
    if not isinstance(exc, openai.APIStatusError):
        return None
    status, message = exc.status_code, _server_message(exc)
    if status == 429:
        return RateLimitError(
            f"{where}: rate limited by the server: {message}",
            model=model,
            retry_after=_retry_after(exc.response),
        )
    if status >= 500:
        return ServerError(f"{where}: server error {status}: {message}", model=model, status=status)
    if any(h in message.lower() for h in _CONTEXT_HINTS):
        return ContextWindowExceeded(
            f"{where}: the prompt does not fit the model's context window ({message}); use "
            "smaller chunks or a model with a larger window.",
            model=model,
            status=status,
        )
    hint = {401: " Check the API key.", 404: " Check the model name and the base URL."}.get(status, "")
    return RequestRejected(
        f"{where}: the server refused the request ({status}): {message}.{hint}", model=model, status=status
    )


def _close_client(client, loop: asyncio.AbstractEventLoop) -> None:
    """Close `client` on the loop that owns its connections, from any thread."""
    if loop.is_closed():
        return  # the loop's selector is gone, and with it every registration
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        loop.create_task(client.close())
    elif loop.is_running():
        asyncio.run_coroutine_threadsafe(client.close(), loop)


class OpenAICompatible(LLM):
    """Chat completions over HTTP with the openai SDK.

    Args:
        model: the model name the server knows.
        base_url: the server's ``/v1`` URL; None means the OpenAI API itself.
        api_key: defaults to ``$OPENAI_API_KEY``; local servers get a placeholder.
        timeout: seconds one call may take, retries included.
        max_retries: retries of transient errors (429, 5xx, connection, timeout).
        context_window: the model's window, if the server's model is not a well-known one.
        max_concurrency: calls in flight in `generate_many`.
        extra_body: fields sent with every request (e.g. vLLM's ``structured_outputs``).

    Example:
        >>> llm = OpenAICompatible("Qwen/Qwen3-8B", base_url="http://127.0.0.1:8000/v1")  # doctest: +SKIP
        >>> llm.complete_sync("Say hi.").text  # doctest: +SKIP
    """

    supports_tools = True
    supports_json_schema = True

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float | None = 600.0,
        max_retries: int = 3,
        context_window: int | None = None,
        max_concurrency: int = 16,
        extra_body: dict | None = None,
        **kwargs,
    ) -> None:
        if context_window is None:
            context_window = next((w for k, w in _KNOWN_WINDOWS.items() if model.startswith(k)), None)
        super().__init__(
            model=model,
            context_window=context_window,
            max_concurrency=max_concurrency,
            retry=RetryPolicy(max_retries=max_retries),
            timeout=timeout,
            **kwargs,
        )
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if key is None:
            if base_url is None:
                raise ConfigError(
                    "the OpenAI API needs a key: set OPENAI_API_KEY or pass api_key=, or give a "
                    "server URL as openai:MODEL@http://host:port/v1."
                )
            key = "not-needed"  # local servers accept any key
        self.base_url = base_url
        self._api_key = key
        self.extra_body = extra_body or {}
        self._client = None
        self._client_loop = None
        self._finalizer = None

    def _client_for_loop(self):
        # The SDK's connection pool belongs to the event loop that created it: keep one client
        # per loop, and close it on that loop once it is replaced or this backend is dropped.
        # A client left to the garbage collector leaves its sockets registered with the loop's
        # selector; when the OS reuses the fd, a new connection's replies go to the dead one
        # and the call hangs until its timeout (seen with the long-lived sync loop).
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            import openai

            self._release_client()
            self._client = openai.AsyncOpenAI(
                api_key=self._api_key, base_url=self.base_url, timeout=self.timeout, max_retries=0
            )
            self._client_loop = loop
            self._finalizer = weakref.finalize(self, _close_client, self._client, loop)
        return self._client

    def _release_client(self) -> None:
        finalizer = getattr(self, "_finalizer", None)
        if finalizer is not None:
            finalizer()  # runs _close_client once
        self._client = self._client_loop = self._finalizer = None

    def close(self) -> None:
        """Close the HTTP connections (also done automatically when the backend is dropped)."""
        self._release_client()

    def _request(self, messages: Messages, params: dict) -> dict:
        req: dict = {"model": self.model, "messages": messages}
        if params.get("max_tokens") is not None:
            # The OpenAI API renamed the field; compatible servers still read max_tokens.
            req["max_completion_tokens" if self.base_url is None else "max_tokens"] = params["max_tokens"]
        for name in ("temperature", "top_p", "stop", "seed", "response_format", "tools", "tool_choice"):
            if params.get(name) is not None:
                req[name] = params[name]
        if params.get("json_schema") is not None and "response_format" not in req:
            req["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "reply", "schema": params["json_schema"]},
            }
        extra = {**self.extra_body, **(params.get("extra_body") or {})}
        if extra:
            req["extra_body"] = extra
        return req

    async def generate(self, messages: Messages, **params) -> Completion:
        from openai.types.chat import ChatCompletion

        client = self._client_for_loop()
        request = self._request(messages, params)
        body = {**{k: v for k, v in request.items() if k != "extra_body"}, **request.get("extra_body", {})}
        log.debug("%s: POST /chat/completions to %s, %d messages", self.model, self.base_url or "OpenAI",
                  len(messages))  # fmt: skip
        try:
            # The SDK's own `chat.completions.create` runs its type transform over every message
            # first: 1.2 ms of CPU a call, a third of a batch's orchestration cost (bench_batch).
            # The body here is plain JSON already, so it goes to the same endpoint as it is.
            resp = await client.post("/chat/completions", cast_to=ChatCompletion, body=body)
        except Exception as exc:
            mapped = map_openai_error(exc, self.model)
            if mapped is None:
                raise
            raise mapped from exc
        if not resp.choices:
            raise ServerError(f"model {self.model!r}: the server returned no choices.", model=self.model)
        choice = resp.choices[0]
        usage = resp.usage
        calls = [
            {"id": c.id, "name": c.function.name, "arguments": c.function.arguments or "{}"}
            for c in (choice.message.tool_calls or [])
            if getattr(c, "function", None) is not None
        ]
        return Completion(
            text=choice.message.content or "",
            prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
            finish_reason=choice.finish_reason or "stop",
            model=resp.model or self.model,
            tool_calls=calls,
            raw=resp,
        )
