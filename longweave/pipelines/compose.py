"""Build your own pipeline: longweave's pipelines, agents and memories as LangGraph nodes.

A LangGraph node is a function ``(state, config) -> update``. This module makes such functions
from longweave's parts, so a user wires them in their own ``StateGraph`` with LangGraph's own
API (edges, ``Send`` fan-out, checkpointers, ``max_concurrency``), nothing else:

- `as_node(pipeline)` (also ``pipeline.as_node()``) runs a whole pipeline (ChainOfAgents,
  AgentWrite, ...) as one node. It reads the pipeline's inputs from the state keys its class
  declares (``node_io``, a `NodeIO`, tabled in each pipeline's docstring), writes the outputs
  back, and, when the user's graph runs with a checkpointer and a ``thread_id``, gives a
  resumable pipeline (ChainOfAgents with a ``checkpointer``; AgentWrite, CogWriter or Report
  with a ``checkpoint`` file) a run id derived from that thread, the node and its inputs. A
  user's run that stops inside the node resumes *inside* it: the outer checkpoint skips
  finished nodes, the pipeline's own checkpoint skips finished steps.
- `agent_node(fn, inputs=..., output=...)` calls one agent (any function or method, sync or
  async) with arguments taken from the state.
- `remember_node(memory)` and `recall_node(memory)` add text to a `Memory` (DocumentMemory,
  LongMemBank) and retrieve passages from it.

Why a pipeline runs as a node rather than being added as a raw subgraph: each pipeline keeps
its run's bulk outside the graph state (ChainOfAgents' chunks and trace in its LangGraph
runtime context, AgentWrite's text in the `TextStore` of its checkpoint),
so that checkpoints stay small. `as_node` sets those up exactly as ``pipeline.arun`` does, and
runs the pipeline in a context of its own: the pipeline's graph does not inherit the user's
graph config, callbacks or checkpointer, and its checkpoints live where the pipeline keeps them.
``pipeline.graph`` stays available for drawing (``draw_mermaid()``) and inspection.

Each node can also append its usage (calls and tokens per role) to a state key declared as
`UsageLog`, so a composed run can report tokens per agent, and hand the full `Result`
(trace included) to an ``on_result`` callback instead of putting it in the state.

A pipeline's events (`longweave.events`) reach the user's graph stream: run it with
``stream_mode="custom"`` and each event arrives as ``{"node": name, "event": event}``; an
``on_event=`` given to `as_node` is called with each event too.

Deliberately not here: a graph builder of our own (use ``StateGraph``) and sync nodes (every
node is ``async``; invoke the user's graph with ``ainvoke``/``astream``, or ``asyncio.run``).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import operator
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import var_child_runnable_config
from langgraph.config import get_stream_writer

from longweave.errors import ConfigError
from longweave.events import Event, EventHandler
from longweave.pipelines.text_store import fingerprint

if TYPE_CHECKING:  # base.py imports this module: `Pipeline.as_node` is `as_node`
    from longweave.pipelines.base import Pipeline, Result

Node = Callable[[dict, RunnableConfig], Awaitable[dict]]
Inputs = Mapping[str, str] | Callable[[dict], dict]
Outputs = Mapping[str, str] | Callable[[Any, dict], dict]

UsageLog = Annotated[list[dict], operator.add]
"""State key type for usage records: ``usage: UsageLog`` in the user's state TypedDict.

Each record is ``{"node", "role", "calls", "prompt_tokens", "completion_tokens", "seconds"}``;
`operator.add` concatenates the records of parallel branches.
"""


@dataclass(frozen=True)
class NodeIO:
    """How a pipeline class maps to graph state when run by `as_node` (and to input fields
    when run by `run_many`): each pipeline class declares one as its ``node_io``.

    Attributes:
        inputs: ``arun`` parameter -> state key read for it.
        required: the inputs a run cannot do without (missing ones raise `ConfigError`).
        outputs: state key -> attribute of the pipeline's result written to it.
        run_id: the ``arun`` parameter naming a resumable run, or None.
        resumable: the pipeline attribute that must be set for runs to resume.
    """

    inputs: dict[str, str]
    required: tuple[str, ...]
    outputs: dict[str, str]
    run_id: str | None = None
    resumable: str | None = None


def as_node(
    pipeline: Pipeline,
    *,
    inputs: Inputs | None = None,
    outputs: Outputs | None = None,
    usage_key: str | None = None,
    on_result: Callable[[str, Result], None] | None = None,
    on_event: EventHandler | None = None,
    **fixed: Any,
) -> Node:
    """Make `pipeline` a node of a user's LangGraph graph.

    Args:
        pipeline: any longweave pipeline (or your own `Pipeline` subclass, with `inputs` and
            `outputs` given, or a ``node_io`` declared on its class).
        inputs: ``{arun parameter: state key}``, or a function ``state -> arun kwargs``
            (e.g. to load a file named in the state). Default: the class's ``node_io``.
        outputs: ``{state key: result attribute}``, or a function ``(result, state) -> update``
            (e.g. to key a summary by file for a reducer). Default: the class's ``node_io``.
        usage_key: a state key declared as `UsageLog`; the run's usage per role is appended.
        on_result: called as ``on_result(node_name, result)`` after each run, to keep the
            full result (trace, plan, citations...) outside the state.
        on_event: called with each of the pipeline's `longweave.events` events; they also go
            to the graph's stream as ``{"node": name, "event": event}`` (``stream_mode="custom"``).
        **fixed: further ``arun`` arguments, the same for every call.

    Returns:
        ``async def node(state, config) -> dict``, for ``StateGraph.add_node(name, node)``.

    Raises:
        ConfigError: (when the node runs) a required input is missing from the state.

    Example:
        >>> from langgraph.graph import StateGraph, START, END
        >>> from typing import TypedDict
        >>> from longweave import ChainOfAgents, ScriptedLLM
        >>> class S(TypedDict, total=False):
        ...     document: str
        ...     query: str
        ...     answer: str
        >>> llm = ScriptedLLM(rules=[(r"<source>", "notes"), (r"<notes>", "42")])
        >>> g = StateGraph(S)
        >>> _ = g.add_node("read", as_node(ChainOfAgents(llm)))
        >>> _ = g.add_edge(START, "read")
        >>> import asyncio
        >>> asyncio.run(g.compile().ainvoke({"document": "Text. " * 50, "query": "What?"}))["answer"]
        '42'
    """
    io: NodeIO | None = getattr(pipeline, "node_io", None)
    if io is None and (inputs is None or outputs is None):
        raise ConfigError(
            f"{type(pipeline).__name__} has no default state keys; pass inputs={{...}} and outputs={{...}}."
        )
    resumable = io is not None and io.run_id is not None and getattr(pipeline, io.resumable or "", None)
    sends_events = "on_event" in inspect.signature(pipeline.arun).parameters

    async def node(state: dict, config: RunnableConfig) -> dict:
        name = _node_name(config)
        kwargs = _arguments(state, inputs if inputs is not None else io.inputs, io, name)
        if resumable and io.run_id not in fixed:
            thread = config.get("configurable", {}).get("thread_id")
            if thread is not None:
                kwargs[io.run_id] = f"{thread}/{name}/{fingerprint(kwargs)}"
        if sends_events:
            kwargs["on_event"] = _forward(name, on_event)
        result = await isolated(pipeline.arun(**kwargs, **fixed))
        if on_result is not None:
            on_result(name, result)
        update = _update(result, state, outputs if outputs is not None else io.outputs)
        if usage_key is not None:
            update[usage_key] = usage_records(name, result)
        return update

    node.__name__ = f"{type(pipeline).__name__.lower()}_node"
    return node


def agent_node(
    fn: Callable[..., Any],
    *,
    inputs: Inputs,
    output: str | Callable[[Any, dict], dict],
    **fixed: Any,
) -> Node:
    """Make one agent call (any function or bound method, sync or async) a graph node.

    Args:
        fn: e.g. ``Summarizer(llm, load_prompt("summarizer")).update`` or your own function.
        inputs: ``{parameter: state key}`` or a function ``state -> kwargs``.
        output: the state key the return value is written to, or ``(value, state) -> update``.
        **fixed: arguments passed on every call (a ``trace=`` to record the calls, limits...).

    Example:
        >>> import asyncio
        >>> def shout(text: str) -> str:
        ...     return text.upper()
        >>> node = agent_node(shout, inputs={"text": "text"}, output="loud")
        >>> asyncio.run(node({"text": "hi"}, {}))
        {'loud': 'HI'}
    """

    async def node(state: dict, config: RunnableConfig) -> dict:
        kwargs = _arguments(state, inputs, None, _node_name(config))
        value = fn(**kwargs, **fixed)
        if inspect.isawaitable(value):
            value = await isolated(value)
        return {output: value} if isinstance(output, str) else dict(output(value, state))

    node.__name__ = f"{getattr(fn, '__name__', 'agent')}_node"
    return node


def remember_node(memory: Any, *, text_key: str = "text", source_key: str | None = None) -> Node:
    """A node that adds the text under `text_key` to `memory` (a `Memory`: DocumentMemory,
    LongMemBank), with the source named under `source_key`. It changes no state keys."""

    async def node(state: dict, config: RunnableConfig) -> dict:
        text = state.get(text_key)
        if text is None:
            raise ConfigError(
                f"node {_node_name(config)!r} needs the state key {text_key!r} (the text to remember)."
            )
        texts = text if isinstance(text, list) else [text]
        source = state.get(source_key) if source_key else None
        await asyncio.to_thread(lambda: [memory.add(t, source=source) for t in texts])
        return {}

    return node


def recall_node(
    memory: Any,
    *,
    query_key: str = "query",
    output: str = "passages",
    k: int = 5,
    budget_tokens: int | None = None,
) -> Node:
    """A node that retrieves the `k` passages of `memory` nearest the query under `query_key`
    and writes them to `output` as dicts ``{"text", "source", "score"}`` (JSON-like state)."""

    async def node(state: dict, config: RunnableConfig) -> dict:
        query = state.get(query_key)
        if not query:
            raise ConfigError(
                f"node {_node_name(config)!r} needs the state key {query_key!r} (what to recall)."
            )
        found = await asyncio.to_thread(memory.retrieve, query, k, budget_tokens)
        return {output: [{"text": p.text, "source": p.source, "score": float(p.score)} for p in found]}

    return node


def usage_records(node: str, result: Result) -> list[dict]:
    """One `UsageLog` record per role of `result.usage`."""
    return [
        {
            "node": node,
            "role": role,
            "calls": u.calls,
            "prompt_tokens": u.prompt_tokens,
            "completion_tokens": u.completion_tokens,
            "seconds": round(u.seconds, 4),
        }
        for role, u in sorted(result.usage.by_role.items())
    ]


def tally(records: list[dict], by: str = "role") -> dict[str, dict[str, float]]:
    """Sum `UsageLog` records by "role" or "node": ``{name: {"calls", "prompt_tokens", ...}}``."""
    totals: dict[str, dict[str, float]] = {}
    for r in records:
        t = totals.setdefault(r[by], {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "seconds": 0.0})
        for key in t:
            t[key] += r[key]
    return totals


async def isolated(awaitable: Awaitable[Any]) -> Any:
    """Await `awaitable` outside the calling node's LangGraph run config.

    Inside a node, LangGraph (through langchain-core's context variable) makes any graph
    invoked there a subgraph of the running one, with its config, checkpointer and namespace.
    A pipeline run by `as_node` keeps its own checkpoint, so it starts from a clean context.
    """
    context = contextvars.copy_context()
    context.run(var_child_runnable_config.set, None)
    return await asyncio.create_task(_wrap(awaitable), context=context)


async def _wrap(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _forward(name: str, on_event: EventHandler | None) -> EventHandler:
    """A handler that gives each event to `on_event` and to the running graph's stream."""
    try:
        write = get_stream_writer()  # a no-op unless the graph streams "custom"
    except RuntimeError:  # the node called outside a graph
        write = None

    def forward(event: Event) -> None:
        if on_event is not None:
            on_event(event)
        if write is not None:
            write({"node": name, "event": event})

    return forward


def _node_name(config: RunnableConfig) -> str:
    return (config.get("metadata") or {}).get("langgraph_node", "node")


def _arguments(state: dict, inputs: Inputs, io: NodeIO | None, name: str) -> dict:
    if callable(inputs):
        return dict(inputs(state))
    kwargs = {param: state[key] for param, key in inputs.items() if state.get(key) is not None}
    required = io.required if io is not None else tuple(inputs)
    missing = [inputs[p] for p in required if p in inputs and p not in kwargs]
    if missing:
        raise ConfigError(
            f"node {name!r} needs the state key(s) {', '.join(map(repr, missing))}; set them in the "
            "graph's input or an earlier node, or map other keys with inputs={...}."
        )
    return kwargs


def _update(result: Any, state: dict, outputs: Outputs) -> dict:
    if callable(outputs):
        return dict(outputs(result, state))
    return {key: getattr(result, attr) for key, attr in outputs.items()}


__all__ = [
    "Node",
    "NodeIO",
    "UsageLog",
    "agent_node",
    "as_node",
    "isolated",
    "recall_node",
    "remember_node",
    "tally",
    "usage_records",
]
