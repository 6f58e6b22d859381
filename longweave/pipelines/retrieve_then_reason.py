"""RetrieveThenReason (ALR^2): quote the evidence verbatim, verify every quote, reason over the rest.

Li et al., 2024, "ALR^2: A Retrieve-then-Reason Framework for Long-context Question
Answering": stage one asks the model to copy the sentences that support an answer; stage two
answers from those alone. Every quote is checked against the passages the model was shown
(exact, then normalised, then a tight fuzzy match that may not change names or numbers);
quotes not found are dropped and reported in ``result.dropped``, which is what cut
hallucinated evidence from 61% to under 1% in the paper. When the document fits the window
the extractor reads it whole; otherwise the top-k retrieved passages are shown, reordered
with the strongest at both ends (Jin et al., 2024, "Long-Context LLMs Meet RAG").
Defaults: temperature 0, 8 passages of 256 tokens, fuzzy threshold 0.9.

Small models (a 0.5B instruct model answered 2 of 15 questions on the Python docs this way,
RAG 7) paraphrase their quotes, so two steps keep the method from doing worse than RAG: a
quote that no match finds is repaired to the source sentences holding at least `repair` of
its content words and all its names and numbers (the reasoner still sees only source text);
and when no quote survives, or the reasoner says "unknown", the reader answers from the
passages the extractor was shown, as RAG does (``result.trace.by_role("reader")`` shows it).

Deliberately not handled: multi-hop retrieval (a second fact that shares no words with the
question is found only when the whole document fits the window; use Chain of Agents).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from longweave.agents.answers import UNKNOWN
from longweave.agents.extractor import DroppedQuote, Evidence, QuoteVerifier, extract_quotes
from longweave.agents.reasoner import answer_from_passages, format_passages, reason_over_evidence
from longweave.errors import BudgetError, ConfigError
from longweave.events import EventHandler
from longweave.llm import LLM, Trace
from longweave.memory.embedders import Embedder
from longweave.memory.index_cache import IndexCacheOption, open_index_cache
from longweave.memory.passage_index import Passage, RAGIndex, reorder_passages, section_at
from longweave.pipelines._reading import ReadingResult, require_query
from longweave.pipelines.base import Pipeline
from longweave.pipelines.compose import NodeIO
from longweave.prompts import PromptOverride
from longweave.text.documents import Corpus, Document, as_corpus
from longweave.text.headings import on_heading_line, section_line, without_section_lines

log = logging.getLogger(__name__)


class RTRState(TypedDict, total=False):
    """Graph state: the query, the quotes, what survived verification (short), the answer."""

    query: str
    quotes: list[str]
    evidence: list[dict]
    dropped: list[dict]
    answer: str


@dataclass
class _Run:
    """What one run's nodes share (LangGraph runtime context)."""

    context: str
    segments: list[tuple[str, int]]
    locate: Callable[[int], tuple[str, int]] | None
    passages: list[Passage]
    sections: list[Passage]  # where a quote's heading is looked up
    trace: Trace


class RetrieveThenReason(Pipeline):
    """Answer by quoting evidence first (verified against the source), then reasoning over it.

    As a node of your own LangGraph graph (`longweave.as_node`), it reads and writes:

    | state key    | in/out | what |
    | ------------ | ------ | ---- |
    | ``document`` | in     | str, `Document`, `Corpus` or a prebuilt `RAGIndex` |
    | ``query``    | in     | the question (required) |
    | ``answer``   | out    | the answer |

    Args:
        llm: the model.
        top_k: passages shown to the extractor when the document does not fit the window.
        embedder: for retrieval: "minilm" (default), "hash", or an `Embedder`.
        chunk_tokens: passage size for retrieval.
        index_cache: keep passage vectors on disk so a corpus is embedded once: True (the
            default folder, see `longweave.memory.index_cache`), a folder, an `IndexCache`, or False.
        window: the window to plan for; default the model's.
        quote_tokens: the extractor's output limit.
        answer_tokens: the reasoner's output limit.
        threshold: the least similarity a fuzzy quote match needs (0.9: tight).
        repair: the least share of a quote's content words that repairs it to the source
            sentences holding them (0.6); None drops every quote no match finds.
        reread: passages the fallback reader re-reads one at a time while it does not know.
        temperature: 0 (greedy).
        prompts: overrides for "extractor", "reasoner" and "reader" (the fallback).

    Example:
        >>> from longweave.eval.rule_reader import rule_reader
        >>> llm = rule_reader(fabricate="The jade key is made of glass.")
        >>> doc = "Filler. " * 50 + "The secret code for the jade key is ember-1234."
        >>> r = RetrieveThenReason(llm, embedder="hash").run(doc, "What is the secret code for the jade key?")
        >>> r.answer, [d.quote for d in r.dropped]
        ('ember-1234', ['The jade key is made of glass.'])
    """

    node_io = NodeIO({"document": "document", "query": "query"}, ("document",), {"answer": "answer"})

    def __init__(
        self,
        llm: LLM | str,
        *,
        top_k: int = 8,
        embedder: str | Embedder = "minilm",
        chunk_tokens: int = 256,
        index_cache: IndexCacheOption = True,
        window: int | None = None,
        quote_tokens: int = 512,
        answer_tokens: int = 256,
        threshold: float = 0.9,
        repair: float | None = 0.6,
        reread: int = 3,
        temperature: float = 0.0,
        prompts: dict[str, PromptOverride] | None = None,
    ) -> None:
        super().__init__(llm, prompts=prompts)
        if top_k < 1:
            raise ConfigError(f"top_k must be at least 1 (got {top_k}).")
        self.top_k, self.embedder, self.chunk_tokens = top_k, embedder, chunk_tokens
        self.index_cache = open_index_cache(index_cache)
        self.window = window or self.llm.context_window
        self.quote_tokens, self.answer_tokens = quote_tokens, answer_tokens
        self.threshold, self.repair, self.reread = threshold, repair, reread
        self.temperature = temperature
        self._graph = None

    @property
    def graph(self):
        """START -> extract -> verify -> reason -> END; to "read" (the passages) when no quote
        survives or the reasoner does not know. Passages are chosen before the graph runs."""
        if self._graph is None:
            g = StateGraph(RTRState, context_schema=_Run)
            g.add_node("extract", self._extract)
            g.add_node("verify", self._verify)
            g.add_node("reason", self._reason)
            g.add_node("read", self._read)
            g.add_edge(START, "extract")
            g.add_edge("extract", "verify")
            g.add_conditional_edges("verify", _after_verify, ["reason", "read"])
            g.add_conditional_edges("reason", _after_reason, ["read", END])
            g.add_edge("read", END)
            self._graph = g.compile()
        return self._graph

    async def _extract(self, state: RTRState, runtime: Runtime[_Run]) -> RTRState:
        run = runtime.context
        quotes = await extract_quotes(
            self.llm,
            self.prompt("extractor"),
            context=run.context,
            query=state["query"],
            max_tokens=self.quote_tokens,
            temperature=self.temperature,
            trace=run.trace,
        )
        return {"quotes": quotes}

    async def _verify(self, state: RTRState, runtime: Runtime[_Run]) -> RTRState:
        run = runtime.context
        verifier = QuoteVerifier(
            run.segments, threshold=self.threshold, locate=run.locate, repair=self.repair
        )
        kept, dropped = [], []
        for quote in state["quotes"]:
            own = without_section_lines(quote)  # a section line copied from the prompt is ours
            if quote.strip() and not own.strip():
                continue
            found = verifier.verify(own)
            (kept if isinstance(found, Evidence) else dropped).append(asdict(found))
        if kept and all(_on_heading(e["start"], run.segments) for e in kept):
            # Headings name what a section is about but state nothing: quoted alone (the 1.5B
            # model quoted the signatures of insort_left and insort_right and guessed between
            # them), they leave the reasoner to guess, so the reader answers from the passages.
            dropped += [asdict(DroppedQuote(e["quote"], "only headings quoted", e["score"])) for e in kept]
            kept = []
        kept.sort(key=lambda e: e["start"])
        return {"evidence": kept, "dropped": dropped}

    async def _reason(self, state: RTRState, runtime: Runtime[_Run]) -> RTRState:
        run = runtime.context
        answer = await reason_over_evidence(
            self.llm,
            self.prompt("reasoner"),
            quotes=[_with_section(e, run.sections) for e in state["evidence"]],
            query=state["query"],
            max_tokens=self.answer_tokens,
            temperature=self.temperature,
            trace=run.trace,
        )
        return {"answer": answer}

    async def _read(self, state: RTRState, runtime: Runtime[_Run]) -> RTRState:
        # No verified quote, or the reasoner did not know: reasoning over nothing invites
        # invention, so the reader answers from the source text the extractor saw, as RAG does.
        run = runtime.context
        best = sorted(run.passages, key=lambda p: p.rank)[: self.reread]
        answer = await answer_from_passages(
            self.llm,
            self.prompt("reader"),
            context=run.context,
            query=state["query"],
            max_tokens=self.answer_tokens,
            temperature=self.temperature,
            trace=run.trace,
            reread=[p.shown for p in best],
        )
        return {"answer": answer}

    def _fits_whole(self, text: str, query: str) -> bool:
        prompt = self.prompt("extractor").render(context=text, query=query)
        return self.llm.count_tokens(prompt) + self.quote_tokens <= self.window

    async def arun(
        self,
        document: str | Document | Corpus | RAGIndex,
        query: str | None = None,
        *,
        on_event: EventHandler | None = None,
    ) -> ReadingResult:
        """Answer `query` about `document`, with ``result.evidence`` and ``result.dropped``.

        `on_event` gets the indexing's `longweave.events.Progress` events ("cached", "index")
        when the document does not fit the window.
        """
        query = require_query(query, "RetrieveThenReason")
        started = time.monotonic()
        passages: list[Passage] = []
        chunks = 1
        if isinstance(document, RAGIndex):
            index, corpus = document, None
        else:
            corpus = as_corpus(document)
            index = None
            if not self._fits_whole(corpus.text, query):
                index = RAGIndex.build(
                    corpus,
                    embedder=self.embedder,
                    chunk_tokens=self.chunk_tokens,
                    on_event=on_event,
                    index_cache=self.index_cache if self.index_cache is not None else False,
                )
        log.info("RetrieveThenReason: %s", "the whole document fits" if index is None else
                 f"{self.top_k} of {len(index)} passages retrieved")  # fmt: skip
        if index is None:
            segments = [(corpus.text, 0)]
            context = corpus.text
            locate = corpus.locate if corpus.sources and corpus.sources[0].name else None
        else:
            passages = reorder_passages(index.search(query, self.top_k))
            segments = [(p.text, p.start) for p in passages]
            context = format_passages([p.shown for p in passages])
            names = {p.start: p.source for p in index.passages}
            starts = sorted(names)
            locate = _locator(starts, names)
            chunks = len(index)
            if self.llm.count_tokens(context) + self.quote_tokens > self.window:
                raise BudgetError(
                    f"{self.top_k} passages of {index.chunk_tokens} tokens do not fit the "
                    f"{self.window}-token window with {self.quote_tokens} for quotes; lower top_k."
                )
        # Where a quote's heading is looked up: the passages shown, or the whole text.
        sections = [Passage(corpus.text, 0, len(corpus.text))] if index is None else passages
        run = _Run(context, segments, locate, passages, sections, Trace())
        state = await self.graph.ainvoke({"query": query}, context=run)
        return ReadingResult(
            trace=run.trace,
            usage=run.trace.usage(),
            seconds=time.monotonic() - started,
            answer=state["answer"],
            method="rtr",
            chunks=chunks,
            passages=passages,
            evidence=[Evidence(**e) for e in state["evidence"]],
            dropped=[DroppedQuote(**d) for d in state["dropped"]],
        )


def _with_section(evidence: dict, passages: list[Passage]) -> str:
    """A verified quote as the reasoner sees it: under the heading it was found under, so
    "This runs faster than mean()" still says it is about ``statistics.fmean``."""
    section = section_at(passages, evidence["start"])
    return f"{section_line(section)} {evidence['text']}" if section else evidence["text"]


def _on_heading(offset: int, segments: list[tuple[str, int]]) -> bool:
    for text, base in segments:
        if base <= offset < base + len(text):
            return on_heading_line(text, offset - base)
    return False


def _after_verify(state: RTRState) -> str:
    return "reason" if state["evidence"] else "read"


def _after_reason(state: RTRState) -> str:
    return "read" if state["answer"] == UNKNOWN else END


def _locator(starts: list[int], names: dict[int, str]):
    from bisect import bisect_right

    def locate(offset: int) -> tuple[str, int]:
        start = starts[max(0, bisect_right(starts, offset) - 1)]
        return names[start], offset - start

    return locate


__all__ = ["RTRState", "RetrieveThenReason"]
