"""LongMem's memory bank: past context cached in small chunks, retrieved by similarity.

LongMem (Wang et al. 2023, "Augmenting Language Models with Long-Term Memory") caches the
past context of a frozen backbone model in a bank of up to 65k tokens, split into chunks of a
few tokens (csz = 4); a query retrieves the top-k chunks with faiss and the model attends to
them. Here the bank holds text: each chunk is encoded by a frozen encoder (an `Embedder`;
with the hf backend, optionally the model's own mean-pooled hidden states through
`HiddenStateEmbedder`), the oldest chunks are evicted first once the bank exceeds its token
capacity, and retrieved chunks are widened by `context_chunks` neighbours on each side (a
4-token chunk alone rarely carries its meaning) and merged back into passages in source order.

Defaults from the paper: ``chunk_tokens=4``, ``capacity_tokens=65_536``. Retrieval returns
``k=16`` chunks, each with 2 neighbours a side.

Deliberately not here: fusing memories into the model's attention (LongMem's SideNet needs
training; this bank feeds retrieved text into prompts instead) and persistence of anything but
the bank itself (`save` / `load`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from longweave.errors import BudgetError, ConfigError, InputError
from longweave.memory.embedders import Embedder, _normalize, load_embedder
from longweave.memory.passages import Passage, fit_budget
from longweave.memory.vector_index import VectorIndex
from longweave.text import chunk
from longweave.text.tokenizer import Tokenizer, get_tokenizer


class HiddenStateEmbedder:
    """A frozen transformers model used as the encoder: mean-pooled hidden states of one layer.

    Args:
        model: a transformers model (causal LM or encoder), kept frozen (eval, no grad).
        tokenizer: its tokenizer.
        layer: which hidden state (-1: the last).
        batch_size: texts per forward pass.
        max_length: tokens per text.
    """

    def __init__(self, model, tokenizer, *, layer: int = -1, batch_size: int = 32, max_length: int = 512):
        import torch

        self._torch, self._model, self._tok = torch, model.eval(), tokenizer
        if getattr(tokenizer, "pad_token", None) is None:
            tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
        self.layer, self.batch_size, self.max_length = layer, batch_size, max_length
        self.dim = int(model.config.hidden_size)
        self.name = f"hidden:{getattr(model.config, '_name_or_path', 'model') or 'model'}@{layer}"

    @classmethod
    def from_llm(cls, llm, **options) -> HiddenStateEmbedder:
        """The encoder of an `hf:` backend's own model (LongMem's frozen backbone)."""
        model, tok = getattr(llm, "_model", None), getattr(llm, "_tok", None)
        if model is None or tok is None or not hasattr(model, "config"):
            raise ConfigError("hidden-state encoding needs an hf: model (load_llm('hf:PATH')).")
        return cls(model, tok, **options)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        torch, rows = self._torch, []
        device = next(self._model.parameters()).device
        for i in range(0, len(texts), self.batch_size):
            batch = [t if t.strip() else " " for t in texts[i : i + self.batch_size]]
            enc = self._tok(
                batch, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
            ).to(device)
            with torch.inference_mode():
                out = self._model(**enc, output_hidden_states=True)
            hidden = out.hidden_states[self.layer].float()
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            rows.append(((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)).cpu().numpy())
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalize(np.concatenate(rows))


class LongMemBank:
    """A capped bank of small chunks of past text, retrieved by similarity (LongMem).

    Implements the `Memory` protocol (`add`, `retrieve`), so a pipeline can take it as its memory.

    Args:
        encoder: the frozen encoder: an `Embedder` or a spec ("hash", "minilm", ...).
        chunk_tokens: tokens per chunk (LongMem: 4).
        capacity_tokens: the bank's size; past it the oldest chunks are evicted (LongMem: 65k).
        context_chunks: neighbours added on each side of a retrieved chunk.
        tokenizer: counts tokens for chunking and budgets.
        index_options: passed to `VectorIndex` (kind, approximate_after, nprobe).

    Example:
        >>> bank = LongMemBank(chunk_tokens=8, context_chunks=1)
        >>> bank.add("The vault opens with code 9921. The weather was mild all week long.")
        3
        >>> [p.text for p in bank.retrieve("which code opens the vault", k=1)]  # chunk + its neighbour
        ['The vault opens with code 9921. ']
    """

    def __init__(
        self,
        encoder: Embedder | str = "hash",
        *,
        chunk_tokens: int = 4,
        capacity_tokens: int = 65_536,
        context_chunks: int = 2,
        tokenizer: Tokenizer | None = None,
        index_options: dict | None = None,
    ) -> None:
        if chunk_tokens < 1 or capacity_tokens < chunk_tokens or context_chunks < 0:
            raise BudgetError(
                "LongMemBank needs chunk_tokens >= 1, capacity_tokens >= chunk_tokens and "
                "context_chunks >= 0."
            )
        self.encoder = load_embedder(encoder)
        self.chunk_tokens, self.capacity_tokens, self.context_chunks = (
            chunk_tokens,
            capacity_tokens,
            context_chunks,
        )
        self.tokenizer = tokenizer or get_tokenizer()
        self._index_options = dict(index_options or {})
        self._index: VectorIndex | None = None
        self._chunks: dict[int, tuple[str, str | None, int]] = {}  # id -> (text, source, tokens); ids ascend
        self._next_id = 0
        self.tokens = 0
        self.evicted = 0

    @property
    def index(self) -> VectorIndex:
        if self._index is None:
            self._index = VectorIndex(self.encoder.dim, **self._index_options)
        return self._index

    def __len__(self) -> int:
        return len(self._chunks)

    def add(self, text: str, *, source: str | None = None) -> int:
        """Cache `text` as chunks (after everything added before); returns the number of chunks."""
        if not isinstance(text, str):
            raise InputError(f"LongMemBank.add takes text, not {type(text).__name__}.")
        pieces = [c for c in chunk(text, self.chunk_tokens, self.tokenizer) if c.strip()]
        if not pieces:
            return 0
        vectors = self.encoder.embed([str(p) for p in pieces])
        ids = np.arange(self._next_id, self._next_id + len(pieces), dtype=np.int64)
        self.index.add(vectors, ids=ids)
        for i, p in zip(ids.tolist(), pieces, strict=True):
            self._chunks[i] = (str(p), source, p.tokens)
            self.tokens += p.tokens
        self._next_id += len(pieces)
        self._evict()
        return len(pieces)

    def _evict(self) -> None:
        """Drop the oldest chunks until the bank is within its capacity (LongMem's FIFO)."""
        gone = []
        oldest = iter(list(self._chunks))
        while self.tokens > self.capacity_tokens:
            cid = next(oldest)
            self.tokens -= self._chunks.pop(cid)[2]
            gone.append(cid)
        if gone:
            self.index.delete(gone)
            self.evicted += len(gone)

    def retrieve(self, query: str, k: int = 16, budget_tokens: int | None = None) -> list[Passage]:
        """The top-`k` chunks for `query`, widened by their neighbours, merged, in source order."""
        if not self._chunks or k < 1:
            return []
        scores, ids = self.index.search(self.encoder.embed([query]), k=k)
        best: dict[int, float] = {}
        for cid, score in zip(ids[0].tolist(), scores[0].tolist(), strict=True):
            if cid < 0:
                continue
            source = self._chunks[cid][1]
            for j in range(cid - self.context_chunks, cid + self.context_chunks + 1):
                if j in self._chunks and self._chunks[j][1] == source:
                    best[j] = max(best.get(j, -1.0), score)
        passages, run = [], []
        for cid in sorted(best):
            if run and (cid != run[-1] + 1 or self._chunks[cid][1] != self._chunks[run[0]][1]):
                passages.append(self._merge(run, best))
                run = []
            run.append(cid)
        if run:
            passages.append(self._merge(run, best))
        return fit_budget(passages, budget_tokens)

    def _merge(self, run: list[int], best: dict[int, float]) -> Passage:
        parts = [self._chunks[c] for c in run]
        return Passage(
            text="".join(p[0] for p in parts),
            source=parts[0][1],
            score=max(best[c] for c in run),
            position=run[0],
            tokens=sum(p[2] for p in parts),
        )

    # -- persistence ---------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write the bank to folder `path` (bank.json + bank.faiss)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.index.save(path / "bank.faiss")
        state = {
            "encoder": self.encoder.name,
            "chunk_tokens": self.chunk_tokens,
            "capacity_tokens": self.capacity_tokens,
            "context_chunks": self.context_chunks,
            "next_id": self._next_id,
            "evicted": self.evicted,
            "chunks": [[cid, *rest] for cid, rest in self._chunks.items()],
        }
        tmp = path / "bank.json.tmp"
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, path / "bank.json")

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        *,
        encoder: Embedder | str | None = None,
        tokenizer: Tokenizer | None = None,
    ) -> LongMemBank:
        """Read a bank written by `save`; pass `encoder` when it was a `HiddenStateEmbedder`."""
        path = Path(path)
        try:
            state = json.loads((path / "bank.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot load a memory bank from {path}: {exc}") from exc
        if encoder is None:
            if state["encoder"].startswith("hidden:"):
                raise ConfigError("this bank was encoded by a model's hidden states; pass encoder=.")
            encoder = state["encoder"]
        bank = cls(
            encoder,
            chunk_tokens=state["chunk_tokens"],
            capacity_tokens=state["capacity_tokens"],
            context_chunks=state["context_chunks"],
            tokenizer=tokenizer,
        )
        if bank.encoder.name != state["encoder"]:
            raise ConfigError(f"this bank was encoded with {state['encoder']!r}, not {bank.encoder.name!r}.")
        bank._index = VectorIndex.load(path / "bank.faiss")
        bank._chunks = {cid: (text, source, n) for cid, text, source, n in state["chunks"]}
        bank._next_id, bank.evicted = state["next_id"], state["evicted"]
        bank.tokens = sum(c[2] for c in bank._chunks.values())
        return bank
