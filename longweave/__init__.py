"""longweave: agentic long-input and long-output work with LLMs, on LangGraph.

The public API is the list below; tests/test_public_api.py pins it, so changes are deliberate.
"""

from longweave import errors
from longweave.llm import LLM, Completion, RetryPolicy, ScriptedLLM, Trace, Usage, load_llm
from longweave.memory.file_store import FileStore
from longweave.pipelines.l2mac import L2MAC, L2MACResult
from longweave.text import chunk, count_words, get_tokenizer, iter_chunks

__version__ = "0.1.0"

__all__ = [
    "LLM",
    "Completion",
    "FileStore",
    "L2MAC",
    "L2MACResult",
    "RetryPolicy",
    "ScriptedLLM",
    "Trace",
    "Usage",
    "__version__",
    "chunk",
    "count_words",
    "errors",
    "get_tokenizer",
    "iter_chunks",
    "load_llm",
]
