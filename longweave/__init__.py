"""longweave: agentic long-input and long-output work with LLMs, on LangGraph.

The public API is the list below; tests/test_public_api.py pins it, so changes are deliberate.
"""

import logging

from longweave import errors, events
from longweave.eval import (
    check_constraints,
    exact_match,
    f1_score,
    generate_task,
    length_score,
    make_needle_task,
)
from longweave.llm import LLM, Completion, RetryPolicy, ScriptedLLM, Trace, Usage, load_llm
from longweave.llm.pool import EndpointPool
from longweave.memory import DocumentMemory, LongMemBank, Memory, MemoryStream, RAGIndex
from longweave.memory.file_store import FileStore
from longweave.pipelines import (
    RAG,
    ChainOfAgents,
    FullContext,
    MemoryChat,
    ReadingResult,
    RetrieveThenReason,
)
from longweave.pipelines.agentwrite import AgentWrite, WriteResult
from longweave.pipelines.batch import BatchResult, run_many
from longweave.pipelines.cogwriter import CogResult, CogWriter
from longweave.pipelines.compose import UsageLog, agent_node, as_node, recall_node, remember_node
from longweave.pipelines.l2mac import L2MAC, L2MACResult
from longweave.pipelines.report import Report, ReportResult
from longweave.text import chunk, count_words, get_tokenizer, iter_chunks, load_corpus, load_document

__version__ = "0.1.0"

# Silent unless the application configures logging (the CLIs' --verbose does): see the README.
logging.getLogger("longweave").addHandler(logging.NullHandler())

__all__ = [
    "AgentWrite",
    "BatchResult",
    "ChainOfAgents",
    "CogResult",
    "CogWriter",
    "Completion",
    "DocumentMemory",
    "EndpointPool",
    "FileStore",
    "FullContext",
    "L2MAC",
    "L2MACResult",
    "LLM",
    "LongMemBank",
    "Memory",
    "MemoryChat",
    "MemoryStream",
    "RAG",
    "RAGIndex",
    "ReadingResult",
    "Report",
    "ReportResult",
    "RetrieveThenReason",
    "RetryPolicy",
    "ScriptedLLM",
    "Trace",
    "Usage",
    "UsageLog",
    "WriteResult",
    "__version__",
    "agent_node",
    "as_node",
    "check_constraints",
    "chunk",
    "count_words",
    "errors",
    "events",
    "exact_match",
    "f1_score",
    "generate_task",
    "get_tokenizer",
    "iter_chunks",
    "length_score",
    "load_corpus",
    "load_document",
    "load_llm",
    "make_needle_task",
    "recall_node",
    "remember_node",
    "run_many",
]
