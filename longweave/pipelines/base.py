"""What every pipeline shares: the result shape and the sync/async entry points.

A pipeline is a class that builds a compiled LangGraph graph (``.graph``) and runs it.
`Pipeline.run` is the synchronous entry point for scripts and notebooks; `arun` is the
async one. Each result carries the pipeline's output plus ``trace`` (every model call with
its exact prompt) and ``usage`` (calls, tokens, seconds, per role).

Deliberately not here: anything graph-specific; each pipeline module owns its graph.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

from longweave._sync import run_sync
from longweave.events import Event
from longweave.llm import LLM, Trace, Usage, load_llm
from longweave.pipelines.compose import Node, NodeIO, as_node
from longweave.prompts import PromptOverride, PromptTemplate, load_prompt


@dataclass
class Result:
    """Common part of every pipeline's result.

    Attributes:
        trace: every model call the run made, with its rendered messages; apart from them,
            ``trace.events`` holds what the run did without the model (a fallback plan...).
        usage: totals of those calls, overall and per role.
        seconds: wall time of the run.
    """

    trace: Trace = field(default_factory=Trace)
    usage: Usage = field(default_factory=Usage)
    seconds: float = 0.0


def event_fields(event: Event) -> str:
    """A progress event's short fields as ``key=value`` for a log line (long text left out)."""
    return " ".join(
        f"{k}={v}"
        for k, v in event.to_dict().items()
        if k != "event" and isinstance(v, int | float | str) and len(str(v)) <= 80
    )


class Pipeline(ABC):
    """Base of the pipelines: holds the model and the prompt overrides.

    Subclasses implement ``async def arun(...)`` and usually a ``graph`` property, and
    declare ``node_io``: the state keys `as_node` (and the input fields `run_many`) map to
    ``arun``'s parameters and from the result, as the table in their docstring shows. A
    subclass keeps its base's; your own pipeline without one passes ``inputs`` and ``outputs``.
    """

    node_io: ClassVar[NodeIO | None] = None

    def __init__(self, llm: LLM | str, *, prompts: dict[str, PromptOverride] | None = None) -> None:
        self.llm = load_llm(llm)
        self._prompt_overrides = dict(prompts or {})

    def prompt(self, agent: str) -> PromptTemplate:
        """The prompt template `agent` uses in this pipeline (packaged, or the user's override)."""
        return load_prompt(agent, self._prompt_overrides.get(agent))

    @abstractmethod
    async def arun(self, *args, **kwargs) -> Result:
        """Run the pipeline to completion; each pipeline defines its own inputs."""

    def run(self, *args, **kwargs) -> Result:
        """Run the pipeline to completion from synchronous code (also inside Jupyter)."""
        return run_sync(self.arun(*args, **kwargs))

    def as_node(self, **options) -> Node:
        """This pipeline as a node of your own LangGraph graph; see `longweave.as_node`."""
        return as_node(self, **options)
