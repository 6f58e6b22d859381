"""The public API is a deliberate list: changing it must change this test too."""

import longweave


def test_public_api_is_pinned():
    assert sorted(longweave.__all__) == sorted(
        [
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
    )
    for name in longweave.__all__:
        assert hasattr(longweave, name), name
