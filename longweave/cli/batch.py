"""`longweave batch`: one pipeline over a JSONL file of inputs, resumable, on many servers.

    longweave batch prompts.jsonl -o pieces.jsonl                       # AgentWrite, embedded model
    longweave batch prompts.jsonl -o out.jsonl --method cogwriter --concurrency 64 \\
        --model "openai:Qwen/Qwen3-8B@http://gpu1:8000/v1,http://gpu2:8000/v1"
    longweave batch questions.jsonl -o answers.jsonl --method ask --read rag
    longweave batch prompts.jsonl -o out.jsonl --checkpoint postgresql://lw@db/lw   # several machines
    longweave batch prompts.jsonl -o out.jsonl --ray --workers 4                    # a Ray cluster
    longweave batch prompts.jsonl -o out.jsonl --processes 4 -m "openai:m@URL1,URL2"  # 4 local processes

Each input line is a JSON object with an ``id``: ``instruction`` (and optionally ``words``,
``plan``) for agentwrite and cogwriter; ``corpus`` (paths) and ``instruction`` for report;
``document`` or ``files``, and ``query``, for ask. Records go to ``-o`` as items finish
(``id, output, words, target_words, S_l, plan, usage, seconds, error``), and the file is
rewritten in input order at the end. The checkpoint (``--checkpoint``, default beside the
output) makes the batch resumable: run the same command again after a crash or Ctrl-C and
finished items are not redone, unfinished ones resume inside. A failing item is recorded with
its reason and the batch goes on; ``--retry-failed`` runs them again. On a terminal a progress
bar counts items, with tokens/s and ETA; otherwise one line per item. A summary table ends the
run. A user's mistake prints one line and exits 2; a batch with failed items exits 1.

Deliberately not here: the runner (``pipelines/batch.py``, ``pipelines/batch_ray.py``).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from longweave.cli._common import console, fail
from longweave.errors import ConfigError, InputError
from longweave.events import Event, Notice, StepDone
from longweave.pipelines.base import Pipeline

METHODS = ("agentwrite", "cogwriter", "report", "ask")
READERS = ("coa", "rag", "rtr", "full")
_CLASS = {"agentwrite": "AgentWrite", "cogwriter": "CogWriter", "report": "Report"}
_READER_CLASS = {"coa": "ChainOfAgents", "rag": "RAG", "rtr": "RetrieveThenReason", "full": "FullContext"}


@dataclass(frozen=True)
class PipelineSpec:
    """Everything needed to build a batch's pipeline, picklable so Ray workers build their own.

    Attributes:
        method: agentwrite, cogwriter, report or ask; ``read``: the reader for ask.
        model: the model spec; ``model_options``: passed to `load_llm` (max_concurrency...).
        options: passed to the pipeline (temperature, embedder...).
    """

    method: str
    model: str
    read: str = "rag"
    model_options: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)

    @property
    def class_name(self) -> str:
        return _READER_CLASS[self.read] if self.method == "ask" else _CLASS[self.method]

    def check(self) -> None:
        """Raise ConfigError for an unknown method or reader, before anything is loaded."""
        if self.method not in METHODS:
            raise ConfigError(f"unknown --method {self.method!r}; use one of: {', '.join(METHODS)}.")
        if self.method == "ask" and self.read not in READERS:
            raise ConfigError(f"unknown --read {self.read!r}; use one of: {', '.join(READERS)}.")


def build(spec: PipelineSpec) -> Pipeline:
    """The pipeline `spec` names, on a freshly loaded model (what each Ray worker calls)."""
    from longweave.llm import load_llm

    spec.check()
    llm = load_llm(spec.model, **spec.model_options)
    opts = dict(spec.options)
    if spec.method in ("agentwrite", "cogwriter"):
        from longweave.cli.agentwrite import build_pipeline

        return build_pipeline(spec.method, llm, checkpoint=None, temperature=opts.get("temperature", 0.7),
                              concurrency=opts.get("concurrency"), context="bounded")  # fmt: skip
    if spec.method == "report":
        from longweave.pipelines.report import Report

        return Report(llm, embedder=opts.get("embedder", "hash"), temperature=opts.get("temperature", 0.7))
    from longweave.cli.ask import _pipeline

    return _pipeline(spec.read, llm, embedder=opts.get("embedder", "hash"), top_k=None, chunk_tokens=None,
                     index_cache=True)  # fmt: skip


class _Display:
    """Items done over items to run, tokens/s and ETA on a terminal; a line per item elsewhere."""

    def __init__(self, rich: bool) -> None:
        self.rich = rich
        self.progress: Progress | None = None
        self.task = None
        self.started = time.monotonic()
        self.tokens = 0
        self.count = 0
        self.total = 0

    def __call__(self, event: Event) -> None:
        if isinstance(event, Notice) and event.kind == "batch_start":
            self.start(event.details)
        elif isinstance(event, StepDone):
            self.item(event.details["record"], failed=not event.ok)

    def start(self, event: dict) -> None:
        self.total = event["to_run"]
        earlier = f"{event['done']} done and {event['failed']} failed before; " if event["done"] or event[
            "failed"] else ""  # fmt: skip
        self.line(f"batch: {event['total']} input(s); {earlier}{self.total} to run")
        if self.rich:
            self.progress = Progress(
                TextColumn("items"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeRemainingColumn(),
                console=console,
            )
            self.progress.start()
            self.task = self.progress.add_task("items", total=self.total, rate="")

    def item(self, record: dict, failed: bool) -> None:
        self.count += 1
        self.tokens += (record.get("usage") or {}).get("completion_tokens", 0)
        rate = self.tokens / max(1e-9, time.monotonic() - self.started)
        if failed:
            self.line(f"item {record['id']} failed: {record['error']}")
        elif self.progress is None:
            s_l = f", S_l {record['S_l']}" if record.get("S_l") is not None else ""
            self.line(
                f"item {record['id']} done ({self.count}/{self.total}): {record['words']} words{s_l}, "
                f"{record['usage']['calls']} call(s), {record['seconds']:.1f} s, {rate:.0f} tokens/s"
            )
        if self.progress is not None:
            self.progress.update(self.task, completed=self.count, rate=f"{rate:.0f} tok/s")

    def line(self, text: str) -> None:
        if self.progress is not None:
            self.progress.console.print(text, highlight=False, markup=False)
        else:
            print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def summarize(result, llm, rich: bool) -> None:
    """The summary table (and per-endpoint usage for a pool of servers)."""
    u = result.usage
    rate = u.completion_tokens / result.seconds if result.seconds else 0.0
    rows = [
        ("inputs", str(result.total)),
        ("done / failed", f"{result.done} / {result.failed}"),
        ("this run", f"{result.ran} item(s), {result.ran_failed} failed"),
    ]
    if result.skipped:
        rows.append(("left to other workers", str(result.skipped)))
    if result.remaining:
        rows.append(("not run (--limit)", str(result.remaining)))
    rows.append(("words written", str(result.words)))
    if result.mean_length_score is not None:
        rows.append(("mean S_l", f"{result.mean_length_score:.1f}"))
    rows.append(("calls", str(u.calls)))
    rows.append(("tokens", f"{u.prompt_tokens} prompt + {u.completion_tokens} completion ({rate:.0f}/s)"))
    rows.append(("seconds", f"{result.seconds:.1f}"))
    rows.append(("output", str(result.output)))
    rows.append(("checkpoint", result.checkpoint))
    endpoints = llm.endpoint_usage() if hasattr(llm, "endpoint_usage") else []
    if not rich:
        print("; ".join(f"{k}: {v}" for k, v in rows), file=sys.stderr, flush=True)
        for e in endpoints:
            print(f"endpoint {e['url']}: {e['calls']} calls, {e['failures']} failures", file=sys.stderr)
    else:
        table = Table("", "", show_header=False, title="Batch", title_justify="left")
        for k, v in rows:
            table.add_row(k, v)
        console.print(table)
        if endpoints:
            per = Table("endpoint", "calls", "failures", "prompt tokens", "completion tokens", "up")
            for e in endpoints:
                per.add_row(e["url"], str(e["calls"]), str(e["failures"]), str(e["prompt_tokens"]),
                            str(e["completion_tokens"]), "yes" if e["up"] else "no")  # fmt: skip
            console.print(per)
    for item_id, error in result.failures[:10]:
        print(f"failed: {item_id}: {error}", file=sys.stderr)


def dry_run(spec: PipelineSpec, inputs: Path, checkpoint: str, limit: int | None) -> None:
    """Check every input line and the fields the method needs; say what a run would do."""
    import longweave
    from longweave.pipelines.batch_items import BATCH_ID, check_items, iter_items

    total = check_items(inputs, limit)
    io = getattr(longweave, spec.class_name).node_io
    lacking: dict[str, list[str]] = {}
    for item in iter_items(inputs):
        if item.position >= total:
            break
        fields = {("document" if k == "files" else k) for k, v in item.fields.items() if v is not None}
        for param in io.required:
            if io.inputs[param] not in fields:
                lacking.setdefault(io.inputs[param], []).append(item.id)
    states: dict = {}
    if checkpoint.startswith(("postgresql://", "postgres://")) or Path(checkpoint).is_file():
        from longweave._sync import run_sync
        from longweave.pipelines.checkpoint import open_checkpoint

        async def read() -> dict:
            async with open_checkpoint(checkpoint) as cp:
                return cp.store.item_states(BATCH_ID)

        states = run_sync(read())
    done = sum(1 for s in states.values() if s[0] == "done")
    failed = sum(1 for s in states.values() if s[0] == "failed")
    print(f"{total} input(s) for {spec.method} ({spec.class_name}) on {spec.model}: {done} done, "
          f"{failed} failed, {total - done - failed} to run; checkpoint {checkpoint}")  # fmt: skip
    for key, ids in lacking.items():
        shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
        print(f"{len(ids)} input(s) lack {key!r} and would fail: {shown}")


def register(app: typer.Typer) -> None:
    """Add ``longweave batch`` to the `longweave` app."""

    @app.command(no_args_is_help=True)
    def batch(
        inputs: Annotated[Path, typer.Argument(help='JSONL file, one input a line, each with an "id".')],
        output: Annotated[Path, typer.Option("--output", "-o", help="JSONL file of records.")],
        method: Annotated[str, typer.Option(help="agentwrite, cogwriter, report or ask.")] = "agentwrite",
        read: Annotated[str, typer.Option(help="For --method ask: coa, rag, rtr or full.")] = "rag",
        model: Annotated[
            str, typer.Option("--model", "-m", help="Model spec; URL1,URL2 for several servers.")
        ] = "local",
        checkpoint: Annotated[
            str | None,
            typer.Option(help="SQLite file or postgresql:// URL (default: OUTPUT with .checkpoint.db)."),
        ] = None,
        concurrency: Annotated[int, typer.Option(min=1, help="Items in flight at once.")] = 8,
        model_concurrency: Annotated[
            int | None, typer.Option(min=1, help="Model calls in flight (per server for a pool).")
        ] = None,
        limit: Annotated[int | None, typer.Option(min=1, help="Run only the first N inputs.")] = None,
        retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Run failed items again.")] = False,
        dry: Annotated[bool, typer.Option("--dry-run", help="Check the inputs; run nothing.")] = False,
        temperature: Annotated[float, typer.Option(min=0.0, max=2.0, help="Sampling temperature.")] = 0.7,
        embedder: Annotated[str, typer.Option(help="For report and ask: hash or minilm.")] = "hash",
        ray: Annotated[bool, typer.Option("--ray", help="Spread the items over a Ray cluster.")] = False,
        ray_address: Annotated[
            str | None, typer.Option(help="The Ray cluster to join (default: start a local one).")
        ] = None,
        workers: Annotated[int, typer.Option(min=1, help="Ray workers (with --ray).")] = 2,
        processes: Annotated[
            int, typer.Option(min=1, help="Local processes sharing the batch (each its own model client).")
        ] = 1,
    ) -> None:
        """Run one method over every input of a JSONL file: resumable, failures recorded, JSONL out."""
        if not inputs.is_file():
            raise InputError(f"the batch input {inputs} is not a file; give a JSONL file.")
        if output.is_dir() or not output.parent.exists():
            raise InputError(f"cannot write the output to {output}: give a file in an existing folder.")
        if output.resolve() == inputs.resolve():
            raise InputError("the output would overwrite the input; give another -o file.")
        target = checkpoint or str(output.with_suffix(".checkpoint.db"))
        if not target.startswith(("postgresql://", "postgres://")):
            path = Path(target)
            if path.is_dir() or not path.parent.exists():
                raise InputError(
                    f"the checkpoint path {path} is a folder or in a missing folder; "
                    "give a file such as run.db."
                )
        model_options = {"max_concurrency": model_concurrency} if model_concurrency else {}
        options = {"temperature": temperature, "embedder": embedder}
        spec = PipelineSpec(method, model, read, model_options, options)
        spec.check()
        if dry:
            dry_run(spec, inputs, target, limit)
            return
        rich = console.is_terminal
        display = _Display(rich)
        common = {"output": output, "checkpoint": target, "concurrency": concurrency, "limit": limit,
                  "retry_failed": retry_failed, "on_event": display}  # fmt: skip
        try:
            if ray or ray_address:
                from longweave.pipelines.batch_ray import run_many_ray

                llm = None
                result = run_many_ray(build, spec, inputs, workers=workers, address=ray_address, **common)
            else:
                from longweave.pipelines.batch import run_many

                pipeline = build(spec)
                llm = pipeline.llm
                try:
                    result = run_many(pipeline, inputs, processes=processes, **common)
                finally:
                    display.close()
                    llm.close()
        finally:
            display.close()
        summarize(result, llm, rich)
        if result.ran_failed:
            message = f"{result.ran_failed} item(s) failed (see {output}); --retry-failed reruns them."
            raise fail(message, 1)


__all__ = ["METHODS", "PipelineSpec", "build", "register"]
