"""The errors longweave raises, one tree so callers can catch at the level they need.

Every message is a sentence that says what went wrong *and what to do*; the CLIs print it
as-is and exit with status 2 for the user's own mistakes (config, input, budget) and 1 for
the rest.

::

    LongweaveError
    ├── ConfigError              bad model spec, missing optional extra, bad option
    ├── InputError               empty, binary, unreadable or oversized input, an unusable plan
    │   └── PathRefused          a file-store path that leads out of the store or into its folder
    ├── BudgetError              a budget that cannot be met (window too small, target too large)
    ├── ParseError               text that should hold a structure (plan, list, JSON) could not be read
    │   └── MalformedOutput      a model's reply could not be parsed, even after repair (carries model)
    │       └── SectionFailed    every try at a section came back empty or error-like
    ├── CheckpointError          a stored run is inconsistent; also a RuntimeError
    └── BackendError             the model or its server failed (carries model, status)
        ├── RateLimitError       429; transient, carries retry_after (seconds)
        ├── ServerError          5xx; transient
        ├── ConnectionFailed     could not reach the server; transient
        ├── BackendTimeout       no answer within the timeout; transient; also a TimeoutError
        ├── RequestRejected      other 4xx, never retried; carries the server's own message
        └── ContextWindowExceeded  the prompt does not fit the model's window

A parse error is not a backend error: the model answered, and what it said (or what the
caller gave) is the problem, so catching `BackendError` to retry a server never swallows it.
The public plan parsers (`longweave.agents.plan_parser.parse_plan`,
`longweave.agents.plan.normalize_plan`) raise `MalformedOutput` whatever the text's source;
where a user's own plan comes in (`user_plan`, a plan file, CogWriter's units) the problem is
raised as an `InputError` instead.

`BackendError.transient` tells the retry loop in `longweave.llm.LLM.complete` which failures
are worth another attempt. This module deliberately holds no logic beyond formatting.
"""

from __future__ import annotations


class LongweaveError(Exception):
    """Root of every error longweave raises on purpose."""


class ConfigError(LongweaveError):
    """The library was configured wrongly: fix the spec, option or install named in the message."""


class InputError(LongweaveError):
    """The input cannot be used as given (empty, binary, unreadable, too large)."""


class PathRefused(InputError):
    """A path that leads outside the file store, or into its private folder."""


class BudgetError(LongweaveError):
    """A token or word budget cannot be met with the settings given."""


class ParseError(LongweaveError):
    """Text that should hold a structure (a plan, a numbered list, JSON) could not be read."""


class MalformedOutput(ParseError):
    """The model's reply could not be parsed into what the caller needs, even after repair.

    Attributes:
        model: the model that wrote the reply, when known.
    """

    def __init__(self, message: str, *, model: str | None = None):
        super().__init__(message)
        self.model = model


class SectionFailed(MalformedOutput):
    """A section could not be written after the allowed retries; nothing of it was kept."""


class CheckpointError(LongweaveError, RuntimeError):
    """A checkpointed run is inconsistent (a record it needs is missing); start the run anew."""


class BackendError(LongweaveError):
    """A model backend failed.

    Attributes:
        model: the model name, when known.
        status: the HTTP status, for HTTP backends.
        transient: whether retrying the same request may succeed.
    """

    transient: bool = False

    def __init__(self, message: str, *, model: str | None = None, status: int | None = None):
        super().__init__(message)
        self.model = model
        self.status = status


class RateLimitError(BackendError):
    """The server asked us to slow down (HTTP 429). `retry_after` is in seconds, or None."""

    transient = True

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        status: int | None = 429,
        retry_after: float | None = None,
    ):
        super().__init__(message, model=model, status=status)
        self.retry_after = retry_after


class ServerError(BackendError):
    """The server failed on its side (HTTP 5xx)."""

    transient = True


class ConnectionFailed(BackendError):
    """The server could not be reached."""

    transient = True


class BackendTimeout(BackendError, TimeoutError):
    """No complete answer arrived within the timeout; ``except TimeoutError`` catches it too."""

    transient = True


class RequestRejected(BackendError):
    """The server refused the request (HTTP 4xx other than 429); retrying will not help."""


class ContextWindowExceeded(BackendError):
    """The prompt (plus the requested completion) does not fit the model's context window."""


__all__ = [
    "BackendError",
    "BackendTimeout",
    "BudgetError",
    "CheckpointError",
    "ConfigError",
    "ConnectionFailed",
    "ContextWindowExceeded",
    "InputError",
    "LongweaveError",
    "MalformedOutput",
    "ParseError",
    "PathRefused",
    "RateLimitError",
    "RequestRejected",
    "SectionFailed",
    "ServerError",
]
