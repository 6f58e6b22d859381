"""Checkpoints for long runs: LangGraph's SQLite checkpointer plus a store for the text.

A long-form run (AgentWrite, CogWriter) writes tens of thousands of words. LangGraph's SQLite
checkpointer stores a full snapshot of the graph state after every step, so text kept in the
state makes checkpoints grow quadratically. Here the state holds only ids and numbers; the text
lives in `TextStore`, a small SQLite table keyed by ``(run_id, key)`` in the *same file* as the
checkpoints, so one ``--checkpoint PATH`` holds a whole run.

Writes to the store are idempotent by key: a node that was interrupted after storing its text
but before LangGraph saved the step runs again on resume, finds its key filled, and reuses the
text instead of writing it twice.

`open_checkpoint(path)` gives both halves at once:

    >>> import asyncio
    >>> async def demo():
    ...     async with open_checkpoint(None) as cp:          # None: in memory, nothing kept
    ...         cp.store.claim("run", {"instruction": "Write a poem."})
    ...         cp.store.put("run", "section/0", "Roses are red.")
    ...         return cp.store.get("run", "section/0")
    >>> asyncio.run(demo())
    'Roses are red.'

Deliberately not here: what the keys mean (each pipeline names its own), and garbage
collection of old runs (delete the file, or `TextStore.delete_run`).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

from longweave.errors import ConfigError, InputError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lw_runs (
    run_id TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    meta TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS lw_texts (
    run_id TEXT NOT NULL,
    key TEXT NOT NULL,
    text TEXT NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (run_id, key)
);
"""


def fingerprint(*parts: object) -> str:
    """A stable short hash of a run's defining inputs (instruction, target, plan...).

    Parts are JSON-encoded with sorted keys, so dicts hash the same whatever their order.
    """
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


class TextStore:
    """Text and run metadata in SQLite, keyed by ``(run_id, key)``.

    Safe to use from several threads (one connection behind a lock). Every `put` commits, so
    what returned is on disk even if the process is killed the next instant.

    Args:
        path: the SQLite file, or None / ":memory:" for a store that lives in this process only.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = None if path in (None, ":memory:") else Path(path)
        try:
            self._conn = sqlite3.connect(
                str(self.path) if self.path else ":memory:", check_same_thread=False, timeout=30
            )
            if self.path:
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise ConfigError(
                f"cannot use {path} as a checkpoint: {exc}; give a new path or an existing checkpoint file."
            ) from exc
        self._lock = threading.Lock()

    # -- runs ----------------------------------------------------------------------------

    def claim(self, run_id: str, meta: dict, *, what: str = "run") -> bool:
        """Register `run_id` with its defining `meta`, or check that it matches the stored one.

        Returns True for a new run, False when the same run is already there (a resume).

        Raises:
            InputError: the store already holds `run_id` for different inputs; the message says
                which, so the user can pick another checkpoint path or delete this one.
        """
        fp = fingerprint(meta)
        with self._lock:
            row = self._conn.execute(
                "SELECT fingerprint, meta FROM lw_runs WHERE run_id = ?", (run_id,)
            ).fetchone()
            if row is None:
                with self._conn:
                    self._conn.execute(
                        "INSERT INTO lw_runs VALUES (?, ?, ?, ?)",
                        (run_id, fp, json.dumps(meta, ensure_ascii=False, default=str), time.time()),
                    )
                return True
        if row[0] == fp:
            return False
        stored = json.loads(row[1])
        differs = sorted(k for k in set(stored) | set(meta) if stored.get(k) != meta.get(k))
        where = f"checkpoint {self.path}" if self.path else "this store"
        shown = _preview(stored.get("instruction")) if "instruction" in stored else ""
        raise InputError(
            f"{where} already holds a {what} with a different {', '.join(differs)}"
            + (f" (it was started for {shown})" if shown else "")
            + "; use another checkpoint path, or delete this one to start over."
        )

    def meta(self, run_id: str) -> dict | None:
        """The metadata `claim` stored for `run_id`, or None."""
        with self._lock:
            row = self._conn.execute("SELECT meta FROM lw_runs WHERE run_id = ?", (run_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def update_meta(self, run_id: str, **values: object) -> None:
        """Merge `values` into the run's metadata (progress notes, stats); not part of the fingerprint."""
        with self._lock, self._conn:
            row = self._conn.execute("SELECT meta FROM lw_runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                raise KeyError(f"no run {run_id!r}; claim it first")
            merged = {**json.loads(row[0]), **values}
            self._conn.execute(
                "UPDATE lw_runs SET meta = ? WHERE run_id = ?",
                (json.dumps(merged, ensure_ascii=False, default=str), run_id),
            )

    def runs(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._conn.execute("SELECT run_id FROM lw_runs ORDER BY created")]

    def delete_run(self, run_id: str) -> None:
        """Forget a run's texts and metadata (LangGraph's checkpoints are the saver's to delete)."""
        with self._lock, self._conn:
            self._conn.execute("DELETE FROM lw_texts WHERE run_id = ?", (run_id,))
            self._conn.execute("DELETE FROM lw_runs WHERE run_id = ?", (run_id,))

    # -- texts ---------------------------------------------------------------------------

    def put(self, run_id: str, key: str, text: str) -> None:
        """Store `text` under ``(run_id, key)``, replacing what was there; committed on return."""
        if not isinstance(text, str):
            raise TypeError(f"TextStore holds str, got {type(text).__name__}")
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT INTO lw_texts VALUES (?, ?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE SET "
                "text = excluded.text, updated = excluded.updated",
                (run_id, key, text, time.time()),
            )

    def get(self, run_id: str, key: str, default: str | None = None) -> str | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT text FROM lw_texts WHERE run_id = ? AND key = ?", (run_id, key)
            ).fetchone()
        return row[0] if row else default

    def has(self, run_id: str, key: str) -> bool:
        return self.get(run_id, key) is not None

    def keys(self, run_id: str, prefix: str = "") -> list[str]:
        """Keys of `run_id` starting with `prefix`, in the order they were first written."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT key FROM lw_texts WHERE run_id = ? AND substr(key, 1, ?) = ? ORDER BY rowid",
                (run_id, len(prefix), prefix),
            ).fetchall()
        return [r[0] for r in rows]

    def delete(self, run_id: str, key: str) -> None:
        with self._lock, self._conn:
            self._conn.execute("DELETE FROM lw_texts WHERE run_id = ? AND key = ?", (run_id, key))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> TextStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(slots=True)
class Checkpoint:
    """The two halves of a checkpoint: LangGraph's saver (graph state) and the text store.

    Attributes:
        saver: pass to ``builder.compile(checkpointer=...)``; use ``{"configurable":
            {"thread_id": run_id}}`` as the run config.
        store: the text, keyed by the same run id.
        path: the SQLite file, or None when nothing outlives the process.
    """

    saver: BaseCheckpointSaver
    store: TextStore
    path: Path | None = None


@asynccontextmanager
async def open_checkpoint(path: str | Path | None) -> AsyncIterator[Checkpoint]:
    """Open (or create) a checkpoint file holding graph checkpoints and run text.

    Args:
        path: the SQLite file; None keeps everything in memory (a run that cannot resume).

    Raises:
        ConfigError: the path is a directory, its folder does not exist, or it is not SQLite.
    """
    if path is None:
        store = TextStore(None)
        try:
            yield Checkpoint(InMemorySaver(), store, None)
        finally:
            store.close()
        return
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"the checkpoint path {path} is a folder; give a file name such as {path}/run.db.")
    if not path.parent.exists():
        raise ConfigError(
            f"the folder of the checkpoint {path} does not exist; create it or pick another path."
        )
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    store = TextStore(path)
    try:
        async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
            try:
                await saver.setup()
            except Exception as exc:  # aiosqlite raises sqlite3.DatabaseError for non-SQLite files
                raise ConfigError(f"cannot use {path} as a checkpoint: {exc}.") from exc
            yield Checkpoint(saver, store, path)
    finally:
        store.close()


def _preview(text: object, limit: int = 60) -> str:
    s = " ".join(str(text).split())
    return repr(s if len(s) <= limit else s[: limit - 3] + "...")


__all__ = ["Checkpoint", "TextStore", "fingerprint", "open_checkpoint"]
