"""A persistent cache of passage embeddings, so that a corpus is embedded once.

Indexing a corpus means chunking every file into passages and embedding each one; with MiniLM
on two cores that is nearly all of a retrieval question's cost. `IndexCache` keeps, per file,
its passages' spans and vectors under a key made of the file's text and of everything else that
decides them: the embedder (kind, model, size, options), the passage size, the tokenizer and the
chunker's version. So an unchanged file is never embedded again, a changed file gets a new key
and is embedded alone, and a file no longer in the corpus is simply not looked up (its entry is
dropped once unused for `max_age_days`). Files are keyed by content, not by name: the same file
in two folders, or a folder and one of its subfolders, share their entries.

Storage is one SQLite file (``passages.db``), a row per entry with the spans as int64 and the
vectors as float32 blobs. SQLite rather than faiss files plus a manifest, because entries are
per file and shared between corpora, which a faiss file per corpus cannot share; because its
transactions make concurrent writers (threads, processes) safe with no manifest to keep in
step; and because faiss's flat index is rebuilt from the vectors in milliseconds (a copy), so
storing faiss's own format would buy nothing.

Where: ``$LONGWEAVE_INDEX_CACHE`` if set, else ``index/`` under longweave's cache folder
(``$LONGWEAVE_CACHE`` or ``~/.cache/longweave``). Deleting the folder clears it.

Damage is never an error: an entry whose blobs do not fit its file is a miss (embedded again and
overwritten), a file that is not a database is deleted and started afresh, and a cache that
cannot be written (a read-only disk, a lock held too long) warns once and is bypassed.

Deliberately not here: chunking and embedding (the caller, `RAGIndex.build`, does both), search
(``vector_index``), and a size cap (old entries age out; delete the folder to start over).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
import warnings
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from longweave.errors import ConfigError
from longweave.memory.embedders import Embedder, HashingEmbedder, MiniLMEmbedder, OpenAIEmbedder
from longweave.text.tokenizer import Tokenizer

FILE_NAME = "passages.db"
# Bump when chunking or the stored layout changes, so old entries are never read as new ones.
_FORMAT = 3
_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    settings TEXT NOT NULL,
    passages INTEGER NOT NULL,
    dim INTEGER NOT NULL,
    spans BLOB NOT NULL,
    vectors BLOB NOT NULL,
    used REAL NOT NULL
);
"""
_BATCH = 500  # keys per statement, well under SQLite's parameter limit
_TOUCH_AFTER = 86_400.0  # refresh an entry's last-use time at most once a day (reads stay reads)


@dataclass(slots=True)
class CachedFile:
    """One file's passages: ``spans`` (n, 2) int64 offsets into its text, ``vectors`` (n, dim)."""

    spans: np.ndarray
    vectors: np.ndarray


def default_path() -> Path:
    """The cache folder: ``$LONGWEAVE_INDEX_CACHE``, else ``index/`` in longweave's cache folder."""
    if os.environ.get("LONGWEAVE_INDEX_CACHE"):
        return Path(os.environ["LONGWEAVE_INDEX_CACHE"])
    from longweave.llm.local import cache_dir

    return cache_dir() / "index"


def embedder_key(embedder: Embedder) -> str:
    """What decides an embedder's vectors, as a string: its kind, model, size and options.

    Your own embedder may set a ``cache_key`` string; otherwise its class, ``name`` and ``dim``
    are used, so give it a distinct ``name`` per model.
    """
    own = getattr(embedder, "cache_key", None)
    if isinstance(own, str) and own:
        return own
    if isinstance(embedder, HashingEmbedder):
        return f"hash:{embedder.dim}:bigrams={embedder.bigrams}"
    if isinstance(embedder, MiniLMEmbedder):
        return f"minilm:{embedder.model_path}:max_length={embedder.max_length}"
    if isinstance(embedder, OpenAIEmbedder):
        return f"openai:{embedder.model}@{embedder.base_url or 'api.openai.com'}"
    cls = type(embedder)
    return f"{cls.__module__}.{cls.__qualname__}:{embedder.name}:{embedder.dim}"


def passage_settings(embedder: Embedder, chunk_tokens: int, tokenizer: Tokenizer) -> str:
    """Everything besides a file's text that decides its passages and vectors."""
    return f"v{_FORMAT}|{embedder_key(embedder)}|chunk_tokens={chunk_tokens}|tokenizer={tokenizer.name}"


def _key(text: str, settings: str) -> str:
    h = hashlib.sha256(settings.encode("utf-8") + b"\0")
    h.update(text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


class IndexCache:
    """Passage spans and vectors per (file text, settings), in one SQLite file.

    Safe to share between threads and processes: each call opens its own connection, and
    writes are single transactions.

    Args:
        path: the folder to keep ``passages.db`` in; default `default_path()`.
        max_age_days: entries unused this long are dropped when something is written.

    Example:
        >>> import tempfile, numpy as np
        >>> cache = IndexCache(tempfile.mkdtemp())
        >>> entry = CachedFile(np.array([[0, 5]]), np.ones((1, 4), dtype="float32") / 2)
        >>> cache.store(["Hello"], "hash:4", [entry])
        >>> [f is not None for f in cache.load(["Hello", "Bye"], "hash:4")]
        [True, False]
    """

    def __init__(self, path: str | os.PathLike | None = None, *, max_age_days: float = 30.0) -> None:
        self.folder = Path(path) if path is not None else default_path()
        self.max_age_days = max_age_days
        self._broken = False  # warned once; later calls skip the cache

    @property
    def path(self) -> Path:
        """The SQLite file."""
        return self.folder / FILE_NAME

    def _connect(self) -> sqlite3.Connection:
        self.folder.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(self.path), timeout=30.0)
        try:
            db.execute("PRAGMA journal_mode=WAL")  # readers are not blocked by a writer
            db.executescript(_SCHEMA)
        except BaseException:
            db.close()
            raise
        return db

    def _run(self, work, default):
        """Run ``work(db)``; a damaged file is replaced once, anything else bypasses the cache."""
        if self._broken:
            return default
        for attempt in (1, 2):
            try:
                with closing(self._connect()) as db:
                    return work(db)
            except sqlite3.OperationalError as exc:  # locked too long, read-only, disk full
                return self._bypass(exc, default)
            except sqlite3.DatabaseError as exc:  # not a database, or a malformed one
                if attempt == 2:
                    return self._bypass(exc, default)
                self._reset()
            except OSError as exc:
                return self._bypass(exc, default)
        return default  # not reached: the second attempt returns or bypasses

    def _reset(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def _bypass(self, exc: Exception, default):
        self._broken = True
        warnings.warn(
            f"the passage index cache at {self.folder} cannot be used ({exc}); indexing without it. "
            "Fix its folder's permissions, set LONGWEAVE_INDEX_CACHE to another folder, or pass "
            "index_cache=False.",
            RuntimeWarning,
            stacklevel=4,
        )
        return default

    def load(self, texts: Sequence[str], settings: str, dim: int | None = None) -> list[CachedFile | None]:
        """The cached entry of each text under `settings`, or None where there is none or it is damaged.

        Args:
            texts: the files' texts.
            settings: from `passage_settings`.
            dim: the vector size expected; None takes the first entry's.
        """
        keys = [_key(t, settings) for t in texts]
        if not keys:
            return []

        def work(db: sqlite3.Connection) -> dict[str, tuple]:
            rows: dict[str, tuple] = {}
            now = time.time()
            for i in range(0, len(keys), _BATCH):
                part = sorted(set(keys[i : i + _BATCH]))
                marks = ",".join("?" * len(part))
                found = db.execute(
                    f"SELECT key, passages, dim, spans, vectors FROM entries WHERE key IN ({marks})", part
                ).fetchall()
                rows.update((r[0], r[1:]) for r in found)
            hits = list(rows)
            try:
                with db:
                    for i in range(0, len(hits), _BATCH):
                        part = hits[i : i + _BATCH]
                        marks = ",".join("?" * len(part))
                        db.execute(
                            f"UPDATE entries SET used = ? WHERE used < ? AND key IN ({marks})",
                            [now, now - _TOUCH_AFTER, *part],
                        )
            except sqlite3.OperationalError:  # a read-only or busy cache still serves reads
                pass
            return rows

        rows = self._run(work, {})
        out: list[CachedFile | None] = []
        for text, key in zip(texts, keys, strict=True):
            entry = _decode(rows.get(key), len(text), dim)
            if entry is not None and dim is None:
                dim = entry.vectors.shape[1]
            out.append(entry)
        return out

    def store(self, texts: Sequence[str], settings: str, entries: Sequence[CachedFile]) -> None:
        """Keep each text's entry under `settings` (replacing what was there), in one transaction."""
        rows = []
        for text, entry in zip(texts, entries, strict=True):
            spans = np.ascontiguousarray(entry.spans, dtype=np.int64).reshape(-1, 2)
            vectors = np.ascontiguousarray(entry.vectors, dtype=np.float32)
            if vectors.ndim != 2 or len(vectors) != len(spans):
                raise ValueError(f"{len(spans)} spans but vectors of shape {vectors.shape}")
            key = _key(text, settings)
            rows.append((key, settings, len(spans), vectors.shape[1], spans.tobytes(), vectors.tobytes()))
        if not rows:
            return

        def work(db: sqlite3.Connection) -> None:
            now = time.time()
            with db:
                db.executemany(
                    "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(*row, now) for row in rows],
                )
                db.execute("DELETE FROM entries WHERE used < ?", (now - self.max_age_days * 86_400,))

        self._run(work, None)

    def clear(self) -> int:
        """Drop every entry; returns how many there were."""

        def work(db: sqlite3.Connection) -> int:
            with db:
                return db.execute("DELETE FROM entries").rowcount

        return self._run(work, 0)

    def count(self) -> int:
        """How many entries (files under one set of settings) are kept."""
        return self._run(lambda db: db.execute("SELECT COUNT(*) FROM entries").fetchone()[0], 0)


IndexCacheOption = bool | str | os.PathLike | IndexCache | None


def open_index_cache(option: IndexCacheOption) -> IndexCache | None:
    """The cache an ``index_cache=`` argument names: True the default one, a folder, or None for off."""
    if option is True:
        return IndexCache()
    if option is False or option is None:
        return None
    if isinstance(option, IndexCache):
        return option
    if isinstance(option, str | os.PathLike):
        return IndexCache(option)
    raise ConfigError(
        f"index_cache must be True, False, a folder or an IndexCache, not {type(option).__name__}."
    )


def _decode(row: tuple | None, text_len: int, dim: int | None) -> CachedFile | None:
    """A stored row as arrays, or None when it does not fit the file it claims to describe."""
    if row is None:
        return None
    n, row_dim, spans_blob, vectors_blob = row
    if (
        not isinstance(spans_blob, bytes)
        or not isinstance(vectors_blob, bytes)
        or n < 1
        or row_dim < 1
        or (dim is not None and row_dim != dim)
        or len(spans_blob) != n * 16
        or len(vectors_blob) != n * row_dim * 4
    ):
        return None
    spans = np.frombuffer(spans_blob, dtype=np.int64).reshape(n, 2)
    vectors = np.frombuffer(vectors_blob, dtype=np.float32).reshape(n, row_dim)
    starts, ends = spans[:, 0], spans[:, 1]
    if starts.min() < 0 or ends.max() > text_len or (ends <= starts).any() or (starts[1:] < ends[:-1]).any():
        return None
    if not np.isfinite(vectors).all():
        return None
    return CachedFile(spans, vectors)


__all__ = [
    "CachedFile",
    "IndexCache",
    "IndexCacheOption",
    "default_path",
    "embedder_key",
    "open_index_cache",
    "passage_settings",
]
