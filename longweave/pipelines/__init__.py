"""One LangGraph graph per method, plus what they share."""

from longweave.pipelines.base import Pipeline, Result
from longweave.pipelines.memory_chat import ChatResult, MemoryChat

__all__ = ["ChatResult", "MemoryChat", "Pipeline", "Result"]
