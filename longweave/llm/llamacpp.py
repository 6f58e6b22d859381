"""GGUF models through llama.cpp (the llama-cpp-python package), on CPU.

One model instance is not thread-safe, so calls run one at a time on the model's own thread
(`ModelThread`: one calling thread keeps llama.cpp to one OpenMP team, see there) and
`generate_many` is effectively sequential (``max_concurrency=1``); llama.cpp's own threads
already use every core for one call. Models with a chat template in their GGUF metadata are
prompted through it; base models (the embedded Gemma 3 270M) get `render_plain`.

Per-call parameter beyond the common ones: ``stop_on_repeat=N`` ends generation as soon as the
last N generated tokens repeat a span generated earlier in the same reply (finish_reason
``"repetition"``). Small base models fall into loops; a caller that discards repeated text
anyway (AgentWrite's writer) saves the tokens the loop would have cost. Other backends ignore it.

Install: ``pip install 'longweave[local]'``.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

from longweave.errors import BackendError, ConfigError, ContextWindowExceeded
from longweave.llm.base import LLM, Messages
from longweave.llm.model_thread import ModelThread
from longweave.llm.prompt_format import STOP_SEQUENCES, render_plain
from longweave.llm.usage import Completion
from longweave.text.tokenizer import CallableTokenizer

_QUIET_LOG = None


def llama_cpp_stopping(criteria: list):
    """Wrap plain callables as llama-cpp-python's `StoppingCriteriaList`."""
    import llama_cpp

    return llama_cpp.StoppingCriteriaList(criteria)


def _import_llama_cpp():
    global _QUIET_LOG
    try:
        import llama_cpp
    except ImportError as exc:
        raise ConfigError(
            "the gguf/local backend needs llama-cpp-python: pip install 'longweave[local]'."
        ) from exc
    if _QUIET_LOG is None:
        # llama.cpp prints some notices at level NONE, which verbose=False does not silence;
        # they would break the CLIs' one-line output. Errors still surface as exceptions.
        _QUIET_LOG = llama_cpp.llama_log_callback(lambda level, text, data: None)
        llama_cpp.llama_log_set(_QUIET_LOG, ctypes.c_void_p(0))
    return llama_cpp


class _RepeatStop:
    """llama.cpp stopping criterion: true once the newest `n` tokens repeat an earlier span."""

    def __init__(self, prompt_tokens: int, n: int) -> None:
        self.start, self.n, self.seen, self.fired, self.length = prompt_tokens, n, set(), False, -1

    def __call__(self, input_ids, logits) -> bool:
        generated = input_ids[self.start :]
        if len(generated) == self.length:  # llama-cpp-python asks again once generation has ended
            return self.fired
        self.length = len(generated)
        if len(generated) < self.n:
            return False
        key = tuple(int(t) for t in generated[-self.n :])
        if key in self.seen:
            self.fired = True
            return True
        self.seen.add(key)
        return False


class LlamaCpp(LLM):
    """A GGUF file run by llama.cpp.

    Args:
        path: the ``.gguf`` file.
        context_window: llama.cpp's ``n_ctx`` (prompt plus completion), default 8192.
        n_threads: CPU threads; default all cores.
        chat_template: "auto" (use the GGUF's template when it has one) or "plain".
        seed: default sampling seed, for repeatable runs.
    """

    max_concurrency = 1

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        context_window: int = 8192,
        n_threads: int | None = None,
        chat_template: str = "auto",
        seed: int = 0,
        model: str | None = None,
        **kwargs,
    ) -> None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"no GGUF file at {path}; give the path to a .gguf model file.")
        llama_cpp = _import_llama_cpp()
        super().__init__(model=model or path.stem, context_window=context_window, **kwargs)
        try:
            self._llama = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=context_window,
                n_threads=n_threads or os.cpu_count(),
                seed=seed,
                verbose=False,
            )
        except Exception as exc:  # llama.cpp reports a bad file as ValueError
            raise ConfigError(f"llama.cpp cannot load {path}: {exc}") from exc
        self.seed = seed
        self._thread = ModelThread(f"llama.cpp-{self.model}")
        template = self._llama.metadata.get("tokenizer.chat_template")
        self.uses_chat_template = bool(template) and chat_template == "auto"
        self._tokenizer = CallableTokenizer(
            self.model,
            lambda text: self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False),
            lambda ids: self._llama.detokenize(list(ids)).decode("utf-8", errors="replace"),
        )

    def _fit(self, prompt_tokens: int, max_tokens: int | None) -> int:
        room = self.context_window - prompt_tokens
        if room < 1:
            raise ContextWindowExceeded(
                f"the prompt has {prompt_tokens} tokens, the window of {self.model} is "
                f"{self.context_window}; send less text (smaller chunks) or raise context_window.",
                model=self.model,
            )
        return room if max_tokens is None else min(max_tokens, room)

    def _run(self, messages: Messages, params: dict) -> Completion:
        common = {
            "temperature": params.get("temperature", 0.7),
            "top_p": params.get("top_p", 0.95),
            "repeat_penalty": params.get("repeat_penalty", 1.1),
            "seed": params.get("seed", self.seed),
        }
        try:
            if self.uses_chat_template:
                n_prompt = self.count_tokens(messages)
                out = self._llama.create_chat_completion(
                    messages=messages,
                    max_tokens=self._fit(n_prompt, params.get("max_tokens")),
                    stop=params.get("stop"),
                    **common,
                )
                choice = out["choices"][0]
                text = choice["message"]["content"] or ""
            else:
                prompt = render_plain(messages)
                n_prompt = len(self._llama.tokenize(prompt.encode("utf-8"), add_bos=True))
                repeat = (
                    _RepeatStop(n_prompt, params["stop_on_repeat"]) if params.get("stop_on_repeat") else None
                )
                out = self._llama.create_completion(
                    prompt,
                    max_tokens=self._fit(n_prompt, params.get("max_tokens")),
                    stop=[*STOP_SEQUENCES, *(params.get("stop") or [])],
                    stopping_criteria=llama_cpp_stopping([repeat]) if repeat else None,
                    **common,
                )
                choice = out["choices"][0]
                text = choice["text"]
                if repeat is not None and repeat.fired:
                    choice["finish_reason"] = "repetition"
        except ContextWindowExceeded:
            raise
        except ValueError as exc:
            if "context" in str(exc).lower() or "exceed" in str(exc).lower():
                raise ContextWindowExceeded(str(exc), model=self.model) from exc
            raise BackendError(f"llama.cpp failed: {exc}", model=self.model) from exc
        usage = out.get("usage") or {}
        return Completion(
            text=text,
            prompt_tokens=usage.get("prompt_tokens", n_prompt),
            completion_tokens=usage.get("completion_tokens", 0),
            finish_reason=choice.get("finish_reason") or "stop",
            model=self.model,
        )

    async def generate(self, messages: Messages, **params) -> Completion:
        return await self._thread.run(self._run, messages, params)

    def close(self) -> None:
        self._thread.close()
        llama = self.__dict__.pop("_llama", None)
        if llama is not None:
            llama.close()
