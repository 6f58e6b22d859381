"""Every model backend behind one interface: subclass `LLM`, write `generate`."""

from longweave.llm.base import LLM, Messages
from longweave.llm.prompt_format import render_plain
from longweave.llm.registry import SPEC_FORMS, load_llm
from longweave.llm.retry import RetryPolicy
from longweave.llm.scripted import ScriptedLLM, prompt_text
from longweave.llm.usage import CallRecord, Completion, EventRecord, Trace, Usage, UsageStats

__all__ = [
    "LLM",
    "SPEC_FORMS",
    "CallRecord",
    "Completion",
    "EventRecord",
    "Messages",
    "RetryPolicy",
    "ScriptedLLM",
    "Trace",
    "Usage",
    "UsageStats",
    "load_llm",
    "prompt_text",
    "render_plain",
]
