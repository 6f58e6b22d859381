"""What the reading pipelines share: their result, passages, and chunks fed by index.

The graphs are compiled once per pipeline; everything that belongs to one run (the chunks,
the index, the trace, the event handler) travels as LangGraph runtime context (each graph's
``context_schema``, read by nodes as ``runtime.context``), so the graph state holds only ids,
counters and short strings, never the document, and nothing of a run is kept on the pipeline.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from longweave.agents.extractor import DroppedQuote, Evidence
from longweave.errors import InputError
from longweave.memory.passage_index import Passage
from longweave.pipelines.base import Result
from longweave.text.chunking import Chunk


@dataclass
class ReadingResult(Result):
    """What a reading pipeline returns.

    Attributes:
        answer: the answer (or summary, for query-free Chain of Agents).
        method: "coa", "rag", "rtr" or "full".
        chunks: how many chunks the document was read in (CoA) or indexed in (RAG, RTR).
        communication_units: CoA only: each worker's CU, in order.
        passages: RAG and RTR: the passages shown to the model, in the order shown.
        evidence: RTR only: the verified quotes, with their positions in the source.
        dropped: RTR only: the quotes not found in the source, with the reason.
        document_tokens: the document's length in the model's tokens.
    """

    answer: str = ""
    method: str = ""
    chunks: int = 0
    communication_units: list[str] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    dropped: list[DroppedQuote] = field(default_factory=list)
    document_tokens: int = 0


class ChunkFeed:
    """Chunks by index from a list or, for streamed input, from an iterator read in order.

    Streamed input keeps only the chunks not yet consumed in memory, so a file larger than
    memory can be read by a chain that visits chunks one after another.
    """

    def __init__(self, chunks: list[Chunk] | Iterator[Chunk]) -> None:
        self._list = chunks if isinstance(chunks, list) else None
        self._iter = None if isinstance(chunks, list) else chunks
        self._held: dict[int, Chunk] = {}
        self._read = 0
        self._streamed_tokens = 0

    @property
    def total(self) -> int | None:
        return len(self._list) if self._list is not None else None

    def _pull(self, i: int) -> bool:
        while self._read <= i:
            try:
                self._held[self._read] = piece = next(self._iter)
            except StopIteration:
                return False
            self._read += 1
            self._streamed_tokens += piece.tokens
        return True

    @property
    def tokens(self) -> int:
        """Tokens of all chunks (for a stream: of the chunks read so far)."""
        if self._list is not None:
            return sum(c.tokens for c in self._list)
        return self._streamed_tokens

    def has(self, i: int) -> bool:
        if self._list is not None:
            return i < len(self._list)
        return i in self._held or self._pull(i)

    def get(self, i: int) -> Chunk:
        if self._list is not None:
            return self._list[i]
        if not self.has(i):
            raise IndexError(i)
        for old in [k for k in self._held if k < i]:
            del self._held[old]
        return self._held[i]


def require_query(query: str | None, method: str) -> str:
    if query is None or not query.strip():
        raise InputError(f"{method} needs a question; pass query='...' (only Chain of Agents summarises).")
    return query.strip()


__all__ = ["ChunkFeed", "ReadingResult", "require_query"]
