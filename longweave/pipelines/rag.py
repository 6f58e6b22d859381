"""RAG: embed chunks into a faiss index, retrieve the top k, reorder them, answer.

The baseline every reading pipeline is measured against. Retrieved passages are reordered so
the strongest sit at both ends of the context, [d1, d3, d5, ..., d4, d2], because models use
the middle of a long context worst (Jin et al., 2024, "Long-Context LLMs Meet RAG: Overcoming
Challenges for Long Inputs in RAG", retrieval reordering; Liu et al., 2023, "Lost in the
Middle"). The passage index, `RAGIndex` (``longweave.memory.passage_index``), is built once per
corpus, reused across questions, and saved to or loaded from a folder; only new or changed
files are embedded again. Defaults: passages of 256 tokens, top 5, the
all-MiniLM-L6-v2 embedder (use ``embedder="hash"`` where no model is installed). When the
reader does not know from all the passages at once, it re-reads the best three one at a time
(`answer_from_passages`), since models read a short context better than a long one (Liu et
al., 2023).

Deliberately not here: the index itself (building, search, save/load, reordering:
``memory/passage_index.py``), hybrid (BM25 + dense) retrieval and re-ranking models.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from longweave.agents.reasoner import answer_from_passages, format_passages
from longweave.errors import BudgetError, ConfigError
from longweave.events import EventHandler
from longweave.llm import LLM, Trace
from longweave.memory.embedders import Embedder, load_embedder
from longweave.memory.index_cache import IndexCacheOption, open_index_cache
from longweave.memory.passage_index import Passage, RAGIndex, reorder_passages
from longweave.pipelines._reading import ReadingResult, require_query
from longweave.pipelines.base import Pipeline
from longweave.pipelines.compose import NodeIO
from longweave.prompts import PromptOverride
from longweave.text.documents import Corpus, Document

log = logging.getLogger(__name__)


class RAGState(TypedDict, total=False):
    """Graph state: the query, where the passages shown start (in the order shown), the answer."""

    query: str
    passage_offsets: list[int]
    answer: str


@dataclass
class _Run:
    """What one run's nodes share (LangGraph runtime context)."""

    index: RAGIndex
    trace: Trace
    passages: list[Passage] = field(default_factory=list)


class RAG(Pipeline):
    """Retrieval-augmented answering over one document or corpus, with reordering.

    As a node of your own LangGraph graph (`longweave.as_node`), it reads and writes:

    | state key    | in/out | what |
    | ------------ | ------ | ---- |
    | ``document`` | in     | str, `Document`, `Corpus` or a prebuilt `RAGIndex` |
    | ``query``    | in     | the question (required) |
    | ``answer``   | out    | the answer |

    Args:
        llm: the model.
        top_k: passages retrieved per question.
        embedder: "minilm" (default), "hash", "openai:MODEL[@URL]" or an `Embedder`.
        chunk_tokens: passage size when indexing.
        index_cache: keep passage vectors on disk so a corpus is embedded once: True (the
            default folder, see `longweave.memory.index_cache`), a folder, an `IndexCache`, or False.
        reorder: put the strongest passages at both ends ([d1, d3, d5, ..., d4, d2]).
        answer_tokens: the answer's output limit.
        reread: passages (best first) re-read one at a time while the answer is "unknown";
            0: one call per question.
        temperature: 0 (greedy).
        prompts: override for "reader".

    Example:
        >>> from longweave.eval.rule_reader import rule_reader
        >>> rag = RAG(rule_reader(), embedder="hash")
        >>> index = rag.index("Filler. " * 50 + "The secret code for the jade key is ember-1234.")
        >>> rag.run(index, "What is the secret code for the jade key?").answer
        'ember-1234'
    """

    node_io = NodeIO({"document": "document", "query": "query"}, ("document",), {"answer": "answer"})

    def __init__(
        self,
        llm: LLM | str,
        *,
        top_k: int = 5,
        embedder: str | Embedder = "minilm",
        chunk_tokens: int = 256,
        index_cache: IndexCacheOption = True,
        reorder: bool = True,
        answer_tokens: int = 256,
        reread: int = 3,
        temperature: float = 0.0,
        prompts: dict[str, PromptOverride] | None = None,
    ) -> None:
        super().__init__(llm, prompts=prompts)
        if top_k < 1:
            raise ConfigError(f"top_k must be at least 1 (got {top_k}).")
        self.top_k, self.chunk_tokens, self.reorder = top_k, chunk_tokens, reorder
        self.index_cache = open_index_cache(index_cache)
        self.answer_tokens, self.reread, self.temperature = answer_tokens, reread, temperature
        self._embedder_spec = embedder
        self._embedder: Embedder | None = None
        self._graph = None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = load_embedder(self._embedder_spec)
        return self._embedder

    def index(self, document: str | Document | Corpus, *, on_event: EventHandler | None = None) -> RAGIndex:
        """Build a reusable index of `document` with this pipeline's embedder, passage size and cache."""
        return RAGIndex.build(
            document,
            embedder=self.embedder,
            chunk_tokens=self.chunk_tokens,
            on_event=on_event,
            index_cache=self.index_cache if self.index_cache is not None else False,
        )

    @property
    def graph(self):
        """START -> retrieve -> answer -> END."""
        if self._graph is None:
            g = StateGraph(RAGState, context_schema=_Run)
            g.add_node("retrieve", self._retrieve)
            g.add_node("answer", self._answer)
            g.add_edge(START, "retrieve")
            g.add_edge("retrieve", "answer")
            g.add_edge("answer", END)
            self._graph = g.compile()
        return self._graph

    async def _retrieve(self, state: RAGState, runtime: Runtime[_Run]) -> RAGState:
        run = runtime.context
        found = run.index.search(state["query"], self.top_k)
        run.passages = reorder_passages(found) if self.reorder else found
        log.debug("RAG: %d passages retrieved, best score %.3f", len(found), found[0].score if found else 0.0)
        return {"passage_offsets": [p.start for p in run.passages]}

    async def _answer(self, state: RAGState, runtime: Runtime[_Run]) -> RAGState:
        run = runtime.context
        context = format_passages([p.shown for p in run.passages])
        prompt = self.prompt("reader")
        fixed = self.llm.count_tokens(prompt.render(context=context, query=state["query"]))
        if fixed + self.answer_tokens > self.llm.context_window:
            raise BudgetError(
                f"{self.top_k} passages of up to {run.index.chunk_tokens} tokens make a {fixed}-token "
                f"prompt, more than the {self.llm.context_window}-token window allows with "
                f"{self.answer_tokens} for the answer; lower top_k or chunk_tokens."
            )
        answer = await answer_from_passages(
            self.llm,
            prompt,
            context=context,
            query=state["query"],
            max_tokens=self.answer_tokens,
            temperature=self.temperature,
            trace=run.trace,
            reread=[p.shown for p in sorted(run.passages, key=lambda p: p.rank)[: self.reread]],
        )
        return {"answer": answer}

    async def arun(
        self,
        document: str | Document | Corpus | RAGIndex,
        query: str | None = None,
        *,
        on_event: EventHandler | None = None,
    ) -> ReadingResult:
        """Answer `query` from the top passages of `document` (or of a prebuilt `RAGIndex`).

        `on_event` gets the indexing's `longweave.events.Progress` events ("cached", "index").
        """
        query = require_query(query, "RAG")
        started = time.monotonic()
        index = document if isinstance(document, RAGIndex) else self.index(document, on_event=on_event)
        run = _Run(index, Trace())
        state = await self.graph.ainvoke({"query": query}, context=run)
        log.info("RAG: answered from %d of %d passages in %.1f s", len(run.passages), len(index),
                 time.monotonic() - started)  # fmt: skip
        return ReadingResult(
            trace=run.trace,
            usage=run.trace.usage(),
            seconds=time.monotonic() - started,
            answer=state["answer"],
            method="rag",
            chunks=len(index),
            passages=run.passages,
        )


__all__ = ["RAG", "RAGState"]
