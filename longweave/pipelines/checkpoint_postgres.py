"""Checkpoints in PostgreSQL, so workers on several machines share one run's state.

``--checkpoint postgresql://user:pass@host/db`` (or ``open_checkpoint(url)``) puts both halves
of a checkpoint in one database: LangGraph's own Postgres saver (``langgraph-checkpoint-postgres``,
on a small connection pool) for the graph state, and `PostgresTextStore`, the same tables and
statements as the SQLite `TextStore` (text, run metadata and the batch ledger), for the text.
Every statement commits on its own (autocommit), so a killed worker leaves nothing half written,
and the ledger's lease is one atomic upsert: two workers never take the same item.

The text store talks to Postgres synchronously (psycopg, one connection behind a lock), as the
SQLite store does; each call is one round trip, well under a millisecond on a LAN, against
model calls of seconds.

Deliberately not here: creating databases or roles (point the URL at an existing database;
the tables are created on first use), and connection tuning beyond the pool size.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from longweave.errors import ConfigError
from longweave.pipelines.checkpoint import Checkpoint, _redact
from longweave.pipelines.text_store import _SCHEMA, TextStore

_INSTALL = 'checkpoints in Postgres need the postgres extra: pip install "longweave[postgres]"'
# One key for every longweave schema set-up, so two workers starting at once do not race on
# CREATE TABLE (Postgres can fail one of them on its catalog's unique index).
_SETUP_LOCK = 0x6C6F6E67  # "long"
_SETUP_POLL_SECONDS = 0.05


def _psycopg():
    try:
        import psycopg
    except ImportError as exc:
        raise ConfigError(f"{_INSTALL}.") from exc
    return psycopg


class PostgresTextStore(TextStore):
    """`TextStore` in a Postgres database: the same tables, one connection behind a lock.

    Args:
        url: a libpq URL, ``postgresql://user:password@host:5432/dbname``.

    Raises:
        ConfigError: the server cannot be reached, refuses the login, or psycopg is missing.
    """

    _order = "seq"

    def __init__(self, url: str) -> None:
        psycopg = _psycopg()
        self.path = None
        self.url = url
        try:
            self._conn = psycopg.connect(url, autocommit=True)
        except psycopg.Error as exc:
            raise ConfigError(
                f"cannot connect to the checkpoint database {_redact(url)}: {' '.join(str(exc).split())}; "
                "check the URL and that the server is running."
            ) from exc
        self._lock = threading.Lock()
        with self.schema_lock() as conn:
            for statement in _postgres_schema():
                conn.execute(statement)

    @contextmanager
    def schema_lock(self) -> Iterator:
        """Hold the database-wide set-up lock, on this store's connection, for creating tables.

        The lock is taken by polling ``pg_try_advisory_lock``, never by a blocking
        ``pg_advisory_lock``: a worker blocked inside a statement is an open transaction, and
        LangGraph's migrations run ``CREATE INDEX CONCURRENTLY``, which waits for every open
        transaction, so the holder would wait on the waiter for ever (Postgres cannot see that
        cycle: the lock and the index build are on different sessions of one client).
        """
        with self._lock:
            while not self._conn.execute("SELECT pg_try_advisory_lock(%s)", (_SETUP_LOCK,)).fetchone()[0]:
                time.sleep(_SETUP_POLL_SECONDS)
            try:
                yield self._conn
            finally:
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK,))

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def _execute(self, sql: str, params: tuple = ()) -> int:
        with self._lock:
            return self._conn.execute(self._sql(sql), params).rowcount

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            return list(self._conn.execute(self._sql(sql), params).fetchall())

    def __str__(self) -> str:
        return _redact(self.url)


def _postgres_schema() -> list[str]:
    """The SQLite schema in Postgres types, with a sequence for "the order first written"."""
    statements = []
    for statement in _SCHEMA.split(";"):
        if not statement.strip():
            continue
        statement = statement.replace(" REAL ", " DOUBLE PRECISION ").replace(" INTEGER ", " BIGINT ")
        if "lw_texts" in statement:
            statement = statement.replace("(\n    run_id TEXT", "(\n    seq BIGSERIAL,\n    run_id TEXT", 1)
        statements.append(statement)
    return statements


@asynccontextmanager
async def open_postgres(url: str, *, pool_size: int = 8) -> AsyncIterator[Checkpoint]:
    """Open a checkpoint in the Postgres database at `url` (tables created on first use).

    Args:
        url: a ``postgresql://`` URL.
        pool_size: connections LangGraph's saver may use at once (concurrent runs share them).
    """
    psycopg = _psycopg()
    try:
        from langgraph.checkpoint.postgres import PostgresSaver
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool
    except ImportError as exc:
        raise ConfigError(f"{_INSTALL}.") from exc
    store = PostgresTextStore(url)
    try:
        with store.schema_lock() as conn:  # LangGraph's tables, on the connection holding the lock
            PostgresSaver(conn).setup()
        pool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            open=False,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        )
        try:
            await pool.open(wait=True, timeout=30)
        except Exception as exc:
            raise ConfigError(f"cannot open a connection pool to {_redact(url)}: {exc}.") from exc
        try:
            yield Checkpoint(AsyncPostgresSaver(conn=pool), store, None, url)
        finally:
            await pool.close()
    except psycopg.Error as exc:
        message = " ".join(str(exc).split())
        raise ConfigError(f"the checkpoint database {_redact(url)} failed: {message}.") from exc
    finally:
        store.close()


__all__ = ["PostgresTextStore", "open_postgres"]
