"""The public API is a deliberate list: changing it must change this test too."""

import longweave


def test_public_api_is_pinned():
    assert sorted(longweave.__all__) == sorted(
        [
            "AgentWrite",
            "CogResult",
            "CogWriter",
            "check_constraints",
            "generate_task",
            "LLM",
            "ChainOfAgents",
            "FullContext",
            "RAG",
            "RAGIndex",
            "ReadingResult",
            "RetrieveThenReason",
            "Report",
            "ReportResult",
            "exact_match",
            "f1_score",
            "make_needle_task",
            "load_corpus",
            "load_document",
            "DocumentMemory",
            "LongMemBank",
            "Memory",
            "MemoryChat",
            "MemoryStream",
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
            "events",
            "get_tokenizer",
            "iter_chunks",
            "length_score",
            "load_llm",
            "run_many",
            "BatchResult",
            "EndpointPool",
            "WriteResult",
            "UsageLog",
            "agent_node",
            "as_node",
            "recall_node",
            "remember_node",
        ]
    )
    for name in longweave.__all__:
        assert hasattr(longweave, name), name
