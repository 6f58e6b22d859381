"""Chain of Agents: workers read the chunks in order, passing notes; a manager answers from the last.

Zhang et al., 2024, "Chain of Agents: Large Language Models Collaborating on Long-Context
Tasks" (NeurIPS 2024). The input is split into chunks that leave room in the window for the
instruction, the query, the previous communication unit (CU) and the worker's own output;
worker i rewrites CU_{i-1} with chunk i and the query; the manager sees only the last CU.
Defaults from the paper: an 8k-token window and temperature 0 (greedy). The paper does not
fix the CU's length; ours is at most 512 tokens with a query and 1,024 without one (summaries
carry more), the "longer CU" for query-free tasks.

The graph is ``worker -> worker -> ... -> manager``; its state holds the chunk index and the
current CU, never chunk text (the pipeline holds the chunks, or reads them from a stream).

Deliberately not handled: reading chunks in parallel (the chain is sequential by design; its
cost is one pass over the input), and facts whose parts appear in the reverse of the order a
question needs them (a worker cannot know a later chunk will make an earlier fact relevant;
the paper reports the same limit).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TextIO, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from longweave.agents.manager import answer_from_unit
from longweave.agents.worker import render_worker, write_unit
from longweave.errors import BudgetError, ConfigError, InputError
from longweave.events import EventHandler, Progress
from longweave.llm import LLM, Trace
from longweave.pipelines._reading import ChunkFeed, ReadingResult
from longweave.pipelines.base import Pipeline
from longweave.pipelines.compose import NodeIO
from longweave.prompts import PromptOverride
from longweave.text.chunking import chunk, iter_chunks
from longweave.text.documents import Corpus, Document

log = logging.getLogger(__name__)

PAPER_WINDOW = 8192
# Chunking and the model's own prompt framing can differ by a few tokens at the seams.
_SAFETY_TOKENS = 16
_MIN_CHUNK_TOKENS = 64


class CoAState(TypedDict, total=False):
    """Graph state: the next chunk's index and the current CU (short), then the answer."""

    query: str | None
    fingerprint: str
    index: int
    unit: str
    answer: str


@dataclass
class _Run:
    """What one run's nodes share (LangGraph runtime context)."""

    feed: ChunkFeed
    query: str | None
    cu_tokens: int
    trace: Trace
    on_event: EventHandler | None
    units: list[str] = field(default_factory=list)

    def progress(self, stage: str, done: int, total: int | None) -> None:
        if self.on_event is not None:
            self.on_event(Progress(stage, done, total))


class ChainOfAgents(Pipeline):
    """Read a document of any length with a chain of worker agents and a manager.

    As a node of your own LangGraph graph (`longweave.as_node`), it reads and writes:

    | state key    | in/out | what |
    | ------------ | ------ | ---- |
    | ``document`` | in     | the text: str, `Document`, `Corpus` or a text stream |
    | ``query``    | in     | the question; absent: a summary |
    | ``answer``   | out    | the manager's answer (or summary) |

    With a ``checkpointer``, the node resumes inside the chain when the user's graph resumes.

    Args:
        llm: the model (an `LLM` or a spec such as "local").
        chunk_tokens: tokens of source per worker; default the most the window leaves room for.
        window: the context window to plan for; default min(8192 (the paper's), the model's).
        cu_tokens: the largest CU (worker output); default 512 with a query, 1,024 without.
        answer_tokens: the manager's output limit; default 256 with a query, 1,024 without.
        temperature: 0, as in the paper.
        prompts: overrides for "worker", "worker_summary", "manager", "manager_summary".
        checkpointer: a LangGraph checkpointer (e.g. ``SqliteSaver`` / ``AsyncSqliteSaver``
            from ``langgraph-checkpoint-sqlite``); with it, a run given a ``thread_id`` that
            stopped part-way (a crash, a failing server) resumes at the next chunk.

    Example:
        >>> from longweave.llm import ScriptedLLM
        >>> llm = ScriptedLLM(rules=[(r"<source>", "notes"), (r"<notes>", "42")])
        >>> ChainOfAgents(llm).run("A long text. " * 100, query="What is it?").answer
        '42'
    """

    node_io = NodeIO(
        {"document": "document", "query": "query"},
        ("document",),
        {"answer": "answer"},
        run_id="thread_id",
        resumable="checkpointer",
    )

    def __init__(
        self,
        llm: LLM | str,
        *,
        chunk_tokens: int | None = None,
        window: int | None = None,
        cu_tokens: int | None = None,
        answer_tokens: int | None = None,
        temperature: float = 0.0,
        prompts: dict[str, PromptOverride] | None = None,
        checkpointer=None,
    ) -> None:
        super().__init__(llm, prompts=prompts)
        self.checkpointer = checkpointer
        self.chunk_tokens = chunk_tokens
        self.window = window or min(PAPER_WINDOW, self.llm.context_window)
        self.cu_tokens = cu_tokens
        self.answer_tokens = answer_tokens
        self.temperature = temperature
        self._graph = None

    # -- budgets ---------------------------------------------------------------------------

    def _cu_tokens(self, query: str | None) -> int:
        return self.cu_tokens or (512 if query else 1024)

    def plan_chunk_tokens(self, query: str | None = None) -> int:
        """Tokens of source each worker gets: window - instruction - query - previous CU - output."""
        cu = self._cu_tokens(query)
        prompt = self.prompt("worker" if query else "worker_summary")
        fixed = self.llm.count_tokens(render_worker(prompt, "", "", query, cu))
        room = self.window - fixed - cu - cu - _SAFETY_TOKENS
        if self.chunk_tokens is not None:
            if self.chunk_tokens > room:
                raise BudgetError(
                    f"chunk_tokens={self.chunk_tokens} does not fit: the {self.window}-token window "
                    f"leaves {room} after the instruction and query ({fixed}), the previous notes "
                    f"({cu}) and the worker's output ({cu}); lower chunk_tokens or cu_tokens."
                )
            return self.chunk_tokens
        if room < _MIN_CHUNK_TOKENS:
            raise BudgetError(
                f"the {self.window}-token window leaves only {room} tokens of source per worker "
                f"after the instruction and query ({fixed}) and two notes of {cu}; use a model with "
                "a larger window, a shorter question, or a smaller cu_tokens."
            )
        return room

    # -- graph -------------------------------------------------------------------------------

    @property
    def graph(self):
        """The compiled LangGraph graph: START -> worker (loops over chunks) -> manager -> END."""
        if self._graph is None:
            g = StateGraph(CoAState, context_schema=_Run)
            g.add_node("worker", self._worker)
            g.add_node("manager", self._manager)
            g.add_edge(START, "worker")
            g.add_conditional_edges("worker", self._next, ["worker", "manager"])
            g.add_edge("manager", END)
            self._graph = g.compile(checkpointer=self.checkpointer)
        return self._graph

    async def _worker(self, state: CoAState, runtime: Runtime[_Run]) -> CoAState:
        run = runtime.context
        i = state.get("index", 0)
        prompt = self.prompt("worker" if run.query else "worker_summary")
        unit = await write_unit(
            self.llm,
            prompt,
            chunk=str(run.feed.get(i)),
            previous=state.get("unit", ""),
            query=run.query,
            cu_tokens=run.cu_tokens,
            temperature=self.temperature,
            trace=run.trace,
        )
        run.units.append(unit)
        log.debug("ChainOfAgents: worker %d of %s: %d characters", i + 1, run.feed.total or "?", len(unit))
        run.progress("worker", i + 1, run.feed.total)
        return {"index": i + 1, "unit": unit}

    def _next(self, state: CoAState, runtime: Runtime[_Run]) -> str:
        return "worker" if runtime.context.feed.has(state["index"]) else "manager"

    async def _manager(self, state: CoAState, runtime: Runtime[_Run]) -> CoAState:
        run = runtime.context
        query = run.query
        answer = await answer_from_unit(
            self.llm,
            self.prompt("manager" if query else "manager_summary"),
            notes=state.get("unit", ""),
            query=query,
            max_tokens=self.answer_tokens or (256 if query else 1024),
            temperature=self.temperature,
            trace=run.trace,
        )
        run.progress("manager", 1, 1)
        return {"answer": answer}

    # -- running ---------------------------------------------------------------------------

    async def arun(
        self,
        document: str | Document | Corpus | TextIO | Iterable[str],
        query: str | None = None,
        *,
        on_event: EventHandler | None = None,
        thread_id: str | None = None,
    ) -> ReadingResult:
        """Answer `query` about `document` (or summarise it when `query` is None).

        Args:
            document: a string, a `Document` or `Corpus`, or an open text stream / iterable
                of strings (read chunk by chunk, never held whole in memory).
            query: the question; None for a summary.
            on_event: called with a `longweave.events.Progress` after each worker (stage
                "worker", chunks done, of all; of None for a stream) and the manager.
            thread_id: with a checkpointer, the run's id: an unfinished run with this id
                resumes where it stopped (``communication_units`` then lists only new ones).

        Raises:
            InputError: the document is empty.
            BudgetError: the window leaves no room for source text.
        """
        query = query.strip() if query and query.strip() else None
        chunk_tokens = self.plan_chunk_tokens(query)
        tok = self.llm.tokenizer
        if isinstance(document, Document | Corpus):
            document = document.text
        if isinstance(document, str):
            feed = ChunkFeed(chunk(document, chunk_tokens, tok))
        else:
            feed = ChunkFeed(iter_chunks(document, chunk_tokens, tok))
        if not feed.has(0) or not str(feed.get(0)).strip() and not feed.has(1):
            raise InputError("the document is empty; pass text to read.")
        run = _Run(feed, query, self._cu_tokens(query), Trace(), on_event)
        log.info("ChainOfAgents: chunks of %d tokens, %s", chunk_tokens, "a question" if query else "summary")
        started = time.monotonic()
        config: dict = {"configurable": {}, "recursion_limit": (feed.total or 10_000_000) + 10}
        fingerprint = _fingerprint(document, query, chunk_tokens)
        start: CoAState | None = {"query": query, "fingerprint": fingerprint, "index": 0, "unit": ""}
        if thread_id is not None:
            if self.checkpointer is None:
                raise ConfigError("thread_id needs a checkpointer: ChainOfAgents(llm, checkpointer=...).")
            config["configurable"]["thread_id"] = thread_id
            saved = await self.graph.aget_state(config)
            if saved.next and saved.values.get("index", 0) > 0:
                if saved.values.get("fingerprint") != fingerprint:
                    raise InputError(
                        f"thread {thread_id!r} was started on another document, question or chunk "
                        "size; use a new thread_id, or pass the same input to resume."
                    )
                start = None  # resume after the last finished worker
                log.info("ChainOfAgents: thread %s resumes after chunk %d", thread_id, saved.values["index"])
                run.progress("worker", saved.values["index"], feed.total)
        state = await self.graph.ainvoke(start, config, context=run)
        log.info("ChainOfAgents: %d chunks read in %.1f s", state["index"], time.monotonic() - started)
        return ReadingResult(
            trace=run.trace,
            usage=run.trace.usage(),
            seconds=time.monotonic() - started,
            answer=state.get("answer", ""),
            method="coa",
            chunks=state["index"],
            communication_units=run.units,
            document_tokens=feed.tokens,
        )


def _fingerprint(document, query: str | None, chunk_tokens: int) -> str:
    """Identifies a run's input, so a resumed thread cannot continue on different text."""
    digest = hashlib.sha1(f"{query}\x00{chunk_tokens}\x00".encode())
    if isinstance(document, str):
        digest.update(document.encode("utf-8", "surrogatepass"))
    else:
        digest.update(repr(getattr(document, "name", "stream")).encode())
    return digest.hexdigest()


__all__ = ["ChainOfAgents", "CoAState"]
