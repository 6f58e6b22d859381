import pytest

from longweave.errors import ConfigError
from longweave.llm import ScriptedLLM, load_llm


def test_replies_in_order_then_rules_then_default():
    llm = ScriptedLLM(["one", "two"], rules=[(r"city of (\w+)", lambda m, _: m[1].upper())], default="?")
    assert [llm.complete_sync(p).text for p in ["a", "b", "the city of rome", "zzz"]] == [
        "one",
        "two",
        "ROME",
        "?",
    ]
    assert llm.prompts[2] == "the city of rome"


def test_unmatched_prompt_without_default_raises_with_the_prompt():
    with pytest.raises(ConfigError, match="no reply for this prompt.*hello"):
        ScriptedLLM(rules={"xyz": "1"}).complete_sync("hello")


def test_callable_sees_all_messages():
    llm = ScriptedLLM(lambda msgs: msgs[0]["content"] + "|" + msgs[-1]["content"])
    msgs = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    assert llm.complete_sync(msgs).text == "S|U"


def test_max_tokens_and_stop_are_honoured():
    llm = ScriptedLLM(default="alpha beta gamma delta END tail")
    cut = llm.complete_sync("x", max_tokens=2)
    assert cut.finish_reason == "length" and cut.completion_tokens == 2
    stopped = llm.complete_sync("x", stop=["END"])
    assert stopped.text == "alpha beta gamma delta " and stopped.finish_reason == "stop"


def test_latency_lets_calls_overlap():
    import time

    llm = ScriptedLLM(default="ok", latency=0.2, max_concurrency=8)
    started = time.monotonic()
    llm.generate_many_sync(["x"] * 8)
    assert time.monotonic() - started < 0.2 * 4


def test_load_llm_specs():
    assert isinstance(load_llm("scripted", default="x"), ScriptedLLM)
    llm = ScriptedLLM(default="x")
    assert load_llm(llm) is llm
    for bad in ["", "nope", "openai:", "hf:", "mystery:model", "openai"]:
        with pytest.raises(ConfigError, match="openai:MODEL@http"):
            load_llm(bad)


def test_openai_spec_parsing(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    llm = load_llm("openai:my-model@http://127.0.0.1:9/v1", timeout=3, max_retries=1)
    assert llm.model == "my-model" and llm.base_url == "http://127.0.0.1:9/v1"
    assert llm.timeout == 3 and llm.retry.max_retries == 1
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        load_llm("openai:gpt-4o-mini")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert load_llm("openai:gpt-4o-mini").context_window == 128_000
    assert load_llm("openai:org/model@v2").model == "org/model@v2"  # '@' not followed by a URL


def test_missing_gguf_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no GGUF file"):
        load_llm(f"gguf:{tmp_path / 'missing.gguf'}")


def test_local_falls_back_to_transformers_without_llama_cpp(monkeypatch):
    import sys

    import longweave.llm.hf as hf
    from longweave.llm.local import embedded_model_path, load_local

    seen = {}

    class Recorder:
        def __init__(self, model_or_path, **options):
            seen.update(model_or_path=model_or_path, **options)

    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import llama_cpp now fails
    monkeypatch.setattr(hf, "HuggingFace", Recorder)
    assert isinstance(load_local(context_window=2048), Recorder)
    path = embedded_model_path()
    assert seen == {"model_or_path": str(path.parent), "gguf_file": path.name, "context_window": 2048}
