"""`MemoryChat`: a conversation with a memory that outlives the window and the process (SCM).

Self-Controlled Memory (SCM, Wang et al. 2023): every exchange goes into a memory stream; for
each new message a controller decides whether memory is needed (here, by default, it always
is: see ``mode``), brings back the most relevant archived exchanges (relevance + recency) plus
the previous exchange as flash memory, and uses summaries when the full text would not fit.
The prompt therefore stays bounded by ``memory_budget`` + the message + the reply, whatever
the history's length, and a new process opened on the same folder remembers everything (the
stream lives in SQLite).

The graph, one pass per message::

    decide -> recall -> respond -> archive

State holds ids and short strings only; memories are read from the stream by id.

Deliberately not here: streaming tokens to a terminal (see ``cli/chat.py``), several users per
folder (one writer at a time), and forgetting (delete items with `MemoryStream.delete`).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from longweave._sync import run_sync
from longweave.agents.memory_controller import Activated, ActivatedMemory, MemoryController
from longweave.errors import BudgetError, InputError
from longweave.events import EventHandler, Notice
from longweave.llm import LLM, Completion, Trace
from longweave.memory.embedders import Embedder
from longweave.memory.stream import MemoryItem, MemoryStream
from longweave.pipelines.base import Pipeline, Result
from longweave.pipelines.compose import NodeIO
from longweave.prompts import PromptOverride

log = logging.getLogger(__name__)


@dataclass
class ChatResult(Result):
    """One exchange.

    Attributes:
        reply: the assistant's answer.
        turn: the turn number this exchange was stored under.
        needed_memory: whether the controller retrieved archived memory.
        memories: the activated memories (item id, turn, whether as summary, whether flash).
        prompt_tokens: tokens of the response prompt.
    """

    reply: str = ""
    turn: int = 0
    needed_memory: bool = False
    memories: list[dict] = field(default_factory=list)
    prompt_tokens: int = 0


class _State(TypedDict, total=False):
    message: str
    needed: bool
    memories: list[dict]
    reply: str
    prompt_tokens: int
    turn: int


@dataclass
class _Run:
    """What one exchange's nodes share (LangGraph runtime context)."""

    trace: Trace
    on_event: EventHandler | None = None


class MemoryChat(Pipeline):
    """A chat whose memory is an SCM memory stream with a memory controller.

    As a node of your own LangGraph graph (`longweave.as_node`), it reads and writes:

    | state key   | in/out | what |
    | ----------- | ------ | ---- |
    | ``message`` | in     | the user's message (required) |
    | ``reply``   | out    | the assistant's answer |

    Args:
        llm: the model (an `LLM` or a spec for `load_llm`).
        path: folder of the memory (created if needed); None keeps memory in RAM only.
        embedder: embedder or spec; None reuses the one the folder was built with ("hash" if new).
        mode: "always" (default: retrieve for every message), "ask" (the model decides
            whether memory is needed, as SCM does) or "never". "ask" is not the default: the
            embedded 0.5B model answered "no" for each of 5 questions about facts the user had
            told it (issue 15), and retrieving costs no model call while asking costs one per
            message; what "always" costs is memory tokens in every prompt, within the budget.
        top_k: archived memories brought back at most (SCM keeps a few; default 5).
        memory_budget: tokens the activated memory may take in the prompt (default 1024);
            lowered automatically when the window is smaller.
        max_reply_tokens: the longest reply (default 512).
        prompts: overrides for "memory_chat", "memory_controller", "memory_summarizer".
        **controller_options: recency_weight, recency_half_life, candidates, summary_tokens.

    Example:
        >>> from longweave.llm import ScriptedLLM
        >>> chat = MemoryChat(ScriptedLLM(default="noted"), mode="always")
        >>> chat.send("my name is Ada")
        'noted'
    """

    node_io = NodeIO({"message": "message"}, ("message",), {"reply": "reply"})

    def __init__(
        self,
        llm: LLM | str,
        *,
        path: str | os.PathLike | None = None,
        embedder: Embedder | str | None = None,
        mode: str = "always",
        top_k: int = 5,
        memory_budget: int = 1024,
        max_reply_tokens: int = 512,
        prompts: dict[str, PromptOverride] | None = None,
        **controller_options,
    ) -> None:
        super().__init__(llm, prompts=prompts)
        if memory_budget < 1 or max_reply_tokens < 1:
            raise BudgetError("memory_budget and max_reply_tokens must be at least 1 token.")
        self.stream = MemoryStream(path, embedder=embedder, tokenizer=self.llm.tokenizer)
        self.controller = MemoryController(
            self.llm,
            self.stream,
            mode=mode,
            top_k=top_k,
            prompts=self._prompt_overrides,
            **controller_options,
        )
        self.memory_budget, self.max_reply_tokens = memory_budget, max_reply_tokens
        self._graph = None

    # -- the graph -----------------------------------------------------------------------

    @property
    def graph(self):
        """The compiled LangGraph graph (decide -> recall -> respond -> archive)."""
        if self._graph is None:
            g = StateGraph(_State, context_schema=_Run)
            g.add_node("decide", self._decide)
            g.add_node("recall", self._recall)
            g.add_node("respond", self._respond)
            g.add_node("archive", self._archive)
            g.add_edge(START, "decide")
            g.add_edge("decide", "recall")
            g.add_edge("recall", "respond")
            g.add_edge("respond", "archive")
            g.add_edge("archive", END)
            self._graph = g.compile()
        return self._graph

    async def _decide(self, state: _State, runtime: Runtime[_Run]) -> dict:
        needed = await self.controller.needs_memory(state["message"], trace=runtime.context.trace)
        return {"needed": needed}

    def _room(self, message: str) -> int:
        """Tokens left for memory once the prompt's fixed part and the reply are counted."""
        fixed = self.llm.count_tokens(self.prompt("memory_chat").render(memory="", message=message))
        return self.llm.context_window - self.max_reply_tokens - fixed - 16

    async def _recall(self, state: _State, runtime: Runtime[_Run]) -> dict:
        budget = min(self.memory_budget, self._room(state["message"]))
        memory = await self.controller.activate(
            state["message"],
            budget_tokens=max(0, budget),
            needed=state["needed"],
            trace=runtime.context.trace,
        )
        log.debug("MemoryChat: %d memories recalled within %d tokens", len(memory.all), max(0, budget))
        memories = [_describe(a) for a in memory.all]
        if runtime.context.on_event is not None:
            runtime.context.on_event(
                Notice("recalled", details={"needed": state["needed"], "memories": memories})
            )
        return {"memories": memories}

    async def _respond(self, state: _State, runtime: Runtime[_Run]) -> dict:
        memory = self._rebuild(state["memories"])
        messages = self.prompt("memory_chat").render(memory=memory.notes(), message=state["message"])
        messages[-1:-1] = memory.messages()  # recalled exchanges as earlier turns, then the message
        reply = await self.llm.complete(
            messages, role="memory_chat", trace=runtime.context.trace, max_tokens=self.max_reply_tokens
        )
        return {"reply": reply.text.strip(), "prompt_tokens": reply.prompt_tokens}

    async def _archive(self, state: _State) -> dict:
        return {"turn": self.record(state["message"], state["reply"]).turn}

    def _rebuild(self, described: list[dict]) -> ActivatedMemory:
        items = {it.id: it for it in self.stream.items([d["id"] for d in described])}
        memory = ActivatedMemory()
        for d in described:
            if d["id"] in items:
                act = Activated(items[d["id"]], as_summary=d["as_summary"], flash=d["flash"])
                (memory.flash if d["flash"] else memory.archived).append(act)
        return memory

    # -- entry points --------------------------------------------------------------------

    async def arun(self, message: str, *, on_event: EventHandler | None = None) -> ChatResult:
        """Answer `message` with memory, store the exchange, and return the full result.

        `on_event` gets a `longweave.events.Notice` "recalled" (``needed``: whether the
        controller asked for memory; ``memories``: what was recalled) before the reply.
        """
        if not isinstance(message, str) or not message.strip():
            raise InputError("the message is empty; type something to say.")
        if self._room(message) < 0:
            raise BudgetError(
                f"this message alone does not fit {self.llm.model}'s {self.llm.context_window}-token "
                "window with room for a reply; send it in parts, or feed long documents with "
                "`longweave memory add` and ask about them."
            )
        started, trace = time.monotonic(), Trace()
        state = await self.graph.ainvoke({"message": message}, context=_Run(trace, on_event))
        result = ChatResult(
            trace=trace,
            seconds=time.monotonic() - started,
            reply=state["reply"],
            turn=state["turn"],
            needed_memory=state["needed"],
            memories=state["memories"],
            prompt_tokens=state["prompt_tokens"],
        )
        for r in trace:  # this exchange's usage, from its own calls
            result.usage.record(
                Completion(r.text, r.prompt_tokens, r.completion_tokens, seconds=r.seconds), r.role
            )
        return result

    async def asend(self, message: str) -> str:
        """Answer `message` (async); the exchange is stored in memory."""
        return (await self.arun(message)).reply

    def send(self, message: str) -> str:
        """Answer `message`; the exchange is stored in memory."""
        return run_sync(self.asend(message))

    def record(self, message: str, reply: str) -> MemoryItem:
        """Store one exchange as the next turn, without calling the model.

        Every exchange `send` answers is stored this way; call it to import an earlier
        conversation, or to replay one in a test or benchmark.
        """
        return self.stream.add(f"User: {message}\nAssistant: {reply}", role="dialogue")

    def close(self) -> None:
        """Save the vector index and close the memory. Safe to call twice."""
        self.stream.close()

    def __enter__(self) -> MemoryChat:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _describe(act: Activated) -> dict:
    return {"id": act.item.id, "turn": act.item.turn, "as_summary": act.as_summary, "flash": act.flash}
