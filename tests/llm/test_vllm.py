"""The vllm: backend, against a STAND-IN `vllm` module.

vLLM needs a GPU and its own CUDA build of PyTorch, neither of which exists on the machines
that run this suite. The stand-in below implements the slice of vLLM's documented offline API
the backend uses (``vllm.LLM(model=..., seed=...)``, ``LLM.chat(conversations, sampling_params,
use_tqdm=...)`` returning RequestOutputs, ``SamplingParams``, ``llm_engine.model_config
.max_model_len``), so these tests prove our side of the contract, not vLLM itself.
"""

import sys
import types
from dataclasses import dataclass, field

import pytest

from longweave.llm import load_llm


@dataclass
class SamplingParams:
    max_tokens: int = 16
    temperature: float = 1.0
    top_p: float = 1.0
    stop: list | None = None
    seed: int | None = None
    min_tokens: int = 0


@dataclass
class CompletionOutput:
    text: str
    token_ids: list
    finish_reason: str = "stop"


@dataclass
class RequestOutput:
    prompt_token_ids: list
    outputs: list = field(default_factory=list)


class FakeEngineLLM:
    instances: list = []

    def __init__(self, model, seed=0, **engine_args):
        self.model, self.seed, self.engine_args = model, seed, engine_args
        self.chat_calls = []
        cfg = types.SimpleNamespace(max_model_len=engine_args.get("max_model_len", 4096))
        self.llm_engine = types.SimpleNamespace(model_config=cfg)
        FakeEngineLLM.instances.append(self)

    def chat(self, conversations, sampling_params, use_tqdm=True):
        assert isinstance(sampling_params, SamplingParams) and use_tqdm is False
        self.chat_calls.append((conversations, sampling_params))
        outs = []
        for conv in conversations:
            text = conv[-1]["content"].upper()[: sampling_params.max_tokens]
            prompt_ids = list(range(sum(len(m["content"]) for m in conv)))
            outs.append(RequestOutput(prompt_ids, [CompletionOutput(text, list(range(len(text))))]))
        return outs


@pytest.fixture
def fake_vllm(monkeypatch):
    module = types.ModuleType("vllm")
    module.LLM, module.SamplingParams = FakeEngineLLM, SamplingParams
    monkeypatch.setitem(sys.modules, "vllm", module)
    FakeEngineLLM.instances.clear()
    return module


def test_generate_many_is_one_native_batched_engine_call(fake_vllm):
    llm = load_llm("vllm:org/model", context_window=2048, tensor_parallel_size=2)
    engine = FakeEngineLLM.instances[0]
    assert engine.engine_args == {"tensor_parallel_size": 2, "max_model_len": 2048}
    assert llm.context_window == 2048
    out = llm.generate_many_sync(["ab", "cd", "ef"], max_tokens=5, temperature=0, stop=["x"], role="worker")
    assert [c.text for c in out] == ["AB", "CD", "EF"]
    assert len(engine.chat_calls) == 1 and len(engine.chat_calls[0][0]) == 3
    params = engine.chat_calls[0][1]
    assert (params.max_tokens, params.temperature, params.stop) == (5, 0, ["x"])
    assert out[0].prompt_tokens == 2 and out[0].completion_tokens == 2
    assert llm.usage.by_role["worker"].calls == 3


def test_single_call_and_window_from_the_engine(fake_vllm):
    llm = load_llm("vllm:org/model")
    assert llm.context_window == 4096
    assert llm.complete_sync("hello", max_tokens=3).text == "HEL"


def test_missing_vllm_says_how_to_install(monkeypatch):
    from longweave.errors import ConfigError

    monkeypatch.setitem(sys.modules, "vllm", None)
    with pytest.raises(ConfigError, match=r"longweave\[vllm\]"):
        load_llm("vllm:org/model")
