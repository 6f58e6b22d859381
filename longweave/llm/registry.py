"""Build a backend from a short spec string: ``load_llm("openai:gpt-4o-mini")``."""

from __future__ import annotations

from longweave.errors import ConfigError
from longweave.llm.base import LLM

SPEC_FORMS = (
    "openai:MODEL (OpenAI API, key from OPENAI_API_KEY)",
    "openai:MODEL@http://HOST:PORT/v1 (any OpenAI-compatible server)",
    "openai:MODEL@URL1,URL2,... (several servers of one model, e.g. vLLM replicas: fewest in flight)",
    "vllm:MODEL (vLLM in-process, GPU)",
    "hf:MODEL_OR_PATH (transformers)",
    "gguf:PATH (llama.cpp)",
    "local (the embedded Qwen2.5-Coder-0.5B-Instruct; local:1.5b, local:gemma-270m for the others)",
    "scripted (deterministic test model)",
)


def load_llm(spec: str | LLM, **options) -> LLM:
    """Create the backend named by `spec`; an `LLM` instance is returned unchanged.

    Args:
        spec: one of the forms in `SPEC_FORMS`.
        **options: passed to the backend (api_key, timeout, max_retries, context_window,
            max_concurrency, device, ...).

    Raises:
        ConfigError: the spec is not one of the valid forms, or its backend is not installed.

    Example:
        >>> load_llm("scripted", default="ok").complete_sync("hi").text
        'ok'
    """
    if isinstance(spec, LLM):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(_unknown(spec))
    spec = spec.strip()
    kind, _, rest = spec.partition(":")
    if kind == "local":
        from longweave.llm.local import load_local

        return load_local(rest or None, **options)
    if spec == "scripted":
        from longweave.llm.scripted import ScriptedLLM

        return ScriptedLLM(**options)
    if not rest:
        raise ConfigError(_unknown(spec))
    if kind == "openai":
        from longweave.llm.openai_compat import OpenAICompatible

        model, at, url = rest.rpartition("@")
        if not at or not url.startswith(("http://", "https://")):
            model, url = rest, None
        if not model:
            raise ConfigError(_unknown(spec))
        if url is not None and "," in url:
            from longweave.llm.pool import EndpointPool

            return EndpointPool(model, url.split(","), **options)
        return OpenAICompatible(model, base_url=url, **options)
    if kind == "vllm":
        from longweave.llm.vllm_engine import VLLMEngine

        return VLLMEngine(rest, **options)
    if kind == "hf":
        from longweave.llm.hf import HuggingFace

        return HuggingFace(rest, **options)
    if kind == "gguf":
        from longweave.llm.llamacpp import LlamaCpp

        return LlamaCpp(rest, **options)
    raise ConfigError(_unknown(spec))


def _unknown(spec: object) -> str:
    return f"unknown model spec {spec!r}; use one of: " + "; ".join(SPEC_FORMS) + "."
