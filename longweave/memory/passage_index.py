"""The passage index: a corpus cut into passages, embedded, searchable, saved and loaded.

`RAGIndex` is what the retrieving readers (RAG, RetrieveThenReason) and the report writer
share: built once per corpus (`RAGIndex.build`), reused across questions, saved to or loaded
from a folder. Building it again costs little, since every file's passage vectors are kept in a
persistent cache keyed by the file's text and the settings (``longweave.memory.index_cache``):
only new or changed files are embedded. Each `Passage` found keeps where it sits in the corpus
(offsets, file name), so a reader can cite it. `reorder_passages` puts the strongest at both
ends of a context, [d1, d3, d5, ..., d4, d2], because models use the middle of a long context
worst (Jin et al., 2024, "Long-Context LLMs Meet RAG"; Liu et al., 2023, "Lost in the Middle").

Deliberately not here: hybrid (BM25 + dense) retrieval, re-ranking models, incremental updates
of a saved index folder (build again: unchanged files come from the cache), and prompting.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from longweave.errors import ConfigError, InputError
from longweave.events import EventHandler, Progress
from longweave.memory.embedders import Embedder, HashingEmbedder, load_embedder
from longweave.memory.index_cache import CachedFile, IndexCacheOption, open_index_cache, passage_settings
from longweave.memory.vector_index import VectorIndex
from longweave.text.chunking import chunk
from longweave.text.documents import Corpus, Document, Source, as_corpus
from longweave.text.headings import TRAIL_SEPARATOR, Headings, section_line
from longweave.text.tokenizer import Tokenizer, get_tokenizer

log = logging.getLogger(__name__)

T = TypeVar("T")
_EMBED_BATCH = 256
_SAVED = ("text", "start", "end", "source", "heading")  # a Passage's fields in passages.jsonl


@dataclass(slots=True)
class Passage:
    """A retrieved piece of the source with where it came from.

    Attributes:
        text: the passage.
        start: character offset in the source text.
        end: end offset (exclusive).
        source: the file it came from ("" for a plain string).
        score: similarity to the query (cosine).
        rank: 1 for the best match.
        heading: the headings it sits under, innermost last ("shutil — High-level file
            operations › Directory and files operations › shutil.rmtree(path, ...)"; see
            `longweave.text.headings`), "" where the text has none above it.
    """

    text: str
    start: int
    end: int
    source: str = ""
    score: float = 0.0
    rank: int = 0
    heading: str = ""

    @property
    def shown(self) -> str:
        """The passage as a reader sees it: its section line, then its text.

        A passage cut out of a section often no longer names what it is about ("Delete an
        entire directory tree" without ``shutil.rmtree``); the section line gives that back.
        """
        text = self.text.strip()
        return f"{section_line(self.heading)}\n{text}" if self.heading else text


def section_at(passages: Sequence[Passage], offset: int) -> str:
    """The innermost heading over `offset`, from the passage that holds it ("" if none).

    A heading inside the passage before `offset` wins over the one the passage starts under.
    """
    for p in passages:
        if p.start <= offset < p.end:
            inner = Headings(p.text).trail(offset - p.start)
            if inner:
                return inner[-1]
            return p.heading.rsplit(TRAIL_SEPARATOR, 1)[-1]
    return ""


def reorder_passages(ranked: Sequence[T]) -> list[T]:
    """Put the best at both ends: [d1, d2, d3, d4, d5] -> [d1, d3, d5, d4, d2].

    Example:
        >>> reorder_passages([1, 2, 3, 4, 5])
        [1, 3, 5, 4, 2]
    """
    return list(ranked[0::2]) + list(ranked[1::2])[::-1]


def _embedder_spec(embedder: Embedder) -> str:
    if isinstance(embedder, HashingEmbedder):
        return f"hash:{embedder.dim}"
    if embedder.name == "all-MiniLM-L6-v2":
        return "minilm"
    return embedder.name


def _load_embedder_spec(spec: str) -> Embedder:
    if spec.startswith("hash:"):
        return HashingEmbedder(int(spec[5:]))
    return load_embedder(spec)


class RAGIndex:
    """Passages of a corpus and their vectors, searchable, reusable and savable.

    Build with `RAGIndex.build(corpus)` (or `RAG.index`); `search(query, k)` returns the best
    passages with scores and source names; `save(folder)` / `RAGIndex.load(folder)`.
    """

    def __init__(self, passages: list[Passage], vectors: VectorIndex, embedder: Embedder, chunk_tokens: int):
        self.passages = passages
        self.vectors = vectors
        self.embedder = embedder
        self.chunk_tokens = chunk_tokens

    @classmethod
    def build(
        cls,
        document: str | Document | Corpus,
        *,
        embedder: str | Embedder = "minilm",
        chunk_tokens: int = 256,
        tokenizer: Tokenizer | None = None,
        on_event: EventHandler | None = None,
        index_cache: IndexCacheOption = True,
    ) -> RAGIndex:
        """Chunk `document` into passages of at most `chunk_tokens` tokens and embed them.

        Files are chunked one by one, so no passage straddles two. With `index_cache` (on by
        default) each file's passages and vectors are kept on disk, keyed by its text and these
        settings: a file seen before is not embedded again (see `longweave.memory.index_cache`).

        Args:
            document: the text, a `Document` or a `Corpus`.
            embedder: an `Embedder` or a spec for `load_embedder`.
            chunk_tokens: passage size.
            tokenizer: counts tokens for chunking; default cl100k_base.
            on_event: called with `longweave.events.Progress` events: stage "cached" (passages
                from the cache, of all) once when the cache held any, then "index" (passages
                done, of all) as the rest are embedded.
            index_cache: True for the default cache folder, a folder, an `IndexCache`, or False.

        Raises:
            InputError: the document is empty.
        """
        corpus = as_corpus(document)
        if not corpus.text.strip():
            raise InputError("the document is empty; pass text to index.")
        emb = load_embedder(embedder)
        tok = tokenizer or get_tokenizer()
        sources = corpus.sources or [Source("", 0, len(corpus.text))]
        texts = [corpus.text[s.start : s.end] for s in sources]
        headings = [Headings(t) for t in texts]  # parsed once: embedding and passages both use them
        cache = open_index_cache(index_cache)
        settings = passage_settings(emb, chunk_tokens, tok)
        files = cache.load(texts, settings, emb.dim or None) if cache is not None else [None] * len(texts)
        missing = {i: _spans(texts[i], chunk_tokens, tok) for i, f in enumerate(files) if f is None}
        done = sum(len(f.spans) for f in files if f is not None)
        total = done + sum(len(s) for s in missing.values())
        log.info("index: %d passages from %d file(s), %d from the cache", total, len(texts), done)
        if on_event and done:
            on_event(Progress("cached", done, total))
        for finished, embedded in _embed(emb, texts, headings, missing):
            for i, entry in finished.items():
                files[i] = entry
            if cache is not None and finished:
                cache.store([texts[i] for i in finished], settings, list(finished.values()))
            done += embedded
            if on_event:
                on_event(Progress("index", done, total))
        passages, index = [], None
        for src, text, heads, entry in zip(sources, texts, headings, files, strict=True):
            if entry is None:  # a file of blanks only: no passages
                continue
            if index is None:
                index = VectorIndex(entry.vectors.shape[1])
            index.add(entry.vectors, ids=np.arange(len(passages), len(passages) + len(entry.spans)))
            passages.extend(
                Passage(
                    text[a:b], src.start + a, src.start + b, src.name, heading=heads.label(a, before=True)
                )
                for a, b in entry.spans.tolist()
            )
        if index is None:
            raise InputError("the document has no passages to index; pass text with words in it.")
        return cls(passages, index, emb, chunk_tokens)

    def __len__(self) -> int:
        return len(self.passages)

    def search(self, query: str, k: int = 5) -> list[Passage]:
        """The `k` passages most similar to `query`, best first, with ``score`` and ``rank``."""
        scores, ids = self.vectors.search(self.embedder.embed([query]), k)
        out = []
        for rank, (score, pid) in enumerate(zip(scores[0], ids[0], strict=True), 1):
            if pid < 0:
                continue
            p = self.passages[int(pid)]
            out.append(Passage(p.text, p.start, p.end, p.source, float(score), rank, p.heading))
        return out

    def save(self, folder: str | Path) -> Path:
        """Write passages (JSON lines), vectors (faiss) and settings to `folder`."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.vectors.save(folder / "vectors.faiss")
        with (folder / "passages.jsonl").open("w", encoding="utf-8") as fh:
            for p in self.passages:
                fh.write(json.dumps({k: getattr(p, k) for k in _SAVED}) + "\n")
        meta = {"embedder": _embedder_spec(self.embedder), "chunk_tokens": self.chunk_tokens, "version": 2}
        (folder / "rag.json").write_text(json.dumps(meta))
        return folder

    @classmethod
    def load(cls, folder: str | Path, *, embedder: str | Embedder | None = None) -> RAGIndex:
        """Read an index written by `save`; the embedder is rebuilt from its saved name unless given.

        Raises:
            InputError: the folder does not hold a saved index.
            ConfigError: `embedder` differs from the one the index was built with.
        """
        folder = Path(folder)
        try:
            meta = json.loads((folder / "rag.json").read_text())
            with (folder / "passages.jsonl").open(encoding="utf-8") as fh:
                passages = [Passage(**json.loads(line)) for line in fh if line.strip()]
        except (OSError, ValueError, TypeError) as exc:
            raise InputError(
                f"{folder} does not hold a saved RAG index ({exc}); build one with RAG.index."
            ) from exc
        vectors = VectorIndex.load(folder / "vectors.faiss")
        emb = _load_embedder_spec(meta["embedder"]) if embedder is None else load_embedder(embedder)
        if _embedder_spec(emb) != meta["embedder"]:
            raise ConfigError(
                f"the index at {folder} was built with the embedder {meta['embedder']!r}, not "
                f"{_embedder_spec(emb)!r}; load it with that embedder or rebuild the index."
            )
        return cls(passages, vectors, emb, meta["chunk_tokens"])


def _spans(text: str, chunk_tokens: int, tokenizer: Tokenizer) -> np.ndarray:
    """(start, end) of each passage of `text` that is not blank, as an (n, 2) array."""
    spans = [(c.start, c.end) for c in chunk(text, chunk_tokens, tokenizer) if c.strip()]
    return np.asarray(spans, dtype=np.int64).reshape(-1, 2)


def _embed(
    embedder: Embedder, texts: list[str], headings: list[Headings], spans: dict[int, np.ndarray]
) -> Iterator[tuple[dict[int, CachedFile], int]]:
    """Embed the passages of the files in `spans`, `_EMBED_BATCH` at a time across files.

    Each passage is embedded under its innermost heading (`embedded_text`), so a paragraph
    that does not name its subject is still found by it.

    Yields, after each batch, the files it completed (so they can be cached at once: a build
    that is interrupted keeps what it finished) and how many passages it embedded.
    """
    items = [(i, int(a), int(b)) for i, s in spans.items() for a, b in s]
    rows: dict[int, list[np.ndarray]] = {i: [] for i, s in spans.items() if len(s)}
    for n in range(0, len(items), _EMBED_BATCH):
        batch = items[n : n + _EMBED_BATCH]
        shown = [embedded_text(texts[i][a:b], headings[i].label(a, before=True, last=1)) for i, a, b in batch]
        vectors = embedder.embed(shown)
        finished = {}
        for (i, _, _), row in zip(batch, vectors, strict=True):
            rows[i].append(row)
            if len(rows[i]) == len(spans[i]):
                finished[i] = CachedFile(spans[i], np.stack(rows.pop(i)))
        yield finished, len(batch)


def embedded_text(text: str, heading: str) -> str:
    """What is embedded for a passage: its innermost heading, then its text.

    Only the innermost: on the Python docs (benchmarks/bench_reading_real.py, oracle reader)
    the whole trail cost two multi-hop passages, as a long shared trail makes passages of one
    page alike, while the innermost heading alone reached every gold passage (29/29).
    """
    return f"{heading}\n{text}" if heading else text


__all__ = ["Passage", "RAGIndex", "reorder_passages"]
