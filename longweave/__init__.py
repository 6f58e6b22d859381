"""longweave: agentic long-input and long-output work with LLMs, on LangGraph.

The public API is the list below; tests/test_public_api.py pins it, so changes are deliberate.
"""

from longweave import errors
from longweave.eval import check_constraints, generate_task, length_score
from longweave.llm import LLM, Completion, RetryPolicy, ScriptedLLM, Trace, Usage, load_llm
from longweave.pipelines.agentwrite import AgentWrite, WriteResult
from longweave.pipelines.cogwriter import CogResult, CogWriter
from longweave.text import chunk, count_words, get_tokenizer, iter_chunks

__version__ = "0.1.0"

__all__ = [
    "AgentWrite",
    "CogResult",
    "CogWriter",
    "check_constraints",
    "generate_task",
    "LLM",
    "Completion",
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
    "length_score",
    "load_llm",
    "WriteResult",
]
