"""Where long-lived text lives: file store, memory stream, vector index, embedders, memory bank."""

from longweave.memory.file_store import FileStore, PathRefused

__all__ = ["FileStore", "PathRefused"]
