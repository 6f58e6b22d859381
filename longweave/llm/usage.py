"""What a model call cost, and the record of every call a pipeline made.

`Usage` totals calls, prompt and completion tokens and seconds, overall and per role (the
agent that made the call: "worker", "planner"...). It is updated from any thread or task, so
it takes a lock. `Trace` keeps each call's exact rendered messages and reply, so a user can
see every prompt (``print(result.trace)``), as dspy's ``inspect_history`` does; apart from the
calls it keeps events, what a run did without the model (a fallback plan, a resume), so a
user sees those too without mistaking them for calls.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field


@dataclass(slots=True)
class Completion:
    """One reply from a model.

    Attributes:
        text: the generated text.
        prompt_tokens: tokens in the prompt, as the backend counted them (estimated if it can't).
        completion_tokens: tokens generated.
        finish_reason: "stop" (natural end or stop sequence), "length" (hit max_tokens), ...
        model: the model that answered.
        seconds: wall time of the call, retries included (filled in by `LLM.complete`).
        tool_calls: native tool calls, OpenAI-shaped: ``{"id", "name", "arguments"}`` with
            ``arguments`` a JSON string (empty when the model called none or `tools` weren't sent).
        raw: the backend's own response object, for debugging; never serialised.
    """

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"
    model: str = ""
    seconds: float = 0.0
    tool_calls: list[dict] = field(default_factory=list)
    raw: object = field(default=None, repr=False, compare=False)


@dataclass(slots=True)
class UsageStats:
    """Counters for one role (or the total)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, other: UsageStats) -> None:
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.seconds += other.seconds


class Usage:
    """Thread-safe running totals, overall and per role.

    Example:
        >>> u = Usage(); u.record(Completion("hi", 3, 1, seconds=0.5), role="writer")
        >>> u.total.calls, u.by_role["writer"].prompt_tokens
        (1, 3)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = UsageStats()
        self.by_role: dict[str, UsageStats] = {}

    def record(self, completion: Completion, role: str | None = None) -> None:
        one = UsageStats(1, completion.prompt_tokens, completion.completion_tokens, completion.seconds)
        with self._lock:
            self.total.add(one)
            self.by_role.setdefault(role or "default", UsageStats()).add(one)

    def merge(self, other: Usage) -> None:
        with self._lock:
            self.total.add(other.total)
            for role, stats in other.by_role.items():
                self.by_role.setdefault(role, UsageStats()).add(stats)

    def to_dict(self) -> dict:
        with self._lock:
            return {
                "total": asdict(self.total),
                "by_role": {r: asdict(s) for r, s in self.by_role.items()},
            }

    def __repr__(self) -> str:
        t = self.total
        return (
            f"Usage(calls={t.calls}, prompt_tokens={t.prompt_tokens}, "
            f"completion_tokens={t.completion_tokens}, seconds={t.seconds:.2f})"
        )


@dataclass(slots=True)
class CallRecord:
    """One model call as it happened: who asked, exactly what was sent, what came back."""

    role: str
    messages: list[dict]
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    finish_reason: str = "stop"
    meta: dict = field(default_factory=dict)


@dataclass(slots=True)
class EventRecord:
    """Something a run did that was not a model call, kept in the trace so a user sees it.

    Attributes:
        role: the agent it concerns ("planner"...).
        event: what happened, a short name ("fallback_plan", "plan_problems").
        text: what to show (the plan that was used instead, the problems found).
        meta: more about it (``reason``...).
    """

    role: str
    event: str
    text: str = ""
    meta: dict = field(default_factory=dict)


class Trace:
    """The model calls of a run, and apart from them its events; safe to share between agents.

    `calls` holds the `CallRecord` of each model call, `events` each `EventRecord`. Iterating,
    indexing, ``len()``, `by_role` and `usage` see the calls; ``str()`` shows calls and events
    together, in the order they were added.

    Example:
        >>> t = Trace(); t.add(EventRecord("planner", "fallback_plan", "1. Intro (500 words)"))
        >>> len(t), [e.event for e in t.events]
        (0, ['fallback_plan'])
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[CallRecord] = []
        self.events: list[EventRecord] = []
        self._entries: list[CallRecord | EventRecord] = []

    @property
    def records(self) -> list[CallRecord]:
        """The model calls; the older name of `calls`."""
        return self.calls

    def add(self, record: CallRecord | EventRecord) -> None:
        """Append a call or an event."""
        with self._lock:
            (self.events if isinstance(record, EventRecord) else self.calls).append(record)
            self._entries.append(record)

    def entries(self) -> list[CallRecord | EventRecord]:
        """Calls and events together, in the order they were added (to copy them to another trace)."""
        with self._lock:
            return list(self._entries)

    def by_role(self, role: str) -> list[CallRecord]:
        return [r for r in self.calls if r.role == role]

    def usage(self) -> Usage:
        """Usage of the calls recorded here: one run's own, where the model's totals span every run."""
        usage = Usage()
        for r in self:
            usage.record(Completion(r.text, r.prompt_tokens, r.completion_tokens, seconds=r.seconds), r.role)
        return usage

    def __iter__(self) -> Iterator[CallRecord]:
        return iter(list(self.calls))

    def __len__(self) -> int:
        return len(self.calls)

    def __getitem__(self, i: int) -> CallRecord:
        return self.calls[i]

    def __str__(self) -> str:
        lines, calls = [], 0
        for r in self.entries():
            if isinstance(r, EventRecord):
                about = ", ".join(f"{k}={v}" for k, v in r.meta.items())
                lines.append(f"--- event [{r.role}] {r.event}" + (f" ({about})" if about else ""))
                lines.append(r.text)
                continue
            lines.append(
                f"--- call {calls} [{r.role}] {r.prompt_tokens}+{r.completion_tokens} tokens, "
                f"{r.seconds:.2f}s, finish={r.finish_reason}"
            )
            calls += 1
            for m in r.messages:
                lines.append(f"[{m['role']}]\n{m['content']}")
            lines.append(f"[reply]\n{r.text}")
        return "\n".join(lines)


def record_event(trace: Trace | None, role: str, event: str, text: str, **meta: object) -> None:
    """Put a non-call event (a fallback, a cut, a resume) in `trace`, so a user sees it."""
    if trace is not None:
        trace.add(EventRecord(role, event, text, meta))
