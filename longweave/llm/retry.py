"""When and how long to wait before retrying a failed model call."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff for transient backend errors.

    Attributes:
        max_retries: attempts after the first; 0 disables retrying.
        initial_backoff: seconds before the first retry.
        max_backoff: the longest wait between two attempts, Retry-After included: a server
            that asks for longer makes the call fail at once with `RateLimitError`.
        multiplier: growth of the wait per attempt.
        jitter: fraction of random spread added to each wait, so clients don't retry in step.
    """

    max_retries: int = 3
    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.1

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        if retry_after is not None:
            return max(0.0, retry_after)
        wait = min(self.max_backoff, self.initial_backoff * self.multiplier ** (attempt - 1))
        return wait * (1 + self.jitter * random.random())
