"""The `longweave report` command: a long report from files or folders, every citation checked.

    longweave report reports/ "Review the quarterly reports" --words 5000 -o review.md
    longweave report a.txt b.pdf notes/ "Summarise the findings" --checkpoint run.db
    longweave report reports/ @brief.txt --dry-run

The last argument is the instruction (``@FILE`` reads it from a file, ``-`` from stdin); the
ones before it are files or folders. It follows ``agentwrite``'s conventions and reuses its
display: the plan as a table on a terminal, a progress bar in words, one plain line per event
otherwise; ``-o FILE`` is rewritten as each section finishes; a summary ends the run, with
how many citations held, were revised or dropped. A user's mistake (a missing path, an empty
corpus, a binary file named directly) prints one line and exits with status 2.

Deliberately not here: the pipeline (``pipelines/report.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from longweave._sync import run_sync
from longweave.cli._common import console, fail, run_app
from longweave.cli.agentwrite import _Display, _print_plan, deliver, read_instruction
from longweave.errors import InputError
from longweave.events import Event, Notice, StepDone


class _ReportDisplay(_Display):
    """AgentWrite's display, plus the index and each section's citation counts."""

    def __call__(self, event: Event) -> None:
        if isinstance(event, Notice) and event.kind == "indexed":
            d = event.details
            skipped = f", {d['skipped']} file(s) skipped" if d["skipped"] else ""
            self.line(
                f"indexed {d['files']} file(s) in {d['passages']} passages ({d['seconds']:.1f} s{skipped})"
            )
        elif isinstance(event, StepDone):
            super().__call__(event)
            d = event.details
            self.line(
                f"  citations: {d['citations']} held, {d['failed']} failed "
                f"({d['revised']} sentence(s) revised, {d['dropped']} dropped)"
            )
        else:
            super().__call__(event)


def report(
    args: Annotated[
        list[str],
        typer.Argument(
            help="Files or folders to read, then the instruction (@FILE from a file, - from stdin).",
            show_default=False,
        ),
    ],
    words: Annotated[
        int | None,
        typer.Option(
            "--words", "-w", min=1, help="Target length (default: as the instruction says, else 1500)."
        ),
    ] = None,
    model: Annotated[
        str, typer.Option("--model", "-m", help="Model spec (see `longweave models`).")
    ] = "local",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report here, updated as sections finish.")
    ] = None,
    checkpoint: Annotated[
        Path | None, typer.Option(help="SQLite file to checkpoint to; the same command again resumes.")
    ] = None,
    embedder: Annotated[str, typer.Option(help="hash (no model needed) or minilm.")] = "hash",
    top_k: Annotated[int, typer.Option("--top-k", min=1, help="Passages retrieved per section.")] = 6,
    index_cache: Annotated[
        bool,
        typer.Option("--index-cache/--no-index-cache", help="Reuse passage vectors of unchanged files."),
    ] = True,
    judge: Annotated[
        bool, typer.Option("--judge", help="Also ask the model whether each passage supports its claim.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan only; write nothing.")] = False,
    temperature: Annotated[float, typer.Option(min=0.0, max=2.0, help="Sampling temperature.")] = 0.3,
) -> None:
    """Write a long report from files or folders, citing them; every citation is checked."""
    if len(args) < 2:
        raise InputError(
            'give the files or folders to read, then the instruction, e.g. reports/ "Review them".'
        )
    *paths, instruction = args
    text = read_instruction(instruction)
    if output is not None and (output.is_dir() or not output.parent.exists()):
        raise InputError(f"cannot write the output to {output}: give a file in an existing folder.")
    if checkpoint is not None and (checkpoint.is_dir() or not checkpoint.parent.exists()):
        raise InputError(
            f"the checkpoint path {checkpoint} is a folder or in a missing folder; give a file like run.db."
        )
    from longweave.pipelines._corpus import read_corpus

    loaded = read_corpus(paths)  # before loading a model: a wrong path fails fast
    from longweave.llm import load_llm
    from longweave.pipelines.report import Report

    rich = console.is_terminal
    llm = load_llm(model)
    try:
        pipeline = Report(
            llm,
            embedder=embedder,
            top_k=top_k,
            index_cache=index_cache,
            judge=judge,
            temperature=temperature,
            checkpoint=checkpoint,
        )
        if dry_run:
            outcome = run_sync(pipeline.aplan(loaded, text, words))
            _print_plan([s.to_dict() for s in outcome.sections], outcome.source, rich)
            return
        display = _ReportDisplay(output, words, rich)
        try:
            result = pipeline.run(loaded, text, words, on_event=display)
        finally:
            display.close()
    finally:
        llm.close()
    deliver(result, output, rich)
    held = len(result.verified)
    line = (
        f"citations: {held} held in the text, {len(result.citations) - held} failed the check; "
        f"{len(result.dropped)} sentence(s) dropped; {len(result.bibliography)} source(s) cited"
    )
    if rich:
        console.print(line, highlight=False, markup=False)
    else:
        print(line, file=sys.stderr, flush=True)
    uncited = result.uncited_sections
    if not held:
        kept = f" in {output}" if output else ""
        raise fail(
            "no citation held: the report states nothing its sources were shown to support "
            f"(the text is kept{kept}); try a stronger model (--model) or more passages per "
            "section (--top-k)",
            code=1,
        )
    if uncited:
        titles = ", ".join(repr(result.plan[i]["title"]) for i in uncited[:3])
        print(f"warning: {len(uncited)} section(s) hold no valid citation: {titles}", file=sys.stderr)


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
app.command(no_args_is_help=True)(report)


def register(app_: typer.Typer) -> None:
    """Add ``longweave report`` to the `longweave` app."""
    app_.command("report", no_args_is_help=True)(report)


def main() -> None:
    sys.exit(run_app(app, prog_name="longweave report"))


if __name__ == "__main__":
    main()
