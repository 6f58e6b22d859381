"""Where long-lived text lives: file store, memory stream, vector index, embedders, memory bank,
the passage index and its cache."""

from longweave.memory.bank import HiddenStateEmbedder, LongMemBank
from longweave.memory.embedders import (
    Embedder,
    HashingEmbedder,
    MiniLMEmbedder,
    OpenAIEmbedder,
    load_embedder,
)
from longweave.memory.file_store import FileStore, PathRefused
from longweave.memory.index_cache import IndexCache
from longweave.memory.passage_index import RAGIndex, reorder_passages
from longweave.memory.passages import DocumentMemory, Memory, Passage
from longweave.memory.stream import MemoryItem, MemoryStream
from longweave.memory.vector_index import VectorIndex

__all__ = [
    "DocumentMemory",
    "Embedder",
    "FileStore",
    "HashingEmbedder",
    "HiddenStateEmbedder",
    "IndexCache",
    "LongMemBank",
    "Memory",
    "MemoryItem",
    "MemoryStream",
    "MiniLMEmbedder",
    "OpenAIEmbedder",
    "Passage",
    "PathRefused",
    "RAGIndex",
    "VectorIndex",
    "load_embedder",
    "reorder_passages",
]
