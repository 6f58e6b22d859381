"""`run_many(..., processes=N)`: one batch worked by N local processes sharing one checkpoint.

Why: a batch's orchestration (the graph steps, the HTTP client, the ledger) runs on one core
in one process; against many fast servers that core, not the servers, sets the pace
(``bench_batch.py``, BENCHMARKS.md issue 16). This process forks N-1 helpers; every process
runs the same `arun_many` loop over the same inputs and checkpoint, and the checkpoint's ledger
shares the items out: each item is leased by one process at a time (`TextStore.lease`, an
atomic statement, safe across processes on one SQLite file in WAL mode as on Postgres), so no
item runs twice, and a helper that dies leaves its items to the others (its pid is gone).

Only this process writes the output file: helpers store their records in the ledger, and the
output is rewritten from it, in input order, when the batch ends (records of this process's
items are also appended as they finish). Helpers send their item events here, so one
`on_event` handler (the CLI's progress bar) sees every item.

Each process has its own copy of the pipeline and its model, so a model's ``max_concurrency``
(per endpoint, for a pool) applies per process: divide it by N to keep a server's load.
`concurrency` (items in flight) is divided among the processes.

Deliberately not here: processes on other machines (run the same batch there on a Postgres
checkpoint, or use ``batch_ray``), and platforms without ``fork`` (the pipeline and its model
are inherited, never pickled).
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from longweave._sync import run_sync
from longweave.errors import InputError
from longweave.events import EventHandler, StepDone, StepStarted
from longweave.pipelines.base import Pipeline
from longweave.pipelines.batch_items import Inputs, check_items
from longweave.pipelines.checkpoint import Checkpoint, CheckpointTarget, open_checkpoint


def run_processes(
    pipeline: Pipeline,
    inputs: Inputs,
    processes: int,
    *,
    run_batch: Callable[..., Awaitable[Any]],
    checkpoint: CheckpointTarget,
    concurrency: int,
    on_event: EventHandler | None,
    **options: Any,
):
    """Run the batch in this process and `processes` - 1 forked helpers; see `run_many`.

    `run_batch` is the one-process loop (`batch.arun_many`, passed in so this module does not
    import the one that imports it); every process runs it over the same inputs.

    Returns:
        This process's `BatchResult`, with the helpers' usage, words, length scores and
        failures added (counts of done and failed come from the ledger, so cover all).

    Raises:
        InputError: no checkpoint file or URL to share, or no ``fork`` on this platform.
    """
    if checkpoint is None:
        checkpoint = getattr(pipeline, "checkpoint", None)
    if checkpoint is None or isinstance(checkpoint, Checkpoint):
        raise InputError(
            "processes > 1 needs a checkpoint every process can open: give checkpoint= a SQLite "
            "file or a postgresql:// URL (not None, not an open Checkpoint)."
        )
    if "fork" not in multiprocessing.get_all_start_methods():
        raise InputError("processes > 1 needs fork (Linux, macOS); run with processes=1 here.")
    check_items(inputs, options.get("limit"))  # a bad input is reported once, here
    if not isinstance(inputs, str | Path):
        inputs = list(inputs)  # an iterator would be read by one process only
    run_sync(_prepare(checkpoint))  # schema and WAL set once, before the processes race for it
    per_process = max(1, math.ceil(concurrency / processes))
    helper_options = {**options, "checkpoint": checkpoint, "concurrency": per_process, "output": None}

    context = multiprocessing.get_context("fork")
    messages = context.SimpleQueue()
    helpers = [
        context.Process(
            target=_helper, args=(run_batch, pipeline, inputs, helper_options, messages), daemon=True
        )
        for _ in range(processes - 1)
    ]
    for helper in helpers:
        helper.start()
    lock = threading.Lock()

    def emit(event) -> None:
        if on_event is not None and event is not None:
            with lock:  # events come from this process's loop and from the relay thread
                on_event(event)

    outcomes: list = []
    relay = threading.Thread(target=_relay, args=(messages, emit, len(helpers), outcomes), daemon=True)
    relay.start()
    try:
        mine = run_batch(
            pipeline, inputs, checkpoint=checkpoint, concurrency=per_process, on_event=emit, **options
        )
        summary = run_sync(mine)
        for helper in helpers:
            helper.join()
        relay.join(timeout=5)  # a helper killed outright never says it is done
        for outcome in outcomes:
            _merge(summary, outcome)
    finally:
        for helper in helpers:
            if helper.is_alive():
                helper.terminate()
    return summary


async def _prepare(checkpoint: CheckpointTarget) -> None:
    async with open_checkpoint(checkpoint):
        pass


def _helper(run_batch, pipeline: Pipeline, inputs: Inputs, options: dict, messages) -> None:
    """A forked helper: the batch loop on a fresh event loop; sends home ``("event", e)`` per
    item event and, last, ``("done", its BatchResult or its error)``."""

    def send(event) -> None:
        if isinstance(event, StepStarted | StepDone):
            messages.put(("event", event))

    outcome: object = "no result"
    try:
        outcome = asyncio.run(run_batch(pipeline, inputs, on_event=send, **options))
    except BaseException as exc:  # the parent reports it; the ledger lets others take its items
        outcome = f"{type(exc).__name__}: {exc}"
    finally:
        messages.put(("done", outcome))


def _relay(messages, emit, helpers: int, outcomes: list) -> None:
    """Pass the helpers' events to `emit`, and keep their outcomes, until every one is done.

    Draining all the time keeps a helper from blocking on a full pipe."""
    while helpers:
        kind, payload = messages.get()
        if kind == "done":
            outcomes.append(payload)
            helpers -= 1
        else:
            emit(payload)


def _merge(summary, other) -> None:
    """Add a helper's `BatchResult` (or its error) to this process's `summary`."""
    if isinstance(other, str):
        summary.failures.append(("(helper process)", other))
        return
    summary.ran += other.ran
    summary.ran_failed += other.ran_failed
    summary.usage.add(other.usage)
    summary.words += other.words
    summary.length_scores.extend(other.length_scores)
    summary.failures.extend(other.failures[: max(0, 50 - len(summary.failures))])


__all__ = ["run_processes"]
