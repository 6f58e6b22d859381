"""vLLM's in-process engine (``vllm.LLM``) on GPU, with native batching.

`generate_many` hands the whole batch to one ``LLM.chat`` call, so vLLM's continuous batching
schedules it; that is the point of running in-process rather than through `vllm serve`.

This backend is written against vLLM's documented offline API (``vllm.LLM``,
``SamplingParams``, ``LLM.chat``). vLLM needs a GPU and its own CUDA build of PyTorch, so the
test suite exercises it with a stand-in ``vllm`` module (tests/llm/test_vllm.py says so).

Install: ``pip install 'longweave[vllm]'`` on a machine with a supported GPU.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from longweave.errors import ConfigError
from longweave.llm.base import LLM, Messages
from longweave.llm.usage import Completion

log = logging.getLogger(__name__)


class VLLMEngine(LLM):
    """A model loaded in this process by vLLM.

    Args:
        model: a hub id or local folder vLLM can load.
        context_window: vLLM's ``max_model_len``; default the model's own.
        seed: default sampling seed.
        **engine_args: passed to ``vllm.LLM`` (tensor_parallel_size, gpu_memory_utilization, ...).
    """

    max_concurrency = 256

    def __init__(
        self, model: str, *, context_window: int | None = None, seed: int = 0, **engine_args
    ) -> None:
        try:
            import vllm
        except ImportError as exc:
            raise ConfigError(
                "the vllm backend needs vLLM on a GPU machine: pip install 'longweave[vllm]'; "
                "or run `vllm serve MODEL` and use openai:MODEL@http://host:8000/v1."
            ) from exc
        if context_window is not None:
            engine_args["max_model_len"] = context_window
        self._vllm = vllm
        log.info("vLLM: starting the engine for %s", model)
        self._engine = vllm.LLM(model=model, seed=seed, **engine_args)
        window = context_window or self._engine.llm_engine.model_config.max_model_len
        super().__init__(model=model, context_window=window)
        self.seed = seed

    supports_json_schema = True

    def _sampling(self, params: dict):
        extra = {}
        if params.get("json_schema") is not None:
            extra = self._structured(params["json_schema"])
        return self._vllm.SamplingParams(
            max_tokens=params.get("max_tokens") or 512,
            temperature=params.get("temperature", 0.7),
            top_p=params.get("top_p", 1.0),
            stop=params.get("stop") or None,
            seed=params.get("seed", self.seed),
            min_tokens=params.get("min_tokens") or 0,
            **extra,
        )

    def _structured(self, schema: dict) -> dict:
        """SamplingParams arguments constraining the reply to `schema`: ``structured_outputs``
        (vLLM 0.11+; the older ``guided_decoding`` was removed in 0.12), else the older one."""
        from vllm import sampling_params as sp

        if hasattr(sp, "StructuredOutputsParams"):
            return {"structured_outputs": sp.StructuredOutputsParams(json=schema)}
        return {"guided_decoding": sp.GuidedDecodingParams(json=schema)}

    def _run(self, batch: Sequence[Messages], params: dict) -> list[Completion]:
        outputs = self._engine.chat(list(batch), self._sampling(params), use_tqdm=False)
        completions = []
        for out in outputs:
            best = out.outputs[0]
            completions.append(
                Completion(
                    text=best.text,
                    prompt_tokens=len(out.prompt_token_ids or []),
                    completion_tokens=len(best.token_ids or []),
                    finish_reason=best.finish_reason or "stop",
                    model=self.model,
                )
            )
        return completions

    async def generate(self, messages: Messages, **params) -> Completion:
        return (await asyncio.to_thread(self._run, [messages], params))[0]

    async def generate_batch(self, batch: Sequence[Messages], **params) -> list[Completion]:
        return await asyncio.to_thread(self._run, batch, params)
