"""Progress events: what a pipeline tells its caller while it runs, through one callback.

Every pipeline's ``run``/``arun`` (and `run_many`, `RAGIndex.build`) takes ``on_event``, a
callable of one argument, and calls it with the records below as the run goes; the CLIs draw
their progress from them and `as_node` forwards them into a user's graph stream. Each record
has a ``kind``, its name in a log ("plan", "step_done", ...), and ``to_dict()``, a flat,
JSON-ready dict with ``"event": kind``.

- `PlanReady`: the plan is known (made, the user's, or read back on resume): AgentWrite,
  CogWriter and Report send their sections, L2MAC its instruction registry.
- `Resumed`: a run continues from its checkpoint (the writers).
- `StepStarted`, `StepDone`: a step (a section, a unit, an instruction, a batch item) begins
  and ends; ``StepDone.ok`` is False when it ended without doing its job.
- `StepFailed`: a step could not be done and the run stops (the writers; `SectionFailed` follows).
- `Progress`: a count moved (chunks read, passages embedded): the readers, `RAGIndex.build`, Report.
- `Notice`: anything else, named by its ``kind``, with details: L2MAC's "restart",
  "check_failed", "no_effect", "repair"; Report's "indexed", "bibliography"; `run_many`'s
  "batch_start", "batch_done".

Example:
    >>> from longweave import AgentWrite, ScriptedLLM, events
    >>> llm = ScriptedLLM(rules=[(r"Write about (\\d+) words", lambda m, _: "word " * int(m[1]))])
    >>> seen = []
    >>> _ = AgentWrite(llm).run("Write a 100-word note.", on_event=seen.append)
    >>> [e.kind for e in seen], [e.words for e in seen if isinstance(e, events.StepDone)]
    (['plan', 'step_start', 'step_done'], [100])

Deliberately not here: logging (a handler may log) and queues: a handler is called in the
run's own task, so it should return quickly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar


class Event:
    """Base of the events; ``kind`` names it in logs and in `to_dict`."""

    __slots__ = ()
    kind: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        """The event as one flat dict: ``{"event": kind, **fields}``, ``details`` spread in."""
        out: dict[str, Any] = {"event": self.kind}
        for f in fields(self):  # type: ignore[arg-type]
            if f.name == "details":
                out.update(getattr(self, f.name))
            elif f.name != "kind":
                out[f.name] = getattr(self, f.name)
        return out


EventHandler = Callable[[Event], None]
"""The one callback signature: ``on_event(event)``."""


@dataclass(frozen=True, slots=True)
class PlanReady(Event):
    """The plan is known (made now, given by the user, or read back from the checkpoint).

    Attributes:
        sections: the writers' sections as dicts (``title``, ``point``, ``words``); for L2MAC
            the instructions, ``{"title": headline, "instruction": full text}``.
        source: where it came from ("model", "repaired", "fallback", "user", "single"...).
        dropped: steps left out of it (L2MAC: ones the sandbox cannot do).
    """

    kind: ClassVar[str] = "plan"
    sections: list[dict]
    source: str = ""
    dropped: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Resumed(Event):
    """A run continues from its checkpoint with this much already done."""

    kind: ClassVar[str] = "resume"
    sections_done: int
    words_done: int = 0


@dataclass(frozen=True, slots=True)
class StepStarted(Event):
    """A step begins.

    Attributes:
        index: its place, from 0 (a section, a unit, an instruction, a batch item's input line).
        title: its name (a section's title, an instruction's headline, an item's id).
        words: the words it is asked for (the writers' budget), else 0.
        instruction: L2MAC: the instruction's full text.
    """

    kind: ClassVar[str] = "step_start"
    index: int
    title: str
    words: int = 0
    instruction: str = ""


@dataclass(frozen=True, slots=True)
class StepDone(Event):
    """A step ended.

    Attributes:
        index, title: as for `StepStarted`.
        ok: False when the step ended without doing its job (an L2MAC step not done, a batch
            item that raised); ``reason`` says why.
        words: words it wrote (its heading included, as the total counts them); ``budget``:
            the words it was asked for.
        calls, completion_tokens, seconds: what writing it cost.
        text: the writers' whole text so far, to save as it grows.
        details: what else the pipeline reports: Report's ``citations``, ``failed``,
            ``revised``, ``dropped``; CogWriter's ``passed``, ``revisions``; L2MAC's
            ``changed``, ``written``, ``summary``; `run_many`'s ``record``, ``kept``.
    """

    kind: ClassVar[str] = "step_done"
    index: int
    title: str = ""
    ok: bool = True
    reason: str = ""
    words: int = 0
    budget: int = 0
    calls: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    text: str = ""
    details: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StepFailed(Event):
    """A step could not be done and the run stops (the writers then raise `SectionFailed`)."""

    kind: ClassVar[str] = "step_failed"
    index: int
    title: str
    error: str


@dataclass(frozen=True, slots=True)
class Progress(Event):
    """A count moved: ``stage`` ("worker", "manager", "reader", "index", "cached"), done of total."""

    kind: ClassVar[str] = "progress"
    stage: str
    done: int
    total: int | None = None


@dataclass(frozen=True, slots=True)
class Notice(Event):
    """Something else worth telling, named by `kind` ("check_failed", "indexed", ...).

    Attributes:
        kind: what happened; each sender documents its names and their ``details``.
        index: the step it concerns, if any.
        details: its data (L2MAC's ``feedback``, Report's ``passages``...).
    """

    kind: str  # type: ignore[misc]  # a field here: a notice names itself
    index: int | None = None
    details: dict = field(default_factory=dict)


__all__ = [
    "Event",
    "EventHandler",
    "Notice",
    "PlanReady",
    "Progress",
    "Resumed",
    "StepDone",
    "StepFailed",
    "StepStarted",
]
