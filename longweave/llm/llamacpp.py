"""GGUF models through llama.cpp (the llama-cpp-python package), on CPU.

One model instance is not thread-safe, so calls run one at a time on the model's own thread
(`ModelThread`: one calling thread keeps llama.cpp to one OpenMP team, see there) and
`generate_many` is effectively sequential (``max_concurrency=1``); llama.cpp's own threads
already use every core for one call. Models with a chat template in their GGUF metadata are
prompted through it (rendered here with llama-cpp-python's Jinja formatter, so ``tools=`` reach
the template and the prompt's exact tokens are known); base models (Gemma 3 270M) get
`render_plain`.

Tool calls: where the template renders ``tools`` (Qwen2.5, Hermes-style templates), pass
OpenAI-style ``tools=[...]``; ``<tool_call>{"name": ..., "arguments": ...}</tool_call>`` blocks in
the reply come back as `Completion.tool_calls` and are removed from the text.

CPU safety: extra buffer types (weight repacking, and the AMX kernel that crashes on Xeons with
AMX) are chosen per machine by `longweave.llm.llamacpp_cpu.choose_extra_buffers`;
``extra_buffers=`` overrides it, and ``settings`` says what was chosen and why.

Per-call parameters beyond the common ones (other backends ignore them):

- ``stop_on_repeat=N`` ends generation as soon as the last N generated tokens repeat a span
  generated earlier in the same reply, or a span of ``repeat_of`` (a text the reply must not
  copy, such as what is already written) (finish_reason ``"repetition"``). Small models fall
  into loops and restate what they are asked to continue; a caller that discards repeated
  text anyway (AgentWrite's writer) saves the tokens the loop would have cost.
- ``min_tokens=N`` keeps end-of-turn tokens from being sampled before N tokens are generated
  (vLLM's parameter of the same name). Instruct models "answer and stop" well short of a long
  section; without it the writer needs continuation calls, each a new prompt to evaluate.

Structured output: ``json_schema={...}`` turns the schema into a llama.cpp grammar (built once
per schema), so the reply is JSON of that shape whatever the model (`supports_json_schema`).

Install: ``pip install 'longweave[local]'``.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import logging
import os
import re
import threading
import time
from pathlib import Path

from longweave.errors import BackendError, ConfigError, ContextWindowExceeded
from longweave.llm.base import LLM, Messages
from longweave.llm.llamacpp_cpu import choose_extra_buffers
from longweave.llm.model_thread import ModelThread
from longweave.llm.prompt_format import STOP_SEQUENCES, render_plain
from longweave.llm.usage import Completion
from longweave.text.tokenizer import CallableTokenizer

log = logging.getLogger(__name__)

_QUIET_LOG = None
_PARAMS_LOCK = threading.Lock()
_TOOL_CALL = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)


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


@contextlib.contextmanager
def _model_params(llama_cpp, use_extra_bufts: bool):
    """Make `llama_cpp.Llama` build its model params with `use_extra_bufts` set.

    llama-cpp-python has no argument for it: `Llama.__init__` takes the library's defaults and
    loads the model at once, so the defaults are wrapped for the length of the construction.
    """
    low = llama_cpp.llama_cpp
    original = low.llama_model_default_params

    def params():
        p = original()
        p.use_extra_bufts = use_extra_bufts
        return p

    with _PARAMS_LOCK:
        low.llama_model_default_params = params
        try:
            yield
        finally:
            low.llama_model_default_params = original


def parse_tool_calls(
    text: str, tool_names: set[str] | frozenset[str] = frozenset()
) -> tuple[str, list[dict]]:
    """Split tool calls off a reply: Hermes/Qwen-style ``<tool_call>`` blocks, or failing those a
    bare (or fenced) JSON call ``{"name": ..., "arguments": ...}`` naming one of `tool_names`,
    which small models write when they skip the tags.

    Returns the text without the calls and the calls as ``{"id", "name", "arguments"}`` dicts
    (``arguments`` a JSON string, as the OpenAI API gives it). A tagged block that is not valid
    JSON is kept as a call with its raw text as arguments, so the caller can report the error.
    """
    calls = []
    for m in _TOOL_CALL.finditer(text):
        body = m[1].strip()
        call = _json_call(body, None)
        if call is None:
            name = re.search(r'"name"\s*:\s*"([^"]+)"', body)
            call = {"name": name[1] if name else "", "arguments": body}
        calls.append({"id": f"call_{len(calls)}", **call})
    if calls:
        return _TOOL_CALL.sub("", text).strip(), calls
    if not tool_names:
        return text, []
    rest = text
    for m in _JSON_BLOCK.finditer(text):
        call = _json_call(m[1] or m[2], tool_names)
        if call is not None:
            calls.append({"id": f"call_{len(calls)}", **call})
            rest = rest.replace(m[0], "")
    return (rest.strip() if calls else text), calls


_JSON_BLOCK = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```|^(\{.*\})\s*$", re.S | re.M)


def _json_call(body: str, tool_names: set[str] | frozenset[str] | None) -> dict | None:
    """``{"name", "arguments"}`` from one JSON call, or None (`tool_names` None: any name)."""
    try:
        data, _ = json.JSONDecoder().raw_decode(body.strip())
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return None
    if tool_names is not None and data["name"] not in tool_names:
        return None
    args = data.get("arguments", data.get("parameters", {}))
    return {"name": data["name"], "arguments": args if isinstance(args, str) else json.dumps(args)}


class _NoEndBefore:
    """llama.cpp logits processor: end-of-generation tokens are impossible until `n` are generated."""

    def __init__(self, prompt_tokens: int, n: int, end_ids: list[int]) -> None:
        self.start, self.n, self.end_ids = prompt_tokens, n, end_ids

    def __call__(self, input_ids, scores):
        if len(input_ids) - self.start < self.n:
            scores[self.end_ids] = -float("inf")
        return scores


class _RepeatStop:
    """llama.cpp stopping criterion: true once the newest `n` tokens repeat an earlier span of
    the reply, or any span of `known` (token ids of text the reply must not copy)."""

    def __init__(self, prompt_tokens: int, n: int, known: list[int] | None = None) -> None:
        self.start, self.n, self.fired, self.length = prompt_tokens, n, False, -1
        known = known or []
        self.seen = {tuple(known[i : i + n]) for i in range(len(known) - n + 1)}

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
        extra_buffers: llama.cpp's extra buffer types (weight repacking); None chooses per CPU
            (off where the AMX kernel would crash, see `llamacpp_cpu`).
        repeat_last_n: tokens the repeat penalty looks back over (llama-cpp-python's default is
            64; small instruct models then repeat whole paragraphs: 256 halved the looping
            replies of Qwen2.5-Coder-0.5B on a 600-word story).
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
        extra_buffers: bool | None = None,
        repeat_last_n: int = 256,
        **kwargs,
    ) -> None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"no GGUF file at {path}; give the path to a .gguf model file.")
        llama_cpp = _import_llama_cpp()
        super().__init__(model=model or path.stem, context_window=context_window, **kwargs)
        use_extra, why = choose_extra_buffers(extra_buffers, model_path=path)
        self.settings = {"extra_buffers": use_extra, "why": why}
        log.info("llama.cpp: loading %s (window %d, extra buffers %s)", path, context_window, use_extra)
        loading = time.monotonic()
        try:
            with _model_params(llama_cpp, use_extra):
                self._llama = llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=context_window,
                    n_threads=n_threads or os.cpu_count(),
                    seed=seed,
                    last_n_tokens_size=repeat_last_n,
                    verbose=False,
                )
        except Exception as exc:  # llama.cpp reports a bad file as ValueError
            raise ConfigError(
                f"llama.cpp cannot load {path}: {exc}; check the file is a complete GGUF "
                "(see the README's troubleshooting section)."
            ) from exc
        log.info("llama.cpp: %s loaded in %.1f s", self.model, time.monotonic() - loading)
        self.seed = seed
        self._thread = ModelThread(f"llama.cpp-{self.model}")
        template = self._llama.metadata.get("tokenizer.chat_template")
        self.uses_chat_template = bool(template) and chat_template == "auto"
        self.supports_tools = self.uses_chat_template and "tools" in (template or "")
        self._lib = llama_cpp
        self._grammars: dict[str, object] = {}
        self._formatter = self._chat_formatter(template) if self.uses_chat_template else None
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

    supports_json_schema = True
    runs_on_cpu = True

    def _grammar(self, schema: dict | None):
        """The llama.cpp grammar for a JSON Schema (cached: building one parses the schema)."""
        if schema is None:
            return None
        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            try:
                self._grammars[key] = self._lib.LlamaGrammar.from_json_schema(key, verbose=False)
            except Exception as exc:
                raise ConfigError(f"llama.cpp cannot turn this JSON Schema into a grammar: {exc}") from exc
        return self._grammars[key]

    def _chat_formatter(self, template: str):
        """The GGUF's chat template as llama-cpp-python renders it for its own chat handler."""
        from llama_cpp import llama_chat_format

        model = self._llama._model
        eos, bos = self._llama.token_eos(), self._llama.token_bos()
        return llama_chat_format.Jinja2ChatFormatter(
            template=template,
            eos_token=model.token_get_text(eos) if eos != -1 else "",
            bos_token=model.token_get_text(bos) if bos != -1 else "",
            stop_token_ids=[eos],
        )

    def render(self, messages: Messages, tools: list | None = None) -> list[int]:
        """The exact prompt tokens `generate` sends for `messages` (and `tools`).

        A trailing assistant message is a prefix of the reply, continued in place (as
        `render_plain` does for base models): the turns before it are rendered up to the
        template's opening of the assistant's turn, and its text follows as is.
        """
        if self._formatter is None:
            prompt = render_plain(messages)
            return self._llama.tokenize(prompt.encode("utf-8"), add_bos=True)
        prefix = ""
        if len(messages) > 1 and messages[-1]["role"] == "assistant":
            messages, prefix = messages[:-1], messages[-1]["content"]
        prompt = self._formatter(messages=messages, tools=tools or None).prompt + prefix
        return self._llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)

    @functools.cached_property
    def _end_ids(self) -> list[int]:
        """The vocabulary's end-of-generation tokens (EOS, end of turn...), found once."""
        vocab, lib = self._llama._model.vocab, self._lib
        return [t for t in range(lib.llama_vocab_n_tokens(vocab)) if lib.llama_vocab_is_eog(vocab, t)]

    def count_tokens(self, text: str | Messages) -> int:
        """Tokens of a string, or of a message list exactly as it is rendered for this model."""
        if isinstance(text, str):
            return super().count_tokens(text)
        return len(self.render(text))

    def _run(self, messages: Messages, params: dict) -> Completion:
        tools = params.get("tools")
        prompt = self.render(messages, tools)
        n_prompt = len(prompt)
        repeat = None
        if params.get("stop_on_repeat"):
            known = params.get("repeat_of")
            ids = self._llama.tokenize(known.encode("utf-8"), add_bos=False) if known else None
            repeat = _RepeatStop(n_prompt, params["stop_on_repeat"], ids)
        processors = None
        if params.get("min_tokens"):
            processors = self._lib.LogitsProcessorList(
                [_NoEndBefore(n_prompt, params["min_tokens"], self._end_ids)]
            )
        stop = list(params.get("stop") or [])
        if self._formatter is None:
            stop = [*STOP_SEQUENCES, *stop]
        try:
            out = self._llama.create_completion(
                prompt,
                max_tokens=self._fit(n_prompt, params.get("max_tokens")),
                stop=stop or None,
                stopping_criteria=llama_cpp_stopping([repeat]) if repeat else None,
                logits_processor=processors,
                temperature=params.get("temperature", 0.7),
                top_p=params.get("top_p", 0.95),
                repeat_penalty=params.get("repeat_penalty", 1.1),
                seed=params.get("seed", self.seed),
                grammar=self._grammar(params.get("json_schema")),
            )
        except ContextWindowExceeded:
            raise
        except ValueError as exc:
            if "context" in str(exc).lower() or "exceed" in str(exc).lower():
                raise ContextWindowExceeded(str(exc), model=self.model) from exc
            raise BackendError(f"llama.cpp failed: {exc}", model=self.model) from exc
        choice = out["choices"][0]
        text, finish = choice["text"], choice.get("finish_reason") or "stop"
        if repeat is not None and repeat.fired:
            finish = "repetition"
        calls: list[dict] = []
        if tools:
            names = {t.get("function", {}).get("name") for t in tools if isinstance(t, dict)}
            text, calls = parse_tool_calls(text, names - {None})
            finish = "tool_calls" if calls else finish
        usage = out.get("usage") or {}
        return Completion(
            text=text,
            prompt_tokens=usage.get("prompt_tokens", n_prompt),
            completion_tokens=usage.get("completion_tokens", 0),
            finish_reason=finish,
            model=self.model,
            tool_calls=calls,
        )

    async def generate(self, messages: Messages, **params) -> Completion:
        return await self._thread.run(self._run, messages, params)

    def timings(self) -> dict:
        """llama.cpp's own counters since the model was loaded: tokens evaluated and milliseconds,
        for the prompt (batched) and for decoding (one token at a time). Benchmarks take the
        difference across a run to get pure decode and prompt speeds."""
        d = self._lib.llama_perf_context(self._llama.ctx)
        return {
            "prompt_tokens": d.n_p_eval,
            "prompt_ms": d.t_p_eval_ms,
            "decode_tokens": d.n_eval,
            "decode_ms": d.t_eval_ms,
        }

    def close(self) -> None:
        self._thread.close()
        llama = self.__dict__.pop("_llama", None)
        if llama is not None:
            llama.close()
