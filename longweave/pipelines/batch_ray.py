"""The same batch as `run_many`, spread over a Ray cluster: one async actor per worker.

`run_many_ray(build, spec, inputs, workers=4, address="ray://head:10001", ...)` starts `workers`
Ray actors. Each builds its own pipeline with ``build(spec)`` (a picklable function and its
argument: the model is loaded inside the actor, never pickled), opens the batch's checkpoint
itself, and runs up to `concurrency` items at once with `batch_worker.Worker`, exactly as a local run
does: lease, run (resuming inside where the checkpoint has the item), record. The driver (this
process) reads the input, sends each unfinished item to the actor with the fewest in flight,
appends the records as they come back and rewrites the output in input order at the end.

The checkpoint must be reachable from every actor: a SQLite file on a local cluster (each
actor its own connection; every write is a short transaction), a ``postgresql://`` URL across
machines. The model servers must be reachable from the actors too (a vLLM deployment's URLs).

Deliberately not here: Ray Data pipelines, autoscaling, and placing actors next to GPUs (the
models run in their own servers; actors only orchestrate).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from longweave.errors import ConfigError, InputError
from longweave.events import EventHandler, Notice
from longweave.pipelines.base import Pipeline
from longweave.pipelines.batch import BatchResult, Collector, finish_summary, start_batch
from longweave.pipelines.batch_items import BATCH_ID, Inputs, Item, check_items, iter_items
from longweave.pipelines.batch_worker import LEASE_SECONDS, Worker, item_done
from longweave.pipelines.checkpoint import is_postgres, open_checkpoint


class BatchActor:
    """What each Ray actor runs: a `Worker` on its own pipeline and checkpoint connection."""

    def __init__(self, build: Callable[[Any], Pipeline], spec: Any, checkpoint: str, batch_id: str,
                 lease_seconds: float) -> None:  # fmt: skip
        self.build, self.spec, self.checkpoint = build, spec, checkpoint
        self.batch_id, self.lease_seconds = batch_id, lease_seconds
        self.worker: Worker | None = None
        self.stack = AsyncExitStack()
        self.ready: asyncio.Lock | None = None

    async def _worker(self) -> Worker:
        if self.ready is None:
            self.ready = asyncio.Lock()
        async with self.ready:
            if self.worker is None:
                cp = await self.stack.enter_async_context(open_checkpoint(self.checkpoint))
                pipeline = self.build(self.spec)
                self.worker = Worker(pipeline, cp, batch_id=self.batch_id, lease_seconds=self.lease_seconds)
                asyncio.get_running_loop().create_task(self.worker.heartbeat())
        return self.worker

    async def run_item(self, item_id: str, position: int, fields: dict, retry_failed: bool) -> dict:
        """Lease and run one item: ``{"record": ...}``, or ``{"status": ..., "holder": ...}``."""
        worker = await self._worker()
        item = Item(item_id, position, fields)
        status, holder = worker.take(item, retry_failed=retry_failed)
        if status != "taken":
            return {"status": status, "holder": holder}
        return {"record": await worker.run(item)}

    async def close(self) -> None:
        if self.worker is not None:
            self.worker.pipeline.llm.close()
        await self.stack.aclose()


def run_many_ray(
    build: Callable[[Any], Pipeline],
    spec: Any,
    inputs: Inputs,
    *,
    workers: int = 2,
    address: str | None = None,
    output: str | Path | None = None,
    checkpoint: str | Path | None = None,
    concurrency: int = 8,
    limit: int | None = None,
    retry_failed: bool = False,
    on_event: EventHandler | None = None,
    batch_id: str = BATCH_ID,
    lease_seconds: float = LEASE_SECONDS,
) -> BatchResult:
    """Run a batch on a Ray cluster; arguments and result as `batch.run_many`.

    Args:
        build: ``build(spec) -> Pipeline``, called inside each actor (module-level, picklable).
        spec: its argument (e.g. `longweave.cli.batch.PipelineSpec`).
        workers: Ray actors, each running up to `concurrency` items at once.
        address: the cluster (``ray://host:10001`` or ``auto``); None starts a local Ray
            instance with `workers` CPUs for this run.
        checkpoint: a SQLite file every actor can open, or a ``postgresql://`` URL.

    Raises:
        ConfigError: Ray is not installed, or no checkpoint was given (actors share state only
            through one).
    """
    try:
        import ray
    except ImportError as exc:
        raise ConfigError('--ray needs Ray: pip install "longweave[ray]".') from exc
    if checkpoint is None:
        raise ConfigError(
            "a Ray batch needs a checkpoint every worker can open: a file or a postgresql:// URL."
        )
    if concurrency < 1 or workers < 1:
        raise InputError("workers and concurrency must be at least 1.")
    target = str(checkpoint) if is_postgres(str(checkpoint)) else str(Path(checkpoint).resolve())
    output = Path(output) if output is not None else None
    total = check_items(inputs, limit)
    started = time.monotonic()
    summary = BatchResult(total=total, output=str(output) if output else None)

    async def driver_store(action):
        async with open_checkpoint(target) as cp:
            summary.checkpoint = str(cp)
            return action(cp.store)

    from longweave._sync import run_sync

    method = spec.class_name if hasattr(spec, "class_name") else type(build(spec)).__name__
    event = run_sync(driver_store(lambda store: start_batch(store, batch_id, method, inputs, total, output,
                                                            retry_failed)))  # fmt: skip
    emit = on_event or (lambda e: None)
    emit(Notice("batch_start", details=event))
    started_here = not ray.is_initialized()
    if started_here:
        if address is None:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
        else:
            ray.init(address=address, log_to_driver=False)
    remote = ray.remote(num_cpus=1)(BatchActor)
    actors = [remote.options(max_concurrency=concurrency).remote(build, spec, target, batch_id, lease_seconds)
              for _ in range(workers)]  # fmt: skip
    load = [0] * workers
    refs: dict[Any, tuple[int, Item]] = {}
    collect = Collector(summary, output)
    elsewhere: list[Item] = []

    def send(item: Item) -> None:
        k = min(range(workers), key=load.__getitem__)
        load[k] += 1
        ref = actors[k].run_item.remote(item.id, item.position, item.fields, retry_failed)
        refs[ref] = (k, item)

    def receive(timeout: float | None = None) -> None:
        ready, _ = ray.wait(list(refs), num_returns=1, timeout=timeout)
        for ref in ready:
            k, item = refs.pop(ref)
            load[k] -= 1
            answer = ray.get(ref)
            if "record" in answer:
                record = answer["record"]
                collect(record)
                emit(item_done(item, record))
            elif answer["status"] == "running":
                elsewhere.append(item)

    try:
        states = run_sync(driver_store(lambda store: store.item_states(batch_id)))
        finished = {"done", "failed"} if not retry_failed else {"done"}
        for item in iter_items(inputs):
            if item.position >= total:
                break
            if states.get(item.id, ("new",))[0] in finished:
                continue
            while len(refs) >= workers * concurrency:
                receive()
            send(item)
        while refs or elsewhere:
            if refs:
                receive(timeout=1.0)
            elif elsewhere:
                time.sleep(min(2.0, lease_seconds / 3))
                waiting, elsewhere[:] = list(elsewhere), []
                for item in waiting:
                    send(item)
    finally:
        ray.get([a.close.remote() for a in actors])
        for a in actors:
            ray.kill(a)
        if started_here:
            ray.shutdown()
        run_sync(driver_store(lambda store: finish_summary(summary, store, batch_id, output)))
    summary.remaining = 0 if limit is None else max(0, sum(1 for _ in iter_items(inputs)) - total)
    summary.seconds = time.monotonic() - started
    emit(Notice("batch_done", details={"summary": summary}))
    return summary


__all__ = ["BatchActor", "run_many_ray"]
