"""A batch's worker: leases an item, runs the pipeline on it, stores its record.

Several workers (processes, machines, Ray actors) may work one batch at once: each takes an
item with an atomic lease in the checkpoint's ledger (`TextStore.lease`), renews its leases
while it runs (`Worker.heartbeat`), and stores the record only if it still holds the item, so
no item is recorded twice. A lease whose process is gone (same host) or that ran out (another
host) is taken over. An item's fields become the pipeline's ``arun`` arguments through its
class's ``node_io`` (the `as_node` state keys), plus ``words`` for ``target_words`` and
``files`` for ``document``.

Deliberately not here: reading inputs and writing outputs (``pipelines/batch_items.py``) and
the batch's loop (``pipelines/batch.py``).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import socket
import time
import uuid
from typing import Any

from longweave.agents.plan import target_from_instruction
from longweave.errors import InputError
from longweave.eval import length_score
from longweave.events import Event, EventHandler, StepDone, StepStarted
from longweave.pipelines._corpus import read_corpus
from longweave.pipelines.base import Pipeline, event_fields
from longweave.pipelines.batch_items import BATCH_ID, Item
from longweave.pipelines.checkpoint import Checkpoint
from longweave.text import count_words

log = logging.getLogger(__name__)

LEASE_SECONDS = 60.0


def worker_id() -> str:
    """``host:pid:token``, this worker's name in the ledger (the token tells runs of one process apart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _dead(owner: str) -> bool:
    """Whether the worker `owner` is known to be gone: on this host, and its process has exited."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


class Worker:
    """Runs items of one batch with one pipeline against one open checkpoint.

    `run_many` uses one; each Ray actor of `batch_ray` holds one. A worker leases an item before
    running it, renews its leases while it runs (`heartbeat`), and stores the record only if it
    still holds the item, so concurrent workers never record an item twice.

    Args:
        pipeline: the pipeline; a shallow copy shares its model and agents, with the batch's
            checkpoint in place of its own.
        cp: the open checkpoint of the batch.
        batch_id: the batch's id in the checkpoint.
        lease_seconds: how long a lease lasts without renewal (a dead worker on another host
            holds its items this long).
        on_event: called with a `StepStarted` and a `StepDone` per item (see `run_many`).
    """

    def __init__(
        self,
        pipeline: Pipeline,
        cp: Checkpoint,
        *,
        batch_id: str = BATCH_ID,
        lease_seconds: float = LEASE_SECONDS,
        on_event: EventHandler | None = None,
    ) -> None:
        self.io = getattr(pipeline, "node_io", None)
        self.pipeline = copy.copy(pipeline)
        self.resumable = self.io is not None and self.io.resumable == "checkpoint"
        if self.resumable:
            self.pipeline.checkpoint = cp  # every item's runs share the batch's checkpoint
        self.cp, self.store = cp, cp.store
        self.batch_id, self.lease_seconds = batch_id, lease_seconds
        self.owner = worker_id()
        self.on_event = on_event
        self.held: set[str] = set()

    def emit(self, event: Event) -> None:
        log.info("batch %s %s: %s", self.batch_id, event.kind, event_fields(event))
        if self.on_event is not None:
            self.on_event(event)

    def take(self, item: Item, *, retry_failed: bool = False) -> tuple[str, str]:
        """Lease `item`; ``("taken", me)`` or its status and holder (see `TextStore.lease`)."""
        status, holder = self.store.lease(
            self.batch_id, item.id, item.position, self.owner, self.lease_seconds, retry_failed=retry_failed
        )
        if status == "running" and holder != self.owner and _dead(holder):
            log.info("batch %s: %s's worker %s is gone; taking the item over", self.batch_id, item.id, holder)
            status, holder = self.store.lease(
                self.batch_id, item.id, item.position, self.owner, self.lease_seconds,
                retry_failed=retry_failed, dead_owner=holder,
            )  # fmt: skip
        if status == "taken":
            self.held.add(item.id)
        return status, holder

    async def heartbeat(self) -> None:
        """Renew this worker's leases every third of a lease, until cancelled."""
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            if self.held:
                await asyncio.to_thread(self.store.renew, self.batch_id, self.owner, self.lease_seconds)

    async def run(self, item: Item) -> dict:
        """Run a leased `item` to its record, store the record, and give up the lease.

        An item that raises is recorded as failed with its reason; cancellation (Ctrl-C, a
        dying worker) gives the lease back and propagates.
        """
        self.emit(StepStarted(item.position, item.id))
        started = time.monotonic()
        try:
            result = await self.pipeline.arun(**self.arguments(item))
            record = self.record(item, result, time.monotonic() - started)
        except asyncio.CancelledError:
            self.store.release(self.batch_id, item.id, self.owner)
            self.held.discard(item.id)
            raise
        except Exception as exc:  # a failing item is recorded and the batch goes on
            record = _empty_record(item.id, time.monotonic() - started, f"{type(exc).__name__}: {exc}")
        status = "failed" if record["error"] else "done"
        kept = self.store.finish(self.batch_id, item.id, self.owner, status, record)
        self.held.discard(item.id)
        if not kept:  # our lease ran out and another worker took the item: its record counts
            record = {**record, "superseded": True}
        self.emit(item_done(item, record, kept))
        return record

    def arguments(self, item: Item) -> dict:
        """The pipeline's ``arun`` arguments for `item`, from its `as_node` state keys.

        Raises:
            InputError: a field the pipeline needs is missing.
        """
        fields = dict(item.fields)
        if "words" in fields and "target_words" not in fields:
            fields["target_words"] = fields.pop("words")
        if "files" in fields and "document" not in fields:
            fields["document"] = read_corpus(fields.pop("files")).corpus
        if self.io is None:  # the user's own pipeline: its fields are its arguments
            return fields
        kwargs = {param: fields[key] for param, key in self.io.inputs.items() if fields.get(key) is not None}
        missing = [self.io.inputs[p] for p in self.io.required if p not in kwargs]
        if missing:
            hint = ' (or "files")' if missing == ["document"] else ""
            raise InputError(f"input {item.id!r} has no {', '.join(map(repr, missing))}{hint}.")
        if self.resumable and self.io.run_id:
            kwargs[self.io.run_id] = f"{self.batch_id}/{item.id}"
        return kwargs

    def record(self, item: Item, result: Any, seconds: float) -> dict:
        """The output record of a finished item."""
        attr = next(iter(self.io.outputs.values())) if self.io else "text"
        output = getattr(result, attr, None)
        if output is None:
            output = getattr(result, "text", None) or getattr(result, "answer", "")
        record = _empty_record(item.id, seconds, None)
        record["output"] = output
        record["words"] = getattr(result, "words", None) or count_words(output)
        target = getattr(result, "target_words", 0)
        if target and _asked_length(item):
            record["target_words"] = target
            record["S_l"] = round(length_score(target, record["words"]), 1)
        plan = getattr(result, "plan", None)
        if plan:
            record["plan"] = plan
        usage = result.usage.total
        record["usage"] = {
            "calls": usage.calls,
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
        }
        return record


def _asked_length(item: Item) -> bool:
    if item.fields.get("words") or item.fields.get("target_words") or item.fields.get("plan"):
        return True
    instruction = item.fields.get("instruction")
    return isinstance(instruction, str) and target_from_instruction(instruction) is not None


def item_done(item: Item, record: dict, kept: bool = True) -> StepDone:
    """The event that says `item` finished (``ok`` False when it failed) with `record`."""
    return StepDone(
        item.position,
        item.id,
        ok=not record["error"],
        reason=record["error"] or "",
        words=record.get("words") or 0,
        seconds=record.get("seconds") or 0.0,
        details={"record": record, "kept": kept},
    )


def _empty_record(item_id: str, seconds: float, error: str | None) -> dict:
    return {
        "id": item_id,
        "output": None,
        "words": 0,
        "target_words": None,
        "S_l": None,
        "plan": None,
        "usage": {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0},
        "seconds": round(seconds, 3),
        "error": error,
    }


__all__ = ["LEASE_SECONDS", "Worker", "item_done", "worker_id"]
