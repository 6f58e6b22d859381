"""The `agentwrite` command: a long piece from one instruction, resumable, on any backend.

    agentwrite "Write a 10000-word story about a lighthouse keeper" -o story.md
    agentwrite @brief.txt --words 5000 --model openai:gpt-4o-mini --checkpoint run.db
    cat brief.txt | agentwrite - --plan outline.md --dry-run

On a terminal it shows the plan as a table, then a progress bar in words with the section
being written, tokens/s and ETA; otherwise (a pipe, a log file) one plain line per event. A
summary of words, calls, tokens and seconds ends the run. The text goes to ``-o FILE``,
rewritten as each section finishes, or to stdout at the end. A user's mistake prints one line
and exits with status 2.

Other long-form methods plug in through `build_pipeline` (see `METHODS`): a pipeline there
needs ``arun(instruction, target_words=None, plan=None, *, on_event=None)`` (``on_event`` gets
`longweave.events`: `PlanReady`, `Resumed`, `StepStarted`, `StepDone`) returning a result
with ``text``, ``words``, ``plan``, ``plan_source``, ``target_words``, ``usage`` (like
`WriteResult`), and ``aplan(instruction, target_words)`` for ``--dry-run``.

Deliberately not here: the writing itself (``pipelines/agentwrite.py``).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from longweave._sync import run_sync
from longweave.agents.plan import Section, render_plan
from longweave.agents.plan_parser import read_plan_text, user_plan
from longweave.cli._common import console, run_app
from longweave.errors import ConfigError, InputError
from longweave.eval import length_score
from longweave.events import Event, PlanReady, Resumed, StepDone, StepStarted
from longweave.llm import LLM
from longweave.pipelines.base import Pipeline

MAX_INSTRUCTION_BYTES = 1_000_000


def _agentwrite(llm: LLM, **opts) -> Pipeline:
    from longweave.pipelines.agentwrite import AgentWrite

    opts.pop("concurrency", None)  # AgentWrite writes its sections in order, one at a time
    return AgentWrite(llm, **opts)


def _cogwriter(llm: LLM, **opts) -> Pipeline:
    check_method("cogwriter")
    module = importlib.import_module("longweave.pipelines.cogwriter")
    factory = getattr(module, "build_pipeline", None) or module.CogWriter
    return factory(llm, **opts)


# The seam for long-form methods: name -> factory(llm, **opts). Options every factory receives:
# checkpoint (path or None), temperature (float), concurrency (int or None), context (str).
METHODS: dict[str, Callable[..., Pipeline]] = {"agentwrite": _agentwrite, "cogwriter": _cogwriter}


def check_method(method: str) -> None:
    """Raise ConfigError unless `method` is known and its module is installed."""
    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}; use one of: {', '.join(METHODS)}.")
    if method == "cogwriter" and importlib.util.find_spec("longweave.pipelines.cogwriter") is None:
        raise ConfigError("--method cogwriter is not available yet in this version; use --method agentwrite.")


def build_pipeline(method: str, llm: LLM, **opts) -> Pipeline:
    """The pipeline `method` names, built around `llm` with the command's options.

    Raises:
        ConfigError: the method is unknown or not installed.
    """
    check_method(method)
    return METHODS[method](llm, **opts)


def read_instruction(arg: str) -> str:
    """The instruction: the text itself, ``@FILE`` for a file's contents, ``-`` for stdin."""
    if arg == "-":
        text = sys.stdin.read()
        where = "stdin"
    elif arg.startswith("@") and len(arg) > 1:
        path = Path(arg[1:])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read the instruction file {path}: {exc.strerror or exc}.") from exc
        if len(data) > MAX_INSTRUCTION_BYTES:
            raise InputError(f"the instruction file {path} is over 1 MB; give a shorter brief.")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"the instruction file {path} is not UTF-8 text.") from None
        where = str(path)
    else:
        text, where = arg, "the argument"
    if not text.strip():
        raise InputError(f"the instruction from {where} is empty; say what to write.")
    return text.strip()


def read_plan_file(path: Path, target_words: int | None) -> list[dict]:
    """A user's outline from JSON (a list, or {"sections": [...]}) or Markdown / numbered lines."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read the plan file {path}: {getattr(exc, 'strerror', None) or exc}."
        ) from exc
    items: list | None = None
    if path.suffix.lower() == ".json" or text.lstrip().startswith(("[", "{")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"the plan file {path} is not valid JSON ({exc.msg}, line {exc.lineno})."
            ) from exc
        items = data.get("sections") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise InputError(f'the plan file {path} must hold a list of sections or {{"sections": [...]}}.')
    else:
        items = [s.to_dict() for s in read_plan_text(text)]
    sections, _ = user_plan(items, target_words)
    out = [s.to_dict() for s in sections]
    if len(out) == len(items):  # keys other methods read (CogWriter: dependencies, constraints)
        for entry, item in zip(out, items, strict=True):
            if isinstance(item, dict):
                entry.update({k: item[k] for k in ("depends_on", "constraints") if k in item})
    return out


class _Display:
    """Progress on a terminal (rich), plain lines otherwise; writes -o as sections finish."""

    def __init__(self, output: Path | None, target: int | None, rich: bool) -> None:
        self.output = output
        self.target = target
        self.rich = rich
        self.progress: Progress | None = None
        self.task = None
        self.started = time.monotonic()
        self.tokens = 0
        self.token_seconds = 0.0
        self.words = 0
        self.planned = False

    def __call__(self, event: Event) -> None:
        if isinstance(event, PlanReady):
            self.plan(event.sections, event.source)
        elif isinstance(event, Resumed):
            self.words = event.words_done
            if self.progress is not None:
                self.progress.update(self.task, completed=self.words)
            self.line(f"resuming: {event.sections_done} section(s), {self.words} words already written")
        elif isinstance(event, StepStarted):
            self.section_start(event)
        elif isinstance(event, StepDone):
            self.section_done(event)

    def line(self, text: str) -> None:
        if self.progress is not None:
            self.progress.console.print(text, highlight=False, markup=False)
        else:
            print(text, file=sys.stderr, flush=True)

    def plan(self, sections: list[dict], source: str) -> None:
        if self.planned:  # a plan step re-run on resume reports the same plan again
            return
        self.planned = True
        total = sum(s["words"] for s in sections)
        self.target = self.target or total
        if self.rich:
            show_plan(sections, source)
            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.completed:.0f}/{task.total:.0f} words"),
                TextColumn("{task.fields[rate]}"),
                TimeRemainingColumn(),
                console=console,
            )
            self.progress.start()
            self.task = self.progress.add_task("planned", total=total, rate="")
        else:
            print(f"plan ({source}): {len(sections)} sections, {total} words", file=sys.stderr)
            print(render_plan([Section(**s) for s in sections]), file=sys.stderr, flush=True)

    def section_start(self, event: StepStarted) -> None:
        what = f"section {event.index + 1}: {event.title[:40]}"
        if self.progress is not None:
            self.progress.update(self.task, description=what)
        else:
            print(f"writing {what} ({event.words} words)", file=sys.stderr, flush=True)

    def section_done(self, event: StepDone) -> None:
        self.tokens += event.completion_tokens
        self.token_seconds += event.seconds
        rate = self.tokens / self.token_seconds if self.token_seconds else 0.0
        write_output(self.output, event.text)
        done = (
            f"section {event.index + 1} done: {event.words} words (budget {event.budget}), "
            f"{event.calls} call(s), {rate:.1f} tokens/s, {event.seconds:.1f} s"
        )
        self.words += event.words
        if self.progress is not None:
            self.progress.update(self.task, completed=self.words, rate=f"{rate:.1f} tok/s")
            self.line(done)
        else:
            print(done, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def show_plan(sections: list[dict], source: str) -> None:
    table = Table("#", "section", "words", "main point", title=f"Plan ({source})", title_justify="left")
    for i, s in enumerate(sections, 1):
        point = s.get("point") or ""
        table.add_row(str(i), s["title"], str(s["words"]), point if point != s["title"] else "")
    table.add_row("", "total", str(sum(s["words"] for s in sections)), "")
    console.print(table)


def write_output(path: Path | None, text: str) -> None:
    """Replace `path` with `text` atomically, so a reader never sees half a file."""
    if path is None:
        return
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(text + "\n", "utf-8")
    os.replace(tmp, path)


def deliver(result, output: Path | None, rich: bool) -> None:
    """Save the final text to `output` (or print it when there is none), then the summary table."""
    write_output(output, result.text)
    if output is None:
        print(result.text)
    summarize(result, rich)


def summarize(result, rich: bool) -> None:
    usage = result.usage
    target = result.target_words
    rows = [("words", f"{result.words} (target {target}, S_l {length_score(target, result.words):.1f})")]
    rows.append(("calls", str(usage.total.calls)))
    rows.append(
        ("tokens", f"{usage.total.prompt_tokens} prompt + {usage.total.completion_tokens} completion")
    )
    rows.append(("seconds", f"{result.seconds:.1f}"))
    if getattr(result, "resumed", False):
        rows.append(("resumed", "yes (calls and tokens count this run only)"))
    if rich:
        table = Table("", "", show_header=False, title="Summary", title_justify="left")
        for k, v in rows:
            table.add_row(k, v)
        by_role = Table("role", "calls", "prompt tokens", "completion tokens", "seconds")
        for role, s in sorted(usage.by_role.items()):
            by_role.add_row(
                role, str(s.calls), str(s.prompt_tokens), str(s.completion_tokens), f"{s.seconds:.1f}"
            )
        console.print(table)
        console.print(by_role)
    else:
        print("; ".join(f"{k}: {v}" for k, v in rows), file=sys.stderr, flush=True)


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command(no_args_is_help=True)
def agentwrite(
    instruction: Annotated[
        str,
        typer.Argument(help="What to write; @FILE reads it from a file, - from stdin.", show_default=False),
    ],
    words: Annotated[
        int | None,
        typer.Option("--words", "-w", min=1, help="Target length (default: as the instruction says)."),
    ] = None,
    model: Annotated[
        str, typer.Option("--model", "-m", help="Model spec (see `longweave models`).")
    ] = "local",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the text here, updated as sections finish.")
    ] = None,
    checkpoint: Annotated[
        Path | None, typer.Option(help="SQLite file to checkpoint to; the same command again resumes.")
    ] = None,
    plan: Annotated[
        Path | None, typer.Option(help="Your own outline (JSON or Markdown); skips planning.")
    ] = None,
    method: Annotated[str, typer.Option(help="agentwrite or cogwriter.")] = "agentwrite",
    context: Annotated[
        str, typer.Option(help="bounded (summary + tail) or full (all previous text).")
    ] = "bounded",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan only; write nothing.")] = False,
    temperature: Annotated[float, typer.Option(min=0.0, max=2.0, help="Sampling temperature.")] = 0.7,
    concurrency: Annotated[
        int | None, typer.Option(min=1, help="Model calls in flight (for methods that write in parallel).")
    ] = None,
) -> None:
    """Write a long piece (10,000+ words) from one instruction: plan sections, then write them."""
    text = read_instruction(instruction)
    if context not in ("bounded", "full"):
        raise ConfigError(f"--context must be 'bounded' or 'full', not {context!r}.")
    if output is not None and (output.is_dir() or not output.parent.exists()):
        raise InputError(f"cannot write the output to {output}: give a file in an existing folder.")
    if checkpoint is not None and (checkpoint.is_dir() or not checkpoint.parent.exists()):
        raise InputError(
            f"the checkpoint path {checkpoint} is a folder or in a missing folder; "
            "give a file such as run.db."
        )
    user_sections = read_plan_file(plan, words) if plan is not None else None
    rich = console.is_terminal
    if dry_run and user_sections is not None:
        _print_plan(user_sections, "user", rich)
        return
    check_method(method)  # before loading a model
    from longweave.llm import load_llm

    options = {"max_concurrency": concurrency} if concurrency else {}
    llm = load_llm(model, **options)
    try:
        pipeline = build_pipeline(
            method,
            llm,
            checkpoint=checkpoint,
            temperature=temperature,
            concurrency=concurrency,
            context=context,
        )
        if dry_run:
            outcome = run_sync(pipeline.aplan(text, words))
            _print_plan([s.to_dict() for s in outcome.sections], outcome.source, rich)
            return
        display = _Display(output, words, rich)
        try:
            result = pipeline.run(text, words, user_sections, on_event=display)
        finally:
            display.close()
    finally:
        llm.close()
    deliver(result, output, rich)


def _print_plan(sections: list[dict], source: str, rich: bool) -> None:
    if rich:
        show_plan(sections, source)
    else:
        total = sum(s["words"] for s in sections)
        print(f"plan ({source}): {len(sections)} sections, {total} words", file=sys.stderr)
    print(json.dumps(sections, ensure_ascii=False, indent=2))


def register(app_: typer.Typer) -> None:
    """Add ``longweave write`` (the same command) to the `longweave` app."""
    app_.command("write", no_args_is_help=True)(agentwrite)


def main() -> None:
    sys.exit(run_app(app, prog_name="agentwrite"))


if __name__ == "__main__":
    main()
