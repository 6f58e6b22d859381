"""FullContext: the whole document in one prompt, the baseline for documents that fit.

Chain of Agents (Zhang et al., 2024) compares against this "full context" baseline, truncating
what does not fit; here nothing is truncated silently: a document that does not fit the window
(with the instruction, the question and room for the answer) raises `BudgetError` naming the
sizes and the pipelines that can read it.

Deliberately not handled: truncation strategies (keep the start, keep both ends); a user who
wants them cuts the text themselves and says so.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from longweave.agents.reasoner import answer_from_passages
from longweave.errors import BudgetError, InputError
from longweave.events import EventHandler
from longweave.llm import LLM, Trace
from longweave.pipelines._reading import ReadingResult, require_query
from longweave.pipelines.base import Pipeline
from longweave.pipelines.compose import NodeIO
from longweave.prompts import PromptOverride
from longweave.text.documents import Corpus, Document, as_text

log = logging.getLogger(__name__)


class FullContextState(TypedDict, total=False):
    query: str
    answer: str


@dataclass
class _Run:
    """What one run's node reads (LangGraph runtime context)."""

    text: str
    trace: Trace


class FullContext(Pipeline):
    """Answer from the whole document at once; refuse, clearly, when it does not fit.

    As a node of your own LangGraph graph (`longweave.as_node`), it reads and writes:

    | state key    | in/out | what |
    | ------------ | ------ | ---- |
    | ``document`` | in     | str, `Document` or `Corpus` that fits the window |
    | ``query``    | in     | the question (required) |
    | ``answer``   | out    | the answer |

    Args:
        llm: the model.
        window: the window to plan for; default the model's.
        answer_tokens: the answer's output limit.
        temperature: 0 (greedy).
        prompts: override for "reader".

    Example:
        >>> from longweave.eval.rule_reader import rule_reader
        >>> doc = "The secret code for the jade key is ember-1234."
        >>> FullContext(rule_reader()).run(doc, "What is the secret code for the jade key?").answer
        'ember-1234'
    """

    node_io = NodeIO({"document": "document", "query": "query"}, ("document",), {"answer": "answer"})

    def __init__(
        self,
        llm: LLM | str,
        *,
        window: int | None = None,
        answer_tokens: int = 256,
        temperature: float = 0.0,
        prompts: dict[str, PromptOverride] | None = None,
    ) -> None:
        super().__init__(llm, prompts=prompts)
        self.window = window or self.llm.context_window
        self.answer_tokens, self.temperature = answer_tokens, temperature
        self._graph = None

    @property
    def graph(self):
        """START -> answer -> END."""
        if self._graph is None:
            g = StateGraph(FullContextState, context_schema=_Run)
            g.add_node("answer", self._answer)
            g.add_edge(START, "answer")
            g.add_edge("answer", END)
            self._graph = g.compile()
        return self._graph

    def check_fits(self, text: str, query: str) -> int:
        """The prompt's tokens; BudgetError if it and the answer exceed the window."""
        needed = self.llm.count_tokens(self.prompt("reader").render(context=text, query=query))
        if needed + self.answer_tokens > self.window:
            doc = self.llm.count_tokens(text)
            raise BudgetError(
                f"the document has {doc} tokens; with the instruction, the question and "
                f"{self.answer_tokens} for the answer it needs {needed + self.answer_tokens}, but "
                f"the window holds {self.window}. Use ChainOfAgents or RAG (--method coa|rag|rtr), "
                "or a model with a larger window."
            )
        return needed

    async def _answer(self, state: FullContextState, runtime: Runtime[_Run]) -> FullContextState:
        run = runtime.context
        answer = await answer_from_passages(
            self.llm,
            self.prompt("reader"),
            context=run.text,
            query=state["query"],
            max_tokens=self.answer_tokens,
            temperature=self.temperature,
            trace=run.trace,
        )
        return {"answer": answer}

    async def arun(
        self,
        document: str | Document | Corpus,
        query: str | None = None,
        *,
        on_event: EventHandler | None = None,
    ) -> ReadingResult:
        """Answer `query` from the whole of `document` (one call: `on_event` gets no events).

        Raises:
            InputError: the document is empty or there is no question.
            BudgetError: the document does not fit the window.
        """
        query = require_query(query, "FullContext")
        text = as_text(document)
        if not text.strip():
            raise InputError("the document is empty; pass text to read.")
        self.check_fits(text, query)
        log.info("FullContext: %d characters in one prompt", len(text))
        started = time.monotonic()
        run = _Run(text, Trace())
        state = await self.graph.ainvoke({"query": query}, context=run)
        return ReadingResult(
            trace=run.trace,
            usage=run.trace.usage(),
            seconds=time.monotonic() - started,
            answer=state["answer"],
            method="full",
            chunks=1,
            document_tokens=self.llm.count_tokens(text),
        )


__all__ = ["FullContext", "FullContextState"]
