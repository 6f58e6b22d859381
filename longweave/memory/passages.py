"""Memory as a part of other pipelines: one small interface, `Memory.add` / `Memory.retrieve`.

A reader or a writer that outgrows a running summary can be given a `Memory`: it `add`s what
it reads or writes, and `retrieve`s the passages relevant to its next step within a token
budget. Two implementations ship:

- `DocumentMemory`: passages of a few hundred tokens in a `MemoryStream` (SQLite + faiss),
  persistent when given a folder. Good for a writer retrieving from what it already wrote
  (instead of only summarising it, as AgentWrite does) or a reader's notes.
- `LongMemBank` (``memory.bank``): LongMem's bank of small chunks with a size cap.

Anything with these two methods works too (the protocol is runtime-checkable).

Deliberately not here: prompting, ranking by recency (see the SCM controller), and graphs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from longweave.errors import BudgetError, InputError
from longweave.memory.embedders import Embedder
from longweave.memory.stream import MemoryStream
from longweave.text import iter_chunks
from longweave.text.tokenizer import Tokenizer


@dataclass(slots=True, frozen=True)
class Passage:
    """A retrieved piece of text.

    Attributes:
        text: the text, verbatim from what was added.
        source: the `source` given to `add` (None if none).
        score: similarity to the query (cosine; for merged passages, the best of its parts).
        position: where it sits in the order things were added (passages sort by it).
        tokens: its length in tokens.
    """

    text: str
    source: str | None
    score: float
    position: int
    tokens: int


@runtime_checkable
class Memory(Protocol):
    """What a pipeline needs from a memory."""

    def add(self, text: str, *, source: str | None = None) -> int:
        """Store `text` (split as the memory sees fit); returns how many pieces were stored."""
        ...

    def retrieve(self, query: str, k: int = 5, budget_tokens: int | None = None) -> list[Passage]:
        """Up to `k` passages relevant to `query`, within `budget_tokens`, in the order added."""
        ...


def fit_budget(passages: Sequence[Passage], budget_tokens: int | None) -> list[Passage]:
    """Keep the best-scoring passages that fit `budget_tokens`, then put them in source order."""
    if budget_tokens is not None and budget_tokens < 0:
        raise BudgetError(f"budget_tokens must be >= 0 (got {budget_tokens}).")
    kept, used = [], 0
    for p in sorted(passages, key=lambda p: -p.score):
        if budget_tokens is None or used + p.tokens <= budget_tokens:
            kept.append(p)
            used += p.tokens
    return sorted(kept, key=lambda p: p.position)


def render_passages(passages: Sequence[Passage]) -> str:
    """Passages as prompt text, one block each, with their source when known."""
    return "\n\n".join(f"[{p.source}] {p.text.strip()}" if p.source else p.text.strip() for p in passages)


class DocumentMemory:
    """A `Memory` of passages in a memory stream.

    Args:
        path: a folder to keep it in (persistent), or None for RAM only.
        embedder: embedder or spec (default: the folder's, else "hash").
        chunk_tokens: tokens per stored passage (text is cut losslessly at paragraph and
            sentence ends, see `longweave.text.chunk`).
        tokenizer: counts tokens for chunks and budgets.

    Example:
        >>> memory = DocumentMemory(chunk_tokens=20)
        >>> memory.add("The dragon is called Ember. " * 3 + "\\n\\nThe castle has nine towers.", source="ch1")
        2
        >>> memory.retrieve("towers of the castle", k=1)[0].text
        'The castle has nine towers.'
    """

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        *,
        embedder: Embedder | str | None = None,
        chunk_tokens: int = 200,
        tokenizer: Tokenizer | None = None,
    ) -> None:
        if chunk_tokens < 1:
            raise BudgetError(f"chunk_tokens must be at least 1 (got {chunk_tokens}).")
        self.stream = MemoryStream(path, embedder=embedder, tokenizer=tokenizer)
        self.chunk_tokens = chunk_tokens

    def add(self, text: str, *, source: str | None = None) -> int:
        if not isinstance(text, str):
            raise InputError(f"Memory.add takes text, not {type(text).__name__}.")
        pieces = [str(c) for c in iter_chunks(text, self.chunk_tokens, self.stream.tokenizer) if c.strip()]
        for i in range(0, len(pieces), 256):
            self.stream.add_many(pieces[i : i + 256], role="document", source=source)
        return len(pieces)

    def retrieve(self, query: str, k: int = 5, budget_tokens: int | None = None) -> list[Passage]:
        hits = self.stream.search(query, k=k, roles={"document"})
        passages = [Passage(it.content, it.source, score, it.id, it.tokens) for it, score in hits]
        return fit_budget(passages, budget_tokens)

    def __len__(self) -> int:
        return len(self.stream)

    def close(self) -> None:
        self.stream.close()
