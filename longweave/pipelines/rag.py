"""RAG: embed chunks into a faiss index, retrieve the top k, reorder them, answer.

The baseline every reading pipeline is measured against. Retrieved passages are reordered so
the strongest sit at both ends of the context, [d1, d3, d5, ..., d4, d2], because models use
the middle of a long context worst (Jin et al., 2024, "Long-Context LLMs Meet RAG: Overcoming
Challenges for Long Inputs in RAG", retrieval reordering; Liu et al., 2023, "Lost in the
Middle"). `RAGIndex` is built once per corpus, reused across questions, and saved to or loaded
from a folder; building it again costs little, since every file's passage vectors are kept in a
persistent cache keyed by the file's text and the settings (``longweave.memory.index_cache``):
only new or changed files are embedded. Defaults: passages of 256 tokens, top 5, the
all-MiniLM-L6-v2 embedder (use ``embedder="hash"`` where no model is installed). When the
reader does not know from all the passages at once, it re-reads the best three one at a time
(`answer_from_passages`), since models read a short context better than a long one (Liu et
al., 2023).

Deliberately not here: hybrid (BM25 + dense) retrieval, re-ranking models, and incremental
updates of a saved index folder (build again: unchanged files come from the cache).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict, TypeVar

import numpy as np
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from longweave.agents.reasoner import answer_from_passages, format_passages
from longweave.errors import BudgetError, ConfigError, InputError
from longweave.events import EventHandler, Progress
from longweave.llm import LLM, Trace
from longweave.memory.embedders import Embedder, HashingEmbedder, load_embedder
from longweave.memory.index_cache import CachedFile, IndexCacheOption, open_index_cache, passage_settings
from longweave.memory.vector_index import VectorIndex
from longweave.pipelines._reading import Passage, ReadingResult, require_query
from longweave.pipelines.base import Pipeline
from longweave.prompts import PromptOverride
from longweave.text.chunking import chunk
from longweave.text.documents import Corpus, Document, Source, corpus_from_text
from longweave.text.tokenizer import Tokenizer, get_tokenizer

T = TypeVar("T")
_EMBED_BATCH = 256


def reorder_passages(ranked: Sequence[T]) -> list[T]:
    """Put the best at both ends: [d1, d2, d3, d4, d5] -> [d1, d3, d5, d4, d2].

    Example:
        >>> reorder_passages([1, 2, 3, 4, 5])
        [1, 3, 5, 4, 2]
    """
    return list(ranked[0::2]) + list(ranked[1::2])[::-1]


def _embedder_spec(embedder: Embedder) -> str:
    if isinstance(embedder, HashingEmbedder):
        return f"hash:{embedder.dim}"
    if embedder.name == "all-MiniLM-L6-v2":
        return "minilm"
    return embedder.name


def _load_embedder_spec(spec: str) -> Embedder:
    if spec.startswith("hash:"):
        return HashingEmbedder(int(spec[5:]))
    return load_embedder(spec)


class RAGIndex:
    """Passages of a corpus and their vectors, searchable, reusable and savable.

    Build with `RAGIndex.build(corpus)` (or `RAG.index`); `search(query, k)` returns the best
    passages with scores and source names; `save(folder)` / `RAGIndex.load(folder)`.
    """

    def __init__(self, passages: list[Passage], vectors: VectorIndex, embedder: Embedder, chunk_tokens: int):
        self.passages = passages
        self.vectors = vectors
        self.embedder = embedder
        self.chunk_tokens = chunk_tokens

    @classmethod
    def build(
        cls,
        document: str | Document | Corpus,
        *,
        embedder: str | Embedder = "minilm",
        chunk_tokens: int = 256,
        tokenizer: Tokenizer | None = None,
        on_event: EventHandler | None = None,
        index_cache: IndexCacheOption = True,
    ) -> RAGIndex:
        """Chunk `document` into passages of at most `chunk_tokens` tokens and embed them.

        Files are chunked one by one, so no passage straddles two. With `index_cache` (on by
        default) each file's passages and vectors are kept on disk, keyed by its text and these
        settings: a file seen before is not embedded again (see `longweave.memory.index_cache`).

        Args:
            document: the text, a `Document` or a `Corpus`.
            embedder: an `Embedder` or a spec for `load_embedder`.
            chunk_tokens: passage size.
            tokenizer: counts tokens for chunking; default cl100k_base.
            on_event: called with `longweave.events.Progress` events: stage "cached" (passages
                from the cache, of all) once when the cache held any, then "index" (passages
                done, of all) as the rest are embedded.
            index_cache: True for the default cache folder, a folder, an `IndexCache`, or False.

        Raises:
            InputError: the document is empty.
        """
        corpus = _as_corpus(document)
        if not corpus.text.strip():
            raise InputError("the document is empty; pass text to index.")
        emb = load_embedder(embedder)
        tok = tokenizer or get_tokenizer()
        sources = corpus.sources or [Source("", 0, len(corpus.text))]
        texts = [corpus.text[s.start : s.end] for s in sources]
        cache = open_index_cache(index_cache)
        settings = passage_settings(emb, chunk_tokens, tok)
        files = cache.load(texts, settings, emb.dim or None) if cache is not None else [None] * len(texts)
        missing = {i: _spans(texts[i], chunk_tokens, tok) for i, f in enumerate(files) if f is None}
        done = sum(len(f.spans) for f in files if f is not None)
        total = done + sum(len(s) for s in missing.values())
        if on_event and done:
            on_event(Progress("cached", done, total))
        for finished, embedded in _embed(emb, texts, missing):
            for i, entry in finished.items():
                files[i] = entry
            if cache is not None and finished:
                cache.store([texts[i] for i in finished], settings, list(finished.values()))
            done += embedded
            if on_event:
                on_event(Progress("index", done, total))
        passages, index = [], None
        for src, text, entry in zip(sources, texts, files, strict=True):
            if entry is None:  # a file of blanks only: no passages
                continue
            if index is None:
                index = VectorIndex(entry.vectors.shape[1])
            index.add(entry.vectors, ids=np.arange(len(passages), len(passages) + len(entry.spans)))
            passages.extend(
                Passage(text[a:b], src.start + a, src.start + b, src.name) for a, b in entry.spans.tolist()
            )
        if index is None:
            raise InputError("the document has no passages to index; pass text with words in it.")
        return cls(passages, index, emb, chunk_tokens)

    def __len__(self) -> int:
        return len(self.passages)

    def search(self, query: str, k: int = 5) -> list[Passage]:
        """The `k` passages most similar to `query`, best first, with ``score`` and ``rank``."""
        scores, ids = self.vectors.search(self.embedder.embed([query]), k)
        out = []
        for rank, (score, pid) in enumerate(zip(scores[0], ids[0], strict=True), 1):
            if pid < 0:
                continue
            p = self.passages[int(pid)]
            out.append(Passage(p.text, p.start, p.end, p.source, float(score), rank))
        return out

    def save(self, folder: str | Path) -> Path:
        """Write passages (JSON lines), vectors (faiss) and settings to `folder`."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.vectors.save(folder / "vectors.faiss")
        with (folder / "passages.jsonl").open("w", encoding="utf-8") as fh:
            for p in self.passages:
                fh.write(
                    json.dumps({"text": p.text, "start": p.start, "end": p.end, "source": p.source}) + "\n"
                )
        meta = {"embedder": _embedder_spec(self.embedder), "chunk_tokens": self.chunk_tokens, "version": 1}
        (folder / "rag.json").write_text(json.dumps(meta))
        return folder

    @classmethod
    def load(cls, folder: str | Path, *, embedder: str | Embedder | None = None) -> RAGIndex:
        """Read an index written by `save`; the embedder is rebuilt from its saved name unless given.

        Raises:
            InputError: the folder does not hold a saved index.
            ConfigError: `embedder` differs from the one the index was built with.
        """
        folder = Path(folder)
        try:
            meta = json.loads((folder / "rag.json").read_text())
            with (folder / "passages.jsonl").open(encoding="utf-8") as fh:
                passages = [Passage(**json.loads(line)) for line in fh if line.strip()]
        except (OSError, ValueError, TypeError) as exc:
            raise InputError(
                f"{folder} does not hold a saved RAG index ({exc}); build one with RAG.index."
            ) from exc
        vectors = VectorIndex.load(folder / "vectors.faiss")
        emb = _load_embedder_spec(meta["embedder"]) if embedder is None else load_embedder(embedder)
        if _embedder_spec(emb) != meta["embedder"]:
            raise ConfigError(
                f"the index at {folder} was built with the embedder {meta['embedder']!r}, not "
                f"{_embedder_spec(emb)!r}; load it with that embedder or rebuild the index."
            )
        return cls(passages, vectors, emb, meta["chunk_tokens"])


def _spans(text: str, chunk_tokens: int, tokenizer: Tokenizer) -> np.ndarray:
    """(start, end) of each passage of `text` that is not blank, as an (n, 2) array."""
    spans = [(c.start, c.end) for c in chunk(text, chunk_tokens, tokenizer) if c.strip()]
    return np.asarray(spans, dtype=np.int64).reshape(-1, 2)


def _embed(
    embedder: Embedder, texts: list[str], spans: dict[int, np.ndarray]
) -> Iterator[tuple[dict[int, CachedFile], int]]:
    """Embed the passages of the files in `spans`, `_EMBED_BATCH` at a time across files.

    Yields, after each batch, the files it completed (so they can be cached at once: a build
    that is interrupted keeps what it finished) and how many passages it embedded.
    """
    items = [(i, int(a), int(b)) for i, s in spans.items() for a, b in s]
    rows: dict[int, list[np.ndarray]] = {i: [] for i, s in spans.items() if len(s)}
    for n in range(0, len(items), _EMBED_BATCH):
        batch = items[n : n + _EMBED_BATCH]
        vectors = embedder.embed([texts[i][a:b] for i, a, b in batch])
        finished = {}
        for (i, _, _), row in zip(batch, vectors, strict=True):
            rows[i].append(row)
            if len(rows[i]) == len(spans[i]):
                finished[i] = CachedFile(spans[i], np.stack(rows.pop(i)))
        yield finished, len(batch)


def _as_corpus(document: str | Document | Corpus) -> Corpus:
    if isinstance(document, Corpus):
        return document
    if isinstance(document, Document):
        return Corpus.from_documents([document])
    if isinstance(document, str):
        return corpus_from_text(document, "")
    raise InputError(f"cannot index a {type(document).__name__}; pass a string, Document or Corpus.")


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
        return {"passage_offsets": [p.start for p in run.passages]}

    async def _answer(self, state: RAGState, runtime: Runtime[_Run]) -> RAGState:
        run = runtime.context
        context = format_passages([p.text for p in run.passages])
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
            reread=[p.text for p in sorted(run.passages, key=lambda p: p.rank)[: self.reread]],
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
        return ReadingResult(
            trace=run.trace,
            usage=run.trace.usage(),
            seconds=time.monotonic() - started,
            answer=state["answer"],
            method="rag",
            chunks=len(index),
            passages=run.passages,
        )


__all__ = ["RAG", "RAGIndex", "RAGState", "reorder_passages"]
