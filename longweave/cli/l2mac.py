"""`longweave code` and `longweave book`: run L2MAC from the shell.

Both commands plan the instruction registry (or read an edited one with ``--registry``), show
it as a table, then run it with a progress bar over instructions (plain lines when stderr is not
a terminal). ``--plan-only`` stops after saving the registry to ``WORKDIR/.longweave/registry.json``
so it can be edited and passed back with ``--registry``; ``--resume`` continues an interrupted run.
The exit status is 1, with one line saying why, when the run is not `L2MACResult.ok` (a step
failed, for instance one that had to write files and wrote none, or the store is empty).

Deliberately not here: anything the pipeline decides (see ``longweave.pipelines.l2mac``).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from longweave.agents.prompt_program import check_registry, headline, parse_registry
from longweave.cli._common import console, fail
from longweave.errors import InputError
from longweave.events import Event, Notice, PlanReady, StepDone, StepStarted
from longweave.llm import load_llm
from longweave.pipelines.l2mac import L2MAC, L2MACResult

TASK = typer.Argument("", help="What to build or write (not needed with --resume).")
WORKDIR = typer.Option(..., "--workdir", "-w", help="Directory of the output (created if missing).")
MODEL = typer.Option("local", "--model", "-m", help="Model spec (see `longweave models`).")
REGISTRY = typer.Option(None, "--registry", help="Run this registry (JSON list or one instruction a line).")
MAX_STEPS = typer.Option(200, "--max-steps", help="Agent calls allowed in the whole run.")
PLAN_ONLY = typer.Option(False, "--plan-only", help="Plan and save the registry, then stop.")
RESUME = typer.Option(False, "--resume", help="Continue the interrupted run in WORKDIR.")


def read_registry(path: Path) -> list[str]:
    """A registry file: a JSON list of strings, or one instruction per line (numbers optional)."""
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the registry file {path}: {exc.strerror or exc}.") from None
    if text.lstrip().startswith("["):
        try:
            return check_registry(json.loads(text))
        except ValueError:
            raise InputError(
                f"{path} is not a valid JSON list; fix it or write one instruction a line."
            ) from None
    lines = parse_registry(text) or [line.strip() for line in text.splitlines() if line.strip()]
    return check_registry(lines)


def show_registry(registry: list[str], dropped: list[str] = ()) -> None:
    table = Table("#", "instruction", title="instruction registry")
    for i, instruction in enumerate(registry, 1):
        lines = instruction.count("\n")
        table.add_row(str(i), headline(instruction) + (f" (+{lines} lines)" if lines else ""))
    console.print(table)
    for step in dropped:
        console.print(f"left out (the sandbox cannot do it): {headline(step)}", highlight=False)


def _run(mode: str, task: str, workdir: Path, model: str, registry_file: Path | None,
         max_steps: int, plan_only: bool, resume: bool) -> None:  # fmt: skip
    if not resume and not task.strip():
        raise InputError("the task is empty; describe what to build or write, in quotes.")
    registry = read_registry(registry_file) if registry_file else None
    pipeline = L2MAC(load_llm(model), workdir=workdir, mode=mode, max_steps=max_steps)
    if plan_only:
        registry = registry or pipeline.plan(task)
        pipeline.save_registry(registry)
        show_registry(registry)
        print(pipeline.registry_path)
        return
    if registry:
        show_registry(registry)
    result = _run_with_progress(pipeline, task, registry, resume)
    report(result)
    if not result.ok:
        raise fail(_why_not_ok(result), 1)


def _why_not_ok(result: L2MACResult) -> str:
    if not result.files:
        return f"no file was written in {result.workdir}; see the failed steps above."
    parts = [f"step {f}" for f in result.failures]
    if result.stopped:
        parts.append(f"stopped at {result.stopped}")
    if not result.test_report.ok:
        parts.append("the final check failed")
    return "the run is not done: " + "; ".join(parts) + "."


def _run_with_progress(pipeline: L2MAC, task: str, registry: list[str] | None, resume: bool) -> L2MACResult:
    live = console.is_terminal
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, disable=not live,
    )  # fmt: skip
    bar = None

    def on_event(event: Event) -> None:
        nonlocal bar
        if isinstance(event, PlanReady):
            if registry is None:
                show_registry([s["instruction"] for s in event.sections], event.dropped)
            bar = progress.add_task("instructions", total=len(event.sections))
        elif isinstance(event, StepStarted):
            text = f"[{event.index + 1}] {event.title[:60]}"
            if live and bar is not None:
                progress.update(bar, description=text)
            else:
                console.print(f"step {text}", highlight=False, soft_wrap=True)
        elif isinstance(event, StepDone):
            if bar is not None:
                progress.update(bar, completed=event.index + 1)
            if not live:
                changed = ", ".join(event.details.get("changed", [])) or "none"
                status = "ok" if event.ok else f"FAILED ({event.reason or 'checks failed'})"
                line = f"done {event.index + 1}: {status}, files changed: {changed}"
                console.print(line, highlight=False, soft_wrap=True)
        elif isinstance(event, Notice) and event.kind == "repair":
            if bar is not None:
                progress.update(bar, total=event.index + 1)
            if not live:
                console.print(f"added {event.index + 1}: {headline(event.details['instruction'])}",
                              highlight=False, soft_wrap=True)  # fmt: skip
        elif (
            isinstance(event, Notice) and event.kind in ("restart", "check_failed", "no_effect") and not live
        ):
            console.print(f"{event.kind} at instruction {event.index + 1}")

    with progress:
        return pipeline.run(task, registry=registry, resume=resume, on_event=on_event)


def report(result: L2MACResult) -> None:
    """Files on stdout (one a line), the checks and usage on stderr."""
    for path in result.files:
        print(result.workdir / path)
    rep = result.test_report
    tests = ("passed" if rep.tests_passed else "FAILED") if rep.tests_run else "none run"
    if rep.tests_missing:
        tests = "MISSING (none collected)" if rep.tests_run else "MISSING"
    console.print(
        f"{len(result.files)} files, tests: {tests}, syntax errors: {len(rep.syntax_errors)}, "
        f"stubs: {len(rep.stubs)}, "
        f"turns: {result.turns}, restarts: {result.restarts}, fix rounds: {result.fix_rounds}, "
        f"repairs: {result.repairs}, "
        f"calls: {result.usage.total.calls}, tokens: {result.usage.total.prompt_tokens}+"
        f"{result.usage.total.completion_tokens}, {result.seconds:.1f} s"
        + (f", stopped: {result.stopped}" if result.stopped else "")
        + (f", failed steps: {', '.join(map(str, result.failed_steps))}" if result.failed_steps else ""),
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add the `code` and `book` commands to the `longweave` app."""

    @app.command()
    def code(
        task: str = TASK,
        workdir: Path = WORKDIR,
        model: str = MODEL,
        registry: Path | None = REGISTRY,
        max_steps: int = MAX_STEPS,
        plan_only: bool = PLAN_ONLY,
        resume: bool = RESUME,
    ) -> None:
        """Write a Python codebase with tests (L2MAC, code mode)."""
        _run("code", task, workdir, model, registry, max_steps, plan_only, resume)

    @app.command()
    def book(
        task: str = TASK,
        workdir: Path = WORKDIR,
        model: str = MODEL,
        registry: Path | None = REGISTRY,
        max_steps: int = MAX_STEPS,
        plan_only: bool = PLAN_ONLY,
        resume: bool = RESUME,
    ) -> None:
        """Write a book, one Markdown file per chapter (L2MAC, text mode)."""
        _run("book", task, workdir, model, registry, max_steps, plan_only, resume)
