"""Where long-lived text lives: file store, memory stream, vector index, embedders, memory bank."""

from longweave.memory.embedders import (
    Embedder,
    HashingEmbedder,
    MiniLMEmbedder,
    OpenAIEmbedder,
    load_embedder,
)
from longweave.memory.vector_index import VectorIndex

__all__ = [
    "Embedder",
    "HashingEmbedder",
    "MiniLMEmbedder",
    "OpenAIEmbedder",
    "VectorIndex",
    "load_embedder",
]
