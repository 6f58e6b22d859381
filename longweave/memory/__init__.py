"""Where long-lived text lives: file store, memory stream, vector index, embedders, memory bank,
and the passage index cache."""

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
    "VectorIndex",
    "load_embedder",
]
