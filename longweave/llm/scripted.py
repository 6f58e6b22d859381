"""A deterministic model for tests, previews and documentation.

`ScriptedLLM` answers from a list of replies, a function of the prompt, or regex rules, and
records every prompt it received. Tests written with it fail when a pipeline drops or
misroutes information, because a rule can only answer from what its prompt contains. Users
can test their own pipelines the same way (it ships with the library, like dspy's DummyLM).

It honours ``max_tokens`` (the reply is cut to that many tokens, ``finish_reason="length"``)
and ``stop`` sequences, so length-control logic meets the same behaviour as with a real model.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Iterable, Sequence

from longweave.errors import ConfigError
from longweave.llm.base import LLM, Messages
from longweave.llm.usage import Completion

Reply = str | Completion
Responder = Callable[[Messages], Reply]
RuleReply = str | Callable[[re.Match, Messages], Reply]


def prompt_text(messages: Messages) -> str:
    """All message contents joined, the text a rule matches against."""
    return "\n\n".join(m["content"] for m in messages)


class ScriptedLLM(LLM):
    """A model whose replies are written by the test.

    Args:
        replies: replies returned in order (a list), or a function ``messages -> reply``.
        rules: ``[(regex, reply), ...]`` tried in order against the whole prompt text; a reply
            may be a function ``(match, messages) -> reply``. Used when `replies` is None or
            exhausted.
        default: the reply when nothing else applies; without one, an unmatched prompt raises
            ConfigError naming the prompt, so a test never passes by accident.
        latency: seconds each call sleeps, to exercise concurrency.
        context_window: as for `LLM`.

    Attributes:
        calls: every message list received, in arrival order.

    Example:
        >>> llm = ScriptedLLM(rules=[(r"capital of (\\w+)", lambda m, _: f"{m[1]} City")])
        >>> llm.complete_sync("What is the capital of Oz?").text
        'Oz City'
    """

    def __init__(
        self,
        replies: Sequence[Reply] | Responder | None = None,
        *,
        rules: Iterable[tuple[str, RuleReply]] | dict[str, RuleReply] | None = None,
        default: Reply | None = None,
        latency: float = 0.0,
        model: str = "scripted",
        **kwargs,
    ) -> None:
        super().__init__(model=model, **kwargs)
        self._responder = replies if callable(replies) else None
        self._queue = list(replies) if replies is not None and not callable(replies) else []
        items = rules.items() if isinstance(rules, dict) else (rules or [])
        self._rules = [(re.compile(p, re.S | re.I), r) for p, r in items]
        self._default = default
        self.latency = latency
        self.calls: list[Messages] = []
        self._lock = threading.Lock()

    @property
    def prompts(self) -> list[str]:
        """The text of every prompt received (all messages joined), in order."""
        return [prompt_text(m) for m in self.calls]

    def _reply(self, messages: Messages) -> Reply:
        if self._responder is not None:
            return self._responder(messages)
        with self._lock:
            if self._queue:
                return self._queue.pop(0)
        text = prompt_text(messages)
        for pattern, reply in self._rules:
            match = pattern.search(text)
            if match:
                return reply(match, messages) if callable(reply) else reply
        if self._default is not None:
            return self._default
        raise ConfigError(
            "ScriptedLLM has no reply for this prompt (no replies left, no rule matched, no "
            f"default); add a rule or a default. Prompt starts: {text[:200]!r}"
        )

    async def generate(self, messages: Messages, **params) -> Completion:
        with self._lock:
            self.calls.append(messages)
        if self.latency:
            await asyncio.sleep(self.latency)
        reply = self._reply(messages)
        if isinstance(reply, Completion):
            return reply
        text, finish = str(reply), "stop"
        for stop in params.get("stop") or ():
            if stop and stop in text:
                text = text[: text.index(stop)]
        max_tokens = params.get("max_tokens")
        if max_tokens is not None:
            ids = self.tokenizer.encode(text)
            if len(ids) > max_tokens:
                text, finish = self.tokenizer.decode(ids[:max_tokens]), "length"
        return Completion(
            text=text,
            prompt_tokens=self.count_tokens(messages),
            completion_tokens=self.count_tokens(text),
            finish_reason=finish,
            model=self.model,
        )
