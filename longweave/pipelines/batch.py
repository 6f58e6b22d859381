"""Run one pipeline over thousands of inputs: JSONL in, JSONL out, resumable, item by item.

`run_many(pipeline, inputs, output=..., checkpoint=...)` is what ``longweave batch`` runs, and
what LongWriter's authors did by hand to build LongWriter-6k (AgentWrite over 6,000
instructions, a prompt-keyed output file so a rerun skips finished work):

- **Inputs**: one JSON object per line, each with an ``id``. Writers (AgentWrite, CogWriter)
  read ``instruction`` and optionally ``words`` and ``plan``; Report reads ``corpus`` (paths)
  and ``instruction``; readers (ChainOfAgents, RAG, RetrieveThenReason, FullContext) read
  ``document`` (the text) or ``files`` (paths), and ``query``. The keys are the pipeline's
  `as_node` state keys (its class's ``node_io``), plus ``words`` for ``target_words``.
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

Deliberately not here: reading inputs and writing records (``pipelines/batch_items.py``),
running one item under a lease (``pipelines/batch_worker.py``), scheduling model calls (the
model's `max_concurrency`, or an `EndpointPool` over many servers, bounds those), and the
display (``cli/batch.py``).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

from longweave._sync import run_sync
from longweave.errors import InputError
from longweave.events import EventHandler, Notice
from longweave.llm.usage import UsageStats
from longweave.pipelines.base import Pipeline
from longweave.pipelines.batch_items import (
    BATCH_ID,
    Inputs,
    Item,
    append_record,
    check_items,
    iter_items,
    write_records,
)
from longweave.pipelines.batch_worker import LEASE_SECONDS, Worker
from longweave.pipelines.checkpoint import CheckpointTarget, open_checkpoint
from longweave.pipelines.text_store import TextStore


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
            # Checked at once (most finished while this worker ran its own), then often while
            # few are left (the batch's last items), less often while many are.
            while elsewhere:
                elsewhere = [item for item in elsewhere if not await start(item)]
                if elsewhere:
                    await asyncio.sleep(min(0.2 if len(elsewhere) <= 100 else 2.0, lease_seconds / 3))
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
    processes: int = 1,
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
        processes: local processes working the batch (``fork``; see `batch_processes`): when
            one process's orchestration is the bottleneck (many fast servers). Needs a
            checkpoint file or URL; `concurrency` is divided among them; each has its own copy
            of the model, so its ``max_concurrency`` applies per process.

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
    options = {"output": output, "limit": limit, "retry_failed": retry_failed, "batch_id": batch_id,
               "lease_seconds": lease_seconds}  # fmt: skip
    if processes < 1:
        raise InputError(f"processes must be at least 1, not {processes}.")
    if processes > 1:
        from longweave.pipelines.batch_processes import run_processes

        return run_processes(
            pipeline,
            inputs,
            processes,
            run_batch=arun_many,
            checkpoint=checkpoint,
            concurrency=concurrency,
            on_event=on_event,
            **options,
        )
    return run_sync(
        arun_many(
            pipeline, inputs, checkpoint=checkpoint, concurrency=concurrency, on_event=on_event, **options
        )
    )


__all__ = ["BatchResult", "Collector", "arun_many", "finish_summary", "run_many", "start_batch"]
