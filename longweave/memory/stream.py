"""SCM's memory stream: every item ever stored, persistent in SQLite, searchable by meaning.

Self-Controlled Memory (SCM, Wang et al. 2023) keeps every interaction in a *memory stream*:
its index (turn), the observation and response, a summary, and an embedding. `MemoryStream`
stores those items in one SQLite file (``memory.db``) with their token counts and the
embedding as a float32 blob; a faiss `VectorIndex` over the same rows (faiss ids are the SQLite
rowids) answers similarity searches. The index is saved beside the database on `close` and
rebuilt from the blobs whenever it is missing or out of step, so a process that dies without
closing loses nothing: the database is the single source of truth.

Summaries are written lazily (by the memory controller, when full text does not fit) and
stored on the item, so each is paid for once.

Deliberately not here: deciding what to retrieve or how to rank it (`agents.memory_controller`),
prompts, and any model calls. One writer process at a time per path (SQLite WAL lets readers in).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from longweave.errors import ConfigError, InputError
from longweave.memory.embedders import Embedder, load_embedder
from longweave.memory.vector_index import VectorIndex
from longweave.text.tokenizer import Tokenizer, get_tokenizer

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY,
    turn INTEGER NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    tokens INTEGER NOT NULL,
    summary TEXT,
    summary_tokens INTEGER,
    source TEXT,
    meta TEXT,
    created REAL NOT NULL,
    embedding BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS items_turn ON items(turn);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_COLUMNS = "id, turn, role, content, tokens, summary, summary_tokens, source, meta, created"


@dataclass(slots=True)
class MemoryItem:
    """One stored item. `summary` is None until someone writes one."""

    id: int
    turn: int
    role: str
    content: str
    tokens: int
    summary: str | None = None
    summary_tokens: int | None = None
    source: str | None = None
    meta: dict = field(default_factory=dict)
    created: float = 0.0


def _item(row: tuple) -> MemoryItem:
    return MemoryItem(
        id=row[0],
        turn=row[1],
        role=row[2],
        content=row[3],
        tokens=row[4],
        summary=row[5],
        summary_tokens=row[6],
        source=row[7],
        meta=json.loads(row[8]) if row[8] else {},
        created=row[9],
    )


class MemoryStream:
    """A persistent, searchable list of memory items.

    Args:
        path: a folder (created if needed) holding ``memory.db`` and ``memory.faiss``;
            None keeps everything in memory (gone when the object is).
        embedder: an `Embedder` or a spec for `load_embedder`. None: the one this stream was
            built with (recorded in the database), else ``"hash"``.
        tokenizer: counts item tokens; default cl100k_base (pass ``llm.tokenizer`` to count
            exactly as the model does).
        index_options: passed to `VectorIndex` (kind, approximate_after, nprobe).

    Example:
        >>> stream = MemoryStream(None)
        >>> _ = stream.add("User: my locker code is 4812", role="dialogue", turn=1)
        >>> _ = stream.add("User: I like tea", role="dialogue", turn=2)
        >>> stream.search("what is my locker code?", k=1)[0][0].turn
        1
    """

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        *,
        embedder: Embedder | str | None = None,
        tokenizer: Tokenizer | None = None,
        index_options: dict | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        if self.path is not None:
            if self.path.exists() and not self.path.is_dir():
                raise InputError(f"{self.path} is a file; give a folder for the memory.")
            self.path.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            str(self.path / "memory.db") if self.path else ":memory:", check_same_thread=False
        )
        if self.path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        stored = dict(self._db.execute("SELECT key, value FROM settings").fetchall())
        if embedder is None:
            embedder = stored.get("embedder", "hash")
        self.embedder = load_embedder(embedder)
        if "embedder" in stored and stored["embedder"] != self.embedder.name:
            raise ConfigError(
                f"this memory was built with the {stored['embedder']!r} embedder, not "
                f"{self.embedder.name!r}; open it with embedder={stored['embedder']!r} or use a new folder."
            )
        self.tokenizer = tokenizer or get_tokenizer()
        self._index_options = dict(index_options or {})
        self._index: VectorIndex | None = None
        if self.path is not None or "embedder" not in stored:
            self._set("embedder", self.embedder.name)

    # -- settings ------------------------------------------------------------------------

    def _set(self, key: str, value: str) -> None:
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, value))

    # -- the vector index, tied to rowids -------------------------------------------------

    @property
    def index(self) -> VectorIndex:
        """The faiss index over every item's embedding (loaded or rebuilt on first use)."""
        if self._index is None:
            self._index = self._load_index() or self._rebuild_index()
        return self._index

    def _index_file(self) -> Path | None:
        return self.path / "memory.faiss" if self.path else None

    def _load_index(self) -> VectorIndex | None:
        file = self._index_file()
        if file is None or not file.exists():
            return None
        try:
            index = VectorIndex.load(file)
        except InputError:
            return None
        count, max_id = self._db.execute("SELECT COUNT(*), MAX(id) FROM items").fetchone()
        if len(index) != count or (count and max_id not in index) or index.dim != self.dim:
            return None  # written before the process added more rows: rebuild from the blobs
        return index

    def _rebuild_index(self) -> VectorIndex:
        index = VectorIndex(self.dim, **self._index_options)
        cursor = self._db.execute("SELECT id, embedding FROM items ORDER BY id")
        while rows := cursor.fetchmany(8192):
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
            index.add(vectors, ids=ids)
        return index

    @property
    def dim(self) -> int:
        if not self.embedder.dim:  # OpenAI embedders learn their size from the first reply
            self.embedder.embed(["dimension probe"])
        return self.embedder.dim

    # -- writing -------------------------------------------------------------------------

    def add(
        self,
        content: str,
        *,
        role: str = "user",
        turn: int | None = None,
        source: str | None = None,
        meta: dict | None = None,
    ) -> MemoryItem:
        """Store one item and index it. `turn` defaults to the latest turn plus one."""
        return self.add_many([content], role=role, turn=turn, source=source, meta=meta)[0]

    def add_many(
        self,
        contents: Sequence[str],
        *,
        role: str = "user",
        turn: int | None = None,
        source: str | None = None,
        meta: dict | None = None,
    ) -> list[MemoryItem]:
        """Store several items at once (one embedding batch, one transaction).

        Without `turn`, each gets the next turn number; with it, all share that turn.
        """
        contents = [str(c) for c in contents]
        if any(not c.strip() for c in contents):
            raise InputError("a memory item cannot be empty; give it some text.")
        if not contents:
            return []
        vectors = self.embedder.embed(contents)
        tokens = self.tokenizer.count_many(contents)
        first = self.turn + 1 if turn is None else turn
        now = time.time()
        meta_json = json.dumps(meta) if meta else None
        items = []
        with self._db:
            for i, (text, vec, n) in enumerate(zip(contents, vectors, tokens, strict=True)):
                t = first + i if turn is None else turn
                cur = self._db.execute(
                    "INSERT INTO items (turn, role, content, tokens, source, meta, created, embedding) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (t, role, text, n, source, meta_json, now, vec.astype(np.float32).tobytes()),
                )
                items.append(MemoryItem(cur.lastrowid, t, role, text, n, None, None, source, meta or {}, now))
        if self._index is not None:
            self._index.add(vectors, ids=[it.id for it in items])
        return items

    def set_summary(self, item_id: int, summary: str) -> None:
        """Store the summary of an item (written once, reused afterwards)."""
        with self._db:
            self._db.execute(
                "UPDATE items SET summary = ?, summary_tokens = ? WHERE id = ?",
                (summary, self.tokenizer.count(summary), item_id),
            )

    def delete(self, ids: Iterable[int]) -> int:
        """Remove items by id (from the database and the index). Returns how many were removed."""
        ids = [int(i) for i in ids]
        with self._db:
            removed = self._db.executemany("DELETE FROM items WHERE id = ?", [(i,) for i in ids]).rowcount
        if self._index is not None:
            self._index.delete(ids)
        return removed

    # -- reading -------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM items").fetchone()[0]

    @property
    def turn(self) -> int:
        """The latest turn stored (0 when empty)."""
        return self._db.execute("SELECT COALESCE(MAX(turn), 0) FROM items").fetchone()[0]

    def get(self, item_id: int) -> MemoryItem:
        """The item with this id; raises InputError if there is none."""
        found = self.items([item_id])
        if not found:
            raise InputError(f"there is no memory item {item_id}.")
        return found[0]

    def items(self, ids: Sequence[int]) -> list[MemoryItem]:
        """The items with these ids, in the order given (unknown ids are skipped)."""
        if not ids:
            return []
        rows = {}
        ids = [int(i) for i in ids]
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            for row in self._db.execute(f"SELECT {_COLUMNS} FROM items WHERE id IN ({marks})", part):
                rows[row[0]] = _item(row)
        return [rows[i] for i in ids if i in rows]

    def at_turn(self, turn: int) -> list[MemoryItem]:
        """The items stored at `turn`, in insertion order."""
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM items WHERE turn = ? ORDER BY id", (turn,))
        return [_item(r) for r in rows]

    def recent(self, n: int) -> list[MemoryItem]:
        """The last `n` items, oldest first."""
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM items ORDER BY id DESC LIMIT ?", (n,)).fetchall()
        return [_item(r) for r in reversed(rows)]

    def search(
        self, query: str, k: int = 10, *, exclude: Iterable[int] = (), roles: Iterable[str] | None = None
    ) -> list[tuple[MemoryItem, float]]:
        """The `k` items most similar to `query`, best first, as ``(item, cosine)`` pairs.

        Args:
            query: the text to match.
            k: how many to return.
            exclude: ids to leave out (the flash memory, say).
            roles: keep only items with these roles.
        """
        if k < 1 or len(self.index) == 0:
            return []
        exclude = set(exclude)
        roles = set(roles) if roles is not None else None
        vector = self.embedder.embed([query])
        want = k + len(exclude)
        while True:
            scores, ids = self.index.search(vector, k=want)
            hits = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
            hits = [(i, s) for i, s in hits if i not in exclude]
            found = dict(hits)
            items = [it for it in self.items([i for i, _ in hits]) if roles is None or it.role in roles]
            if len(items) >= k or want >= len(self.index):
                return [(it, found[it.id]) for it in items[:k]]
            want = min(len(self.index), want * 4)

    # -- lifetime ------------------------------------------------------------------------

    def flush(self) -> None:
        """Save the vector index beside the database (the database itself is always current)."""
        file = self._index_file()
        if file is not None and self._index is not None:
            self._index.save(file)

    def close(self) -> None:
        """Save the index and close the database. Safe to call twice."""
        if self._db is None:
            return
        self.flush()
        self._db.close()
        self._db = None  # type: ignore[assignment]

    def __enter__(self) -> MemoryStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MemoryStream({str(self.path) if self.path else None!r}, items={len(self)})"
