"""Run one pipeline over thousands of inputs: JSONL in, JSONL out, resumable, item by item.

`run_many(pipeline, inputs, output=..., checkpoint=...)` is what ``longweave batch`` runs, and
what LongWriter's authors did by hand to build LongWriter-6k (AgentWrite over 6,000
instructions, a prompt-keyed output file so a rerun skips finished work):

- **Inputs**: one JSON object per line, each with an ``id``. Writers (AgentWrite, CogWriter)
  read ``instruction`` and optionally ``words`` and ``plan``; Report reads ``corpus`` (paths)
  and ``instruction``; readers (ChainOfAgents, RAG, RetrieveThenReason, FullContext) read
  ``document`` (the text) or ``files`` (paths), and ``query``. The keys are the pipeline's
  `as_node` state keys (`compose.NODE_IO`), plus ``words`` for ``target_words``.
- **Outputs**: one record per input, ``{"id", "output", "words", "target_words", "S_l",
  "plan", "usage", "seconds", "error"}`` (``target_words`` and ``S_l`` where a length was
  asked, ``plan`` for planned pieces, ``error`` null unless the item failed). Records are
  appended as items finish; when the batch ends the file is rewritten in input order.
- **Checkpoint**: every item runs under its own run id (``batch/ID``) in one shared
  checkpoint (`checkpoint.open_checkpoint`: a SQLite file or a ``postgresql://`` URL), so an
  item killed halfway resumes inside (a writer at its next section). The checkpoint's ledger
  (`TextStore.lease` / `finish`) holds each item's status and finished record: it, not the
  output file, is the truth, and the output is rewritten from it at the start and end of every
  run. Killed at any moment and run again, a finished item is never redone and each input
  appears exactly once in the output.
- **Workers**: several processes (on several machines, with Postgres) may work one batch at
  once: each takes an item with an atomic lease, renewed while it runs, so no item is run by
  two at a time; a lease whose process is gone (same host) or that ran out (another host) is
  taken over. `longweave.pipelines.batch_ray` spreads the same work over a Ray cluster.
- **Failures**: an item that raises is recorded with its reason (``error``) and the batch goes
  on; ``retry_failed=True`` runs failed items again.

Memory stays flat in the batch size: the input file is read as a stream (once to check it,
once to run it), at most `concurrency` items are in flight, and records are written out, not
kept.

Deliberately not here: scheduling model calls (the model's `max_concurrency`, or an
`EndpointPool` over many servers, bounds those), and the display (``cli/batch.py``).
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import socket
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from longweave._sync import run_sync
from longweave.errors import InputError
from longweave.eval import length_score
from longweave.events import Event, EventHandler, Notice, StepDone, StepStarted
from longweave.llm.usage import UsageStats
from longweave.pipelines.base import Pipeline
from longweave.pipelines.checkpoint import Checkpoint, CheckpointTarget, TextStore, open_checkpoint
from longweave.pipelines.compose import node_io
from longweave.text import count_words

BATCH_ID = "batch"
LEASE_SECONDS = 60.0
Inputs = str | Path | Iterable[dict]


@dataclass(slots=True)
class Item:
    """One input: its id, its place in the input, and its fields (without ``id``)."""

    id: str
    position: int
    fields: dict


@dataclass
class BatchResult:
    """What a batch run did.

    Attributes:
        total: inputs in the batch (after `limit`).
        done / failed: items finished / failed, this run and earlier ones together.
        ran: items this run worked on; ``ran_failed``: of those, how many failed.
        skipped: items left to other workers still running them when this run ended.
        remaining: items not run because of `limit`.
        usage: calls, tokens and item-seconds of this run's items (a `UsageStats`).
        words: words written by this run's finished items; ``length_scores``: their S_l.
        seconds: wall time; ``output`` / ``checkpoint``: where records and state are.
        failures: ``(id, error)`` of this run's failed items (the first 50).
    """

    total: int = 0
    done: int = 0
    failed: int = 0
    ran: int = 0
    ran_failed: int = 0
    skipped: int = 0
    remaining: int = 0
    usage: UsageStats = field(default_factory=UsageStats)
    words: int = 0
    length_scores: list[float] = field(default_factory=list)
    seconds: float = 0.0
    output: str | None = None
    checkpoint: str = ""
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def mean_length_score(self) -> float | None:
        """Mean S_l of this run's items that asked for a length, or None."""
        return sum(self.length_scores) / len(self.length_scores) if self.length_scores else None


# -- reading inputs ------------------------------------------------------------------------


def iter_items(inputs: Inputs) -> Iterator[Item]:
    """The items of `inputs` (a JSONL path, or dicts), checked one at a time as they are read.

    Raises:
        InputError: a line that is not a JSON object, an item without an ``id``, or an
            unreadable file; the message names the line.
    """
    if isinstance(inputs, str | Path):
        path = Path(inputs)
        try:
            handle = path.open(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read the batch input {path}: {exc.strerror or exc}.") from exc
        with handle:
            position = 0
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(
                        f"line {number} of {path} is not valid JSON ({exc.msg}); give one JSON object a line."
                    ) from None
                yield _item(data, position, f"line {number} of {path}")
                position += 1
        return
    for position, data in enumerate(inputs):
        yield _item(data, position, f"input {position + 1}")


def _item(data: object, position: int, where: str) -> Item:
    if not isinstance(data, dict):
        raise InputError(f"{where} is not a JSON object; give one object a line, with an \"id\".")
    raw = data.get("id")
    if raw is None or (isinstance(raw, str) and not raw.strip()) or isinstance(raw, bool | dict | list):
        raise InputError(f'{where} has no "id"; give every input a unique "id" (a string or number).')
    return Item(str(raw), position, {k: v for k, v in data.items() if k != "id"})


def check_items(inputs: Inputs, limit: int | None = None) -> int:
    """Read `inputs` once to check every line and that ids are unique; how many items (up to `limit`).

    Raises:
        InputError: a bad line (see `iter_items`), a repeated id, or no input at all.
    """
    seen: dict[str, int] = {}
    for item in iter_items(inputs):
        if limit is not None and item.position >= limit:
            break
        if item.id in seen:
            raise InputError(
                f"the id {item.id!r} is used by inputs {seen[item.id] + 1} and {item.position + 1}; "
                "ids must be unique, since the output and the checkpoint are keyed by them."
            )
        seen[item.id] = item.position
    if not seen:
        raise InputError("the batch input holds no items; give one JSON object a line.")
    return len(seen)


# -- one worker ----------------------------------------------------------------------------


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
        self.io = node_io(pipeline)
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
        if self.on_event is not None:
            self.on_event(event)

    def take(self, item: Item, *, retry_failed: bool = False) -> tuple[str, str]:
        """Lease `item`; ``("taken", me)`` or its status and holder (see `TextStore.lease`)."""
        status, holder = self.store.lease(
            self.batch_id, item.id, item.position, self.owner, self.lease_seconds, retry_failed=retry_failed
        )
        if status == "running" and holder != self.owner and _dead(holder):
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
            from longweave.pipelines._corpus import read_corpus

            fields["document"] = read_corpus(fields.pop("files")).corpus
        if self.io is None:  # the user's own pipeline: its fields are its arguments
            return fields
        kwargs = {param: fields[key] for param, key in self.io.inputs.items() if fields.get(key) is not None}
        missing = [self.io.inputs[p] for p in self.io.required if p not in kwargs]
        if missing:
            hint = " (or \"files\")" if missing == ["document"] else ""
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
    from longweave.agents.planner import target_from_instruction

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


# -- the output file -----------------------------------------------------------------------


def write_records(path: Path, store: TextStore, batch_id: str = BATCH_ID) -> int:
    """Replace `path` with every record in the checkpoint, in input order; how many.

    Written to a temporary file first, so a reader (or a kill) never sees half a file.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    n = 0
    with tmp.open("w", encoding="utf-8") as out:
        for record in store.records(batch_id):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            n += 1
    os.replace(tmp, path)
    return n


def append_record(path: Path, record: dict) -> None:
    """Add one record at the end of `path` (the rewrite at the end puts it in input order)."""
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


# -- the batch -----------------------------------------------------------------------------


class Collector:
    """Adds each finished record to the output file and the `BatchResult` (counts, not records)."""

    def __init__(self, summary: BatchResult, output: Path | None) -> None:
        self.summary, self.output = summary, output

    def __call__(self, record: dict) -> None:
        summary = self.summary
        summary.ran += 1
        if record.get("superseded"):
            return
        if self.output is not None:
            append_record(self.output, record)
        u = record["usage"]
        seconds = record["seconds"]
        summary.usage.add(UsageStats(u["calls"], u["prompt_tokens"], u["completion_tokens"], seconds))
        if record["error"]:
            summary.ran_failed += 1
            if len(summary.failures) < 50:
                summary.failures.append((record["id"], record["error"]))
        else:
            summary.words += record["words"] or 0
            if record["S_l"] is not None:
                summary.length_scores.append(record["S_l"])


def start_batch(
    store: TextStore,
    batch_id: str,
    method: str,
    inputs: Inputs,
    total: int,
    output: Path | None,
    retry_failed: bool,
) -> dict:
    """Claim the batch for `method`, rewrite the output from the ledger, count what is left.

    Returns the "batch_start" event's fields: total, to_run, done, failed.

    Raises:
        InputError: the checkpoint holds a batch of another pipeline under `batch_id`.
    """
    store.claim(batch_id, {"method": method}, what="batch")
    states = store.item_states(batch_id)
    if output is not None:
        write_records(output, store, batch_id)
    finished = {"done", "failed"} if not retry_failed else {"done"}
    todo = sum(
        1 for item in iter_items(inputs) if item.position < total and _state(states, item) not in finished
    )
    done = sum(s[0] == "done" for s in states.values())
    failed = sum(s[0] == "failed" for s in states.values())
    return {"total": total, "to_run": todo, "done": done, "failed": failed}


def finish_summary(summary: BatchResult, store: TextStore, batch_id: str, output: Path | None) -> None:
    """Final counts from the ledger, and the output rewritten in input order."""
    counts = store.item_states(batch_id)
    summary.done = sum(s[0] == "done" for s in counts.values())
    summary.failed = sum(s[0] == "failed" for s in counts.values())
    summary.skipped = sum(s[0] == "running" for s in counts.values())
    if output is not None:
        write_records(output, store, batch_id)


async def arun_many(
    pipeline: Pipeline,
    inputs: Inputs,
    *,
    output: str | Path | None = None,
    checkpoint: CheckpointTarget = None,
    concurrency: int = 8,
    limit: int | None = None,
    retry_failed: bool = False,
    on_event: EventHandler | None = None,
    batch_id: str = BATCH_ID,
    lease_seconds: float = LEASE_SECONDS,
) -> BatchResult:
    """Run `pipeline` over every input; see `run_many`."""
    if concurrency < 1:
        raise InputError(f"concurrency must be at least 1, not {concurrency}.")
    output = Path(output) if output is not None else None
    if output is not None and (output.is_dir() or not output.parent.exists()):
        raise InputError(f"cannot write the batch output to {output}: give a file in an existing folder.")
    total = check_items(inputs, limit)
    if checkpoint is None:
        checkpoint = getattr(pipeline, "checkpoint", None)
    started = time.monotonic()
    summary = BatchResult(total=total, output=str(output) if output else None)
    async with open_checkpoint(checkpoint) as cp:
        summary.checkpoint = str(cp)
        worker = Worker(pipeline, cp, batch_id=batch_id, lease_seconds=lease_seconds, on_event=on_event)
        counts = start_batch(cp.store, batch_id, type(pipeline).__name__, inputs, total, output, retry_failed)
        worker.emit(Notice("batch_start", details=counts))
        finish = Collector(summary, output)

        slots = asyncio.Semaphore(concurrency)
        running: set[asyncio.Task] = set()
        elsewhere: list[Item] = []

        async def one(item: Item) -> None:
            try:
                finish(await worker.run(item))
            finally:
                slots.release()

        async def start(item: Item) -> bool:
            """Take and start `item`; False if another live worker holds it."""
            await slots.acquire()
            status, _ = worker.take(item, retry_failed=retry_failed)
            if status != "taken":
                slots.release()
                return status != "running"
            task = asyncio.create_task(one(item))
            running.add(task)
            task.add_done_callback(running.discard)
            return True

        beat = asyncio.create_task(worker.heartbeat())
        try:
            for item in iter_items(inputs):
                if item.position >= total:
                    break
                if not await start(item):
                    elsewhere.append(item)
            # Items other workers hold: wait for them to finish, or take them over when their
            # worker dies (its lease runs out), so the batch ends with every item resolved.
            while elsewhere:
                await asyncio.sleep(min(2.0, lease_seconds / 3))
                elsewhere = [item for item in elsewhere if not await start(item)]
            if running:
                await asyncio.gather(*running)
        finally:
            beat.cancel()
            for task in list(running):
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)
            finish_summary(summary, cp.store, batch_id, output)
    summary.remaining = 0 if limit is None else max(0, _count(inputs) - total)
    summary.seconds = time.monotonic() - started
    worker.emit(Notice("batch_done", details={"summary": summary}))
    return summary


def _state(states: dict[str, tuple[str, str, float]], item: Item) -> str:
    return states.get(item.id, ("new", "", 0.0))[0]


def _count(inputs: Inputs) -> int:
    return sum(1 for _ in iter_items(inputs))


def run_many(
    pipeline: Pipeline,
    inputs: Inputs,
    *,
    output: str | Path | None = None,
    checkpoint: CheckpointTarget = None,
    concurrency: int = 8,
    limit: int | None = None,
    retry_failed: bool = False,
    on_event: EventHandler | None = None,
    batch_id: str = BATCH_ID,
    lease_seconds: float = LEASE_SECONDS,
) -> BatchResult:
    """Run `pipeline` over every input, resumably; records go to `output` as JSONL.

    Args:
        pipeline: any longweave pipeline (AgentWrite, CogWriter, Report, the readers) or your
            own `Pipeline`, whose items' fields are then its ``arun`` arguments.
        inputs: a JSONL file (one object a line, each with an ``id``) or an iterable of dicts.
        output: the JSONL file of records; None writes none (read `TextStore.records`).
        checkpoint: a SQLite file, a ``postgresql://`` URL, or an open `Checkpoint`; default:
            the pipeline's own ``checkpoint``, else in memory (nothing resumes).
        concurrency: items in flight at once (model calls are bounded by the model itself).
        limit: run only the first `limit` inputs.
        retry_failed: run items that failed in an earlier run again.
        on_event: called with `longweave.events`: `Notice` "batch_start" (``details``: total,
            to_run, done, failed), per item a `StepStarted` (index: its input line, title: its
            id) and a `StepDone` (``ok`` False when it failed, ``reason`` the error; ``details``:
            ``record``, ``kept``), then `Notice` "batch_done" (``details``: ``summary``, the
            `BatchResult`).
        batch_id: the batch's id in the checkpoint (one checkpoint can hold several batches).
        lease_seconds: how long an item stays taken by a worker that stopped renewing it.

    Returns:
        A `BatchResult`: counts, this run's usage, words and length scores, failures.

    Raises:
        InputError: an unreadable input, a bad line, a repeated id, or a checkpoint that holds
            a batch of another pipeline under `batch_id`.

    Example:
        >>> from longweave import AgentWrite, ScriptedLLM
        >>> llm = ScriptedLLM(rules=[(r"Write about (\\d+) words", lambda m, _: "word " * int(m[1]))])
        >>> items = [{"id": "a", "instruction": "Write a 100-word note."},
        ...          {"id": "b", "instruction": "Write a 50-word note."}]
        >>> result = run_many(AgentWrite(llm), items)
        >>> result.done, result.words
        (2, 150)
    """
    return run_sync(
        arun_many(
            pipeline,
            inputs,
            output=output,
            checkpoint=checkpoint,
            concurrency=concurrency,
            limit=limit,
            retry_failed=retry_failed,
            on_event=on_event,
            batch_id=batch_id,
            lease_seconds=lease_seconds,
        )
    )


__all__ = [
    "BATCH_ID",
    "BatchResult",
    "Collector",
    "finish_summary",
    "item_done",
    "start_batch",
    "Item",
    "Worker",
    "arun_many",
    "check_items",
    "iter_items",
    "run_many",
    "worker_id",
    "write_records",
]
