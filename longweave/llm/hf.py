"""Models through transformers (``AutoModelForCausalLM``), on CPU or GPU.

Loads a hub id or a local folder, or a GGUF file inside a folder (``gguf_file=``, which
transformers dequantises: slow to load, see DESIGN.md). Calls run one at a time on the model's
own thread (`ModelThread`: PyTorch's CPU kernels, like llama.cpp, use one OpenMP team per
calling thread). Tokenizers with a chat template are used through it; base models get
`render_plain`.

Install: ``pip install 'longweave[hf]'`` (torch and accelerate).
"""

from __future__ import annotations

import logging
import time

from longweave.errors import ConfigError, ContextWindowExceeded
from longweave.llm.base import LLM, Messages
from longweave.llm.model_thread import ModelThread
from longweave.llm.prompt_format import STOP_SEQUENCES, render_plain
from longweave.llm.usage import Completion
from longweave.text.tokenizer import hf_tokenizer

log = logging.getLogger(__name__)


class HuggingFace(LLM):
    """A causal language model run by transformers.

    Args:
        model_or_path: a hub id (must be in the local cache when offline) or a folder.
        device: "cpu", "cuda", "cuda:1", or "auto".
        dtype: torch dtype name ("float32", "bfloat16"...); default float32 on CPU, auto on GPU.
        gguf_file: a GGUF file name inside `model_or_path` to load instead of safetensors.
        context_window: defaults to the model config's ``max_position_embeddings`` (capped at 32768).
    """

    max_concurrency = 1

    def __init__(
        self,
        model_or_path: str,
        *,
        device: str = "cpu",
        dtype: str | None = None,
        gguf_file: str | None = None,
        context_window: int | None = None,
        chat_template: str = "auto",
        seed: int = 0,
        **kwargs,
    ) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:
            raise ConfigError("the hf backend needs torch: pip install 'longweave[hf]'.") from exc
        extra = {"gguf_file": gguf_file} if gguf_file else {}
        log.info("transformers: loading %s on %s", model_or_path, device)
        loading = time.monotonic()
        try:
            tok = AutoTokenizer.from_pretrained(model_or_path, **extra)
            torch_dtype = getattr(torch, dtype) if dtype else (torch.float32 if device == "cpu" else "auto")
            model = AutoModelForCausalLM.from_pretrained(model_or_path, dtype=torch_dtype, **extra)
        except OSError as exc:
            raise ConfigError(
                f"transformers cannot load {model_or_path!r}: {exc}. Offline, give a local folder."
            ) from exc
        if device != "auto":
            model.to(device)
        model.eval()
        log.info("transformers: %s loaded in %.1f s", model_or_path, time.monotonic() - loading)
        window = context_window or min(getattr(model.config, "max_position_embeddings", 8192), 32768)
        super().__init__(model=str(model_or_path), context_window=window, **kwargs)
        self._torch, self._tok, self._model, self.device, self.seed = torch, tok, model, device, seed
        self.uses_chat_template = bool(getattr(tok, "chat_template", None)) and chat_template == "auto"
        self.runs_on_cpu = str(getattr(model, "device", device)).startswith("cpu")
        self._tokenizer = hf_tokenizer(tok)
        self._thread = ModelThread(f"transformers-{self.model}")

    def _run(self, messages: Messages, params: dict) -> Completion:
        torch = self._torch
        if self.uses_chat_template:
            prompt = self._tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            stops = list(params.get("stop") or [])
        else:
            prompt = render_plain(messages)
            stops = [*STOP_SEQUENCES, *(params.get("stop") or [])]
        # Chat templates write the BOS token themselves; plain prompts need the tokenizer's.
        inputs = self._tok(prompt, return_tensors="pt", add_special_tokens=not self.uses_chat_template)
        inputs = inputs.to(self._model.device)
        n_prompt = int(inputs["input_ids"].shape[1])
        room = self.context_window - n_prompt
        if room < 1:
            raise ContextWindowExceeded(
                f"the prompt has {n_prompt} tokens, the window is {self.context_window}; send less text.",
                model=self.model,
            )
        max_new = min(params.get("max_tokens") or 512, room)
        temperature = params.get("temperature", 0.7)
        gen = {
            "max_new_tokens": max_new,
            "do_sample": temperature > 0,
            "pad_token_id": self._tok.eos_token_id,
        }
        if temperature > 0:
            gen.update(temperature=temperature, top_p=params.get("top_p", 0.95))
        if params.get("min_tokens"):
            gen["min_new_tokens"] = min(params["min_tokens"], max_new)
        if stops:
            gen.update(stop_strings=stops, tokenizer=self._tok)
        with torch.no_grad():
            torch.manual_seed(params.get("seed", self.seed))
            out = self._model.generate(**inputs, **gen)
        new_ids = out[0][n_prompt:]
        text = self._tok.decode(new_ids, skip_special_tokens=True)
        finish = "length" if len(new_ids) >= max_new else "stop"
        for stop in stops:
            if stop in text:
                text, finish = text[: text.index(stop)], "stop"
        return Completion(text, n_prompt, int(len(new_ids)), finish, self.model)

    async def generate(self, messages: Messages, **params) -> Completion:
        return await self._thread.run(self._run, messages, params)
