"""Checkpoints for long runs: LangGraph's SQLite checkpointer plus a store for the text.

A long-form run (AgentWrite, CogWriter) writes tens of thousands of words. LangGraph's SQLite
checkpointer stores a full snapshot of the graph state after every step; the pipelines keep
only ids and numbers in that state, and the text in `longweave.pipelines.text_store.TextStore`,
a table in the *same file*, so one ``--checkpoint PATH`` holds a whole run.

`open_checkpoint(path)` gives both halves at once:

    >>> import asyncio
    >>> async def demo():
    ...     async with open_checkpoint(None) as cp:          # None: in memory, nothing kept
    ...         cp.store.claim("run", {"instruction": "Write a poem."})
    ...         cp.store.put("run", "section/0", "Roses are red.")
    ...         return cp.store.get("run", "section/0")
    >>> asyncio.run(demo())
    'Roses are red.'

`open_checkpoint` accepts a ``postgresql://`` URL too, so workers on several machines share
one run's state (LangGraph's Postgres saver plus
`longweave.pipelines.checkpoint_postgres.PostgresTextStore`).

Deliberately not here: the text store itself (``pipelines/text_store.py``) and scheduling
(``pipelines/batch.py``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver

from longweave.errors import ConfigError
from longweave.pipelines.text_store import TextStore

if TYPE_CHECKING:
    from langgraph.graph import StateGraph


@dataclass(slots=True)
class Checkpoint:
    """The two halves of a checkpoint: LangGraph's saver (graph state) and the text store.

    An open `Checkpoint` can be given to a pipeline as its ``checkpoint``: its runs then share
    it instead of opening the file once each (a batch of thousands of runs does this).

    Attributes:
        saver: pass to ``builder.compile(checkpointer=...)``; use ``{"configurable":
            {"thread_id": run_id}}`` as the run config.
        store: the text, keyed by the same run id.
        path: the SQLite file, or None when nothing outlives the process or it is in Postgres.
        url: the ``postgresql://`` URL, for a checkpoint in Postgres.
    """

    saver: BaseCheckpointSaver
    store: TextStore
    path: Path | None = None
    url: str | None = None
    # Graphs compiled with `saver`, by builder: a batch's thousands of runs compile one each
    # once, not once a run (2 ms of CPU each for AgentWrite's two nodes).
    graphs: dict = field(default_factory=dict, repr=False, compare=False)

    def compiled(self, builder: StateGraph):
        """`builder` compiled with this checkpoint's saver (once per open checkpoint)."""
        graph = self.graphs.get(id(builder))
        if graph is None or graph.builder is not builder:
            graph = self.graphs[id(builder)] = builder.compile(checkpointer=self.saver)
        return graph

    def __str__(self) -> str:
        return str(self.path or (_redact(self.url) if self.url else "an in-memory checkpoint"))


CheckpointTarget = str | Path | Checkpoint | None


def is_postgres(target: object) -> bool:
    """Whether `target` names a Postgres database (``postgresql://`` or ``postgres://``)."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


@asynccontextmanager
async def open_checkpoint(path: CheckpointTarget) -> AsyncIterator[Checkpoint]:
    """Open (or create) a checkpoint holding graph checkpoints and run text.

    Args:
        path: the SQLite file; a ``postgresql://`` URL (LangGraph's Postgres saver and a
            Postgres text store, shared by workers on several machines; needs
            ``pip install "longweave[postgres]"``); an already open `Checkpoint`, used as it is
            and left open; or None, which keeps everything in memory (a run that cannot resume).

    Raises:
        ConfigError: the path is a directory, its folder does not exist, or it is not SQLite;
            the Postgres server cannot be reached or its extra is not installed.
    """
    if isinstance(path, Checkpoint):
        yield path
        return
    if path is None:
        store = TextStore(None)
        try:
            yield Checkpoint(InMemorySaver(), store, None)
        finally:
            store.close()
        return
    if is_postgres(path):
        from longweave.pipelines.checkpoint_postgres import open_postgres

        async with open_postgres(str(path)) as cp:
            yield cp
        return
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"the checkpoint path {path} is a folder; give a file name such as {path}/run.db.")
    if not path.parent.exists():
        raise ConfigError(
            f"the folder of the checkpoint {path} does not exist; create it or pick another path."
        )
    store = TextStore(path)
    try:
        saver = _SharedSqliteSaver(store)
        try:
            saver.setup()
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"cannot use {path} as a checkpoint: {exc}.") from exc
        yield Checkpoint(saver, store, path)
    finally:
        store.close()


class _SharedSqliteSaver(SqliteSaver):
    """LangGraph's `SqliteSaver` on the text store's own connection and lock, with its async
    methods run in place.

    Why not `AsyncSqliteSaver`: it keeps a second connection in a thread of its own and commits
    in a second await after each write. When several runs share a checkpoint (a batch), one
    run's node could write text while another's checkpoint write waited on the event loop for
    its commit: the text store then held the loop, waiting for SQLite's lock that the saver
    held, until "database is locked". On one connection behind one lock, every write is a short
    transaction done before the next starts (a fraction of a millisecond, no fsync in WAL with
    synchronous=NORMAL), so running them on the loop costs less than a hop to a thread.
    """

    def __init__(self, store: TextStore) -> None:
        super().__init__(store._conn)
        self.lock = store._lock

    async def aget_tuple(self, config):
        return self.get_tuple(config)

    async def alist(self, config, *, filter=None, before=None, limit=None):  # noqa: A002 - LangGraph's name
        for item in self.list(config, filter=filter, before=before, limit=limit):
            yield item

    async def aput(self, config, checkpoint, metadata, new_versions):
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config, writes, task_id, task_path=""):
        return self.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id):
        return self.delete_thread(thread_id)

    async def aget_delta_channel_history(self, *, config, channels):
        return self.get_delta_channel_history(config=config, channels=channels)


def _redact(url: str) -> str:
    """`url` without its password, for messages."""
    import re

    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


__all__ = ["Checkpoint", "CheckpointTarget", "is_postgres", "open_checkpoint"]
