"""The text store of a long run: its texts, its claim on a run id, and a batch's ledger.

LangGraph's checkpointer stores a full snapshot of the graph state after every step, so text
kept in the state makes checkpoints grow quadratically. Pipelines keep only ids and numbers in
the state; the text lives here, in a small SQLite table keyed by ``(run_id, key)`` in the *same
file* as the checkpoints (`longweave.pipelines.checkpoint.open_checkpoint` opens both), so one
``--checkpoint PATH`` holds a whole run.

Writes are idempotent by key: a node that was interrupted after storing its text but before
LangGraph saved the step runs again on resume, finds its key filled, and reuses the text
instead of writing it twice. `TextStore.claim` ties a run id to the inputs that defined it
(`fingerprint`), so a different instruction under the same id is refused, not mixed in.

The same file (or Postgres database) also holds the ledger of a batch run (`lw_items`): one
row per input with its status, the worker holding it and until when, and its finished record.
A worker takes an item with one atomic upsert (`TextStore.lease`), so workers in several
processes or on several machines never run the same item at once, and a finished item is
never taken again. `longweave.pipelines.checkpoint_postgres.PostgresTextStore` is the same
store on Postgres.

Deliberately not here: what the keys mean (each pipeline names its own), garbage collection of
old runs (delete the file, or `TextStore.delete_run`), and scheduling (``pipelines/batch.py``).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

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
CREATE TABLE IF NOT EXISTS lw_items (
    batch_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    status TEXT NOT NULL,
    owner TEXT NOT NULL,
    until REAL NOT NULL,
    record TEXT,
    updated REAL NOT NULL,
    PRIMARY KEY (batch_id, item_id)
);
"""

# An item is taken when it is new, when its lease ran out or is the taker's own (a resume in the
# same worker), when the caller names its holder as dead, or, asked to, when it failed before.
_LEASE = """
INSERT INTO lw_items (batch_id, item_id, position, status, owner, until, record, updated)
VALUES (?, ?, ?, 'running', ?, ?, NULL, ?)
ON CONFLICT (batch_id, item_id) DO UPDATE SET
    status = 'running', owner = excluded.owner, until = excluded.until, updated = excluded.updated
WHERE (lw_items.status = 'running'
       AND (lw_items.until < ? OR lw_items.owner = excluded.owner OR lw_items.owner = ?))
   OR (lw_items.status = 'failed' AND ?)
"""


def fingerprint(*parts: object) -> str:
    """A stable short hash of a run's defining inputs (instruction, target, plan...).

    Parts are JSON-encoded with sorted keys, so dicts hash the same whatever their order.
    """
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


class TextStore:
    """Text and run metadata in SQLite, keyed by ``(run_id, key)``; the batch ledger beside them.

    Safe to use from several threads (one connection behind a lock). Every write commits, so
    what returned is on disk even if the process is killed the next instant. The SQL here is
    the common subset of SQLite and PostgreSQL (``?`` placeholders are translated by
    subclasses), so `PostgresTextStore` only opens another connection.

    Args:
        path: the SQLite file, or None / ":memory:" for a store that lives in this process only.
    """

    _order = "rowid"  # "in the order first written": SQLite's rowid; Postgres adds a column

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = None if path in (None, ":memory:") else Path(path)
        try:
            self._conn = sqlite3.connect(
                str(self.path) if self.path else ":memory:", check_same_thread=False, timeout=30
            )
            if self.path:
                self._conn.execute("PRAGMA journal_mode=WAL")
                # WAL with synchronous=NORMAL survives a killed process (what resuming is for);
                # only a power cut can lose the last commits, and it halves the cost per write.
                self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise ConfigError(
                f"cannot use {path} as a checkpoint: {exc}; give a new path or an existing checkpoint file."
            ) from exc
        self._lock = threading.Lock()

    def _sql(self, sql: str) -> str:
        """`sql` in this database's placeholder style (SQLite's ``?`` here)."""
        return sql

    def _execute(self, sql: str, params: tuple = ()) -> int:
        """Run one writing statement in its own transaction; the number of rows it changed."""
        with self._lock, self._conn:
            return self._conn.execute(self._sql(sql), params).rowcount

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            return list(self._conn.execute(self._sql(sql), params).fetchall())

    def __str__(self) -> str:
        return str(self.path) if self.path else "an in-memory checkpoint"

    # -- runs ----------------------------------------------------------------------------

    def claim(self, run_id: str, meta: dict, *, what: str = "run") -> bool:
        """Register `run_id` with its defining `meta`, or check that it matches the stored one.

        Returns True for a new run, False when the same run is already there (a resume).

        Raises:
            InputError: the store already holds `run_id` for different inputs; the message says
                which, so the user can pick another checkpoint path or delete this one.
        """
        fp = fingerprint(meta)
        inserted = self._execute(  # one statement: two workers claiming at once cannot both insert
            "INSERT INTO lw_runs (run_id, fingerprint, meta, created) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (run_id) DO NOTHING",
            (run_id, fp, json.dumps(meta, ensure_ascii=False, default=str), time.time()),
        )
        if inserted:
            return True
        row = self._query("SELECT fingerprint, meta FROM lw_runs WHERE run_id = ?", (run_id,))[0]
        if row[0] == fp:
            return False
        stored = json.loads(row[1])
        differs = sorted(k for k in set(stored) | set(meta) if stored.get(k) != meta.get(k))
        where = f"checkpoint {self}" if self.path or type(self) is not TextStore else "this store"
        shown = _preview(stored.get("instruction")) if "instruction" in stored else ""
        raise InputError(
            f"{where} already holds a {what} with a different {', '.join(differs)}"
            + (f" (it was started for {shown})" if shown else "")
            + "; use another checkpoint path, or delete this one to start over."
        )

    def meta(self, run_id: str) -> dict | None:
        """The metadata `claim` stored for `run_id`, or None."""
        rows = self._query("SELECT meta FROM lw_runs WHERE run_id = ?", (run_id,))
        return json.loads(rows[0][0]) if rows else None

    def update_meta(self, run_id: str, **values: object) -> None:
        """Merge `values` into the run's metadata (progress notes, stats); not part of the fingerprint."""
        stored = self.meta(run_id)
        if stored is None:
            raise KeyError(f"no run {run_id!r}; claim it first")
        merged = {**stored, **values}
        self._execute(
            "UPDATE lw_runs SET meta = ? WHERE run_id = ?",
            (json.dumps(merged, ensure_ascii=False, default=str), run_id),
        )

    def runs(self) -> list[str]:
        return [r[0] for r in self._query("SELECT run_id FROM lw_runs ORDER BY created")]

    def delete_run(self, run_id: str) -> None:
        """Forget a run's texts and metadata (LangGraph's checkpoints are the saver's to delete)."""
        self._execute("DELETE FROM lw_texts WHERE run_id = ?", (run_id,))
        self._execute("DELETE FROM lw_runs WHERE run_id = ?", (run_id,))

    # -- texts ---------------------------------------------------------------------------

    def put(self, run_id: str, key: str, text: str) -> None:
        """Store `text` under ``(run_id, key)``, replacing what was there; committed on return."""
        if not isinstance(text, str):
            raise TypeError(f"TextStore holds str, got {type(text).__name__}")
        self._execute(
            "INSERT INTO lw_texts (run_id, key, text, updated) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (run_id, key) DO UPDATE SET text = excluded.text, updated = excluded.updated",
            (run_id, key, text, time.time()),
        )

    def get(self, run_id: str, key: str, default: str | None = None) -> str | None:
        rows = self._query("SELECT text FROM lw_texts WHERE run_id = ? AND key = ?", (run_id, key))
        return rows[0][0] if rows else default

    def has(self, run_id: str, key: str) -> bool:
        return self.get(run_id, key) is not None

    def keys(self, run_id: str, prefix: str = "") -> list[str]:
        """Keys of `run_id` starting with `prefix`, in the order they were first written."""
        rows = self._query(
            "SELECT key FROM lw_texts WHERE run_id = ? AND substr(key, 1, ?) = ? ORDER BY " + self._order,
            (run_id, len(prefix), prefix),
        )
        return [r[0] for r in rows]

    def delete(self, run_id: str, key: str) -> None:
        self._execute("DELETE FROM lw_texts WHERE run_id = ? AND key = ?", (run_id, key))

    # -- the batch ledger ----------------------------------------------------------------

    def lease(
        self,
        batch_id: str,
        item_id: str,
        position: int,
        owner: str,
        seconds: float,
        *,
        retry_failed: bool = False,
        dead_owner: str = "",
    ) -> tuple[str, str]:
        """Take item `item_id` of `batch_id` for `owner` for `seconds`, atomically.

        Args:
            position: the item's place in the input, the order records are read back in.
            retry_failed: take an item that failed before, too.
            dead_owner: a holder the caller knows is dead (its process is gone): take over
                its lease at once instead of waiting for it to run out.

        Returns:
            ``("taken", owner)``, or the item's status and holder when it is not taken:
            ``("done", ...)``, ``("failed", ...)`` or ``("running", other_owner)``.
        """
        now = time.time()
        taken = self._execute(
            _LEASE,
            (batch_id, item_id, position, owner, now + seconds, now, now, dead_owner, bool(retry_failed)),
        )
        if taken:
            return "taken", owner
        rows = self._query(
            "SELECT status, owner FROM lw_items WHERE batch_id = ? AND item_id = ?", (batch_id, item_id)
        )
        return (rows[0][0], rows[0][1]) if rows else ("running", "")

    def renew(self, batch_id: str, owner: str, seconds: float) -> int:
        """Extend every lease `owner` holds in `batch_id` by `seconds` from now; how many it holds."""
        return self._execute(
            "UPDATE lw_items SET until = ? WHERE batch_id = ? AND owner = ? AND status = 'running'",
            (time.time() + seconds, batch_id, owner),
        )

    def release(self, batch_id: str, item_id: str, owner: str) -> None:
        """Give an unfinished item back (its lease ends now), e.g. when the run is interrupted."""
        self._execute(
            "UPDATE lw_items SET until = 0 WHERE batch_id = ? AND item_id = ? AND owner = ? "
            "AND status = 'running'",
            (batch_id, item_id, owner),
        )

    def finish(self, batch_id: str, item_id: str, owner: str, status: str, record: dict) -> bool:
        """Store the item's `record` with `status` ("done" or "failed") if `owner` still holds it.

        Returns False when another worker took the item over (this worker's lease ran out):
        its record is then not written, so no item is recorded twice.
        """
        if status not in ("done", "failed"):
            raise ValueError(f"status must be 'done' or 'failed', not {status!r}")
        return bool(
            self._execute(
                "UPDATE lw_items SET status = ?, record = ?, until = 0, updated = ? "
                "WHERE batch_id = ? AND item_id = ? AND owner = ? AND status = 'running'",
                (status, json.dumps(record, ensure_ascii=False), time.time(), batch_id, item_id, owner),
            )
        )

    def item_states(self, batch_id: str) -> dict[str, tuple[str, str, float]]:
        """``{item_id: (status, owner, lease_until)}`` for every item of `batch_id` seen so far."""
        rows = self._query(
            "SELECT item_id, status, owner, until FROM lw_items WHERE batch_id = ?", (batch_id,)
        )
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def records(self, batch_id: str, page: int = 200) -> Iterator[dict]:
        """The finished and failed records of `batch_id`, in input order, read a page at a time
        (a batch of thousands of long texts is never held in memory at once)."""
        last: tuple[int, str] = (-1, "")
        while True:
            rows = self._query(
                "SELECT position, item_id, record FROM lw_items WHERE batch_id = ? "
                "AND status IN ('done', 'failed') AND (position > ? OR (position = ? AND item_id > ?)) "
                "ORDER BY position, item_id LIMIT ?",
                (batch_id, last[0], last[0], last[1], page),
            )
            for position, item_id, record in rows:
                last = (position, item_id)
                yield json.loads(record)
            if len(rows) < page:
                return

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> TextStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _preview(text: object, limit: int = 60) -> str:
    s = " ".join(str(text).split())
    return repr(s if len(s) <= limit else s[: limit - 3] + "...")


__all__ = ["TextStore", "fingerprint"]
