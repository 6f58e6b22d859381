"""`longweave ask PATH... QUESTION` and `longweave summarize PATH...`.

Paths are files or folders; folders are walked as `longweave report` walks them (hidden files
skipped, files that are not text skipped and named). The answer goes to stdout; progress,
evidence and the usage table go to stderr, so ``longweave ask ... > answer.txt`` keeps only the
answer. On a terminal, a rich progress bar advances per chunk; otherwise (pipes, CI logs) plain
log lines are written instead. A single plain-text file larger than `_STREAM_BYTES` is streamed
through Chain of Agents, never held whole in memory. With ``--method rag|rtr`` passage vectors
come from the persistent index cache (``longweave.memory.index_cache``), so a second question
on the same files embeds nothing; ``--no-index-cache`` turns it off.

Deliberately not here: interactive chat over a document (``longweave chat``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from longweave.cli._common import console, fail
from longweave.events import Event
from longweave.events import Progress as ProgressEvent

METHODS = ("coa", "rag", "rtr", "full")
_STREAM_BYTES = 256 * 1024 * 1024
_TEXT_SUFFIXES = {"", ".txt", ".md", ".markdown", ".rst", ".log", ".csv", ".json", ".jsonl"}


class _Reporter:
    """Progress per chunk: a rich bar on a terminal, plain lines elsewhere."""

    def __init__(self, enabled: bool = True) -> None:
        self.tty = sys.stderr.isatty()
        self.enabled = enabled
        self._progress: Progress | None = None
        self._tasks: dict[str, int] = {}
        self._last_line = 0.0

    def __enter__(self) -> _Reporter:
        if self.tty and self.enabled:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            )
            self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()

    def log(self, message: str) -> None:
        if not self.enabled:
            return
        if self._progress is not None:
            self._progress.console.print(f"longweave: {message}")
        else:
            print(f"longweave: {message}", file=sys.stderr, flush=True)

    def __call__(self, event: Event) -> None:
        if not self.enabled or not isinstance(event, ProgressEvent):
            return
        stage, done, total = event.stage, event.done, event.total
        label = {
            "worker": "reading chunks",
            "index": "embedding passages",
            "cached": "passages from the index cache",
            "manager": "answering",
        }.get(stage, stage)
        if self._progress is not None:
            if stage not in self._tasks:
                self._tasks[stage] = self._progress.add_task(label, total=total)
            self._progress.update(self._tasks[stage], completed=done, total=total)
            return
        now = time.monotonic()
        if done == total or done == 1 or now - self._last_line >= 1.0:
            self._last_line = now
            shown = total if total is not None else "?"
            print(f"longweave: {label} {done}/{shown}", file=sys.stderr, flush=True)


def _usage_table(result) -> Table:
    table = Table("agent", "calls", "prompt tokens", "completion tokens", "seconds", title="model calls")
    for role, s in result.usage.by_role.items():
        table.add_row(role, str(s.calls), str(s.prompt_tokens), str(s.completion_tokens), f"{s.seconds:.2f}")
    t = result.usage.total
    table.add_row("total", str(t.calls), str(t.prompt_tokens), str(t.completion_tokens), f"{t.seconds:.2f}")
    return table


def _load(paths: list[Path], method: str, reporter: _Reporter):
    from longweave.pipelines._corpus import read_corpus
    from longweave.text.documents import open_text

    if not paths:
        raise fail("no files given; pass at least one file or folder to read.")
    if method == "coa" and len(paths) == 1 and paths[0].suffix.lower() in _TEXT_SUFFIXES:
        try:
            size = paths[0].stat().st_size if paths[0].is_file() else 0
        except OSError:
            size = 0
        if size > _STREAM_BYTES:
            reporter.log(f"streaming {paths[0]} ({size / 1e6:.0f} MB)")
            return open_text(paths[0])
    loaded = read_corpus(paths)
    corpus = loaded.corpus
    reporter.log(f"loaded {len(corpus.sources)} file(s), {len(corpus.text):,} characters")
    if loaded.skipped:
        shown = ", ".join(p for p, _ in loaded.skipped[:3]) + (", ..." if len(loaded.skipped) > 3 else "")
        reporter.log(f"skipped {len(loaded.skipped)} file(s) that are not text: {shown}")
    return corpus


def _pipeline(
    method: str, llm, *, embedder: str, top_k: int | None, chunk_tokens: int | None, index_cache: bool
):
    from longweave.pipelines import RAG, ChainOfAgents, FullContext, RetrieveThenReason

    if method == "coa":
        return ChainOfAgents(llm, chunk_tokens=chunk_tokens)
    if method in ("rag", "rtr") and embedder == "minilm":
        _quiet_transformers()
    retrieval = {"embedder": embedder, "chunk_tokens": chunk_tokens or 256, "index_cache": index_cache}
    if method == "rag":
        return RAG(llm, top_k=top_k or 5, **retrieval)
    if method == "rtr":
        return RetrieveThenReason(llm, top_k=top_k or 8, **retrieval)
    return FullContext(llm)


def _quiet_transformers() -> None:
    """transformers draws its own weight-loading bar on stderr; ours is the only progress shown."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # the MiniLM embedder will say what to install
        return
    hf_logging.disable_progress_bar()


def _report(result, quiet: bool) -> None:
    for ev in result.evidence:
        where = f"{ev.source}:" if ev.source else ""
        console.print(f"[green]evidence[/] {where}{ev.start}-{ev.end} ({ev.match}): {ev.text}")
    for d in result.dropped:
        console.print(f"[yellow]dropped quote[/] ({d.reason}): {d.quote}")
    if not quiet:
        console.print(_usage_table(result))
        console.print(f"{result.method}: {result.chunks} chunk(s), {result.seconds:.1f} s")


def register(app: typer.Typer) -> None:
    """Add `ask` and `summarize` to the `longweave` app."""

    @app.command()
    def ask(
        files: Annotated[
            list[Path],
            typer.Argument(metavar="PATH", help="Files or folders to read (text, Markdown, HTML, PDF)."),
        ],
        question: Annotated[str, typer.Argument(metavar="QUESTION", help="The question, quoted.")],
        method: Annotated[str, typer.Option("--method", "-m", help="coa | rag | rtr | full")] = "coa",
        model: Annotated[str, typer.Option("--model", help="Model spec (see `longweave models`).")] = "local",
        embedder: Annotated[
            str, typer.Option(help="For rag/rtr: minilm | hash | openai:MODEL[@URL]")
        ] = "minilm",
        top_k: Annotated[
            int | None, typer.Option("--top-k", help="Passages retrieved (rag 5, rtr 8).")
        ] = None,
        chunk_tokens: Annotated[
            int | None, typer.Option("--chunk-tokens", help="Tokens per chunk/passage.")
        ] = None,
        index_cache: Annotated[
            bool,
            typer.Option(
                "--index-cache/--no-index-cache",
                help="For rag/rtr: reuse passage vectors of unchanged files from the cache.",
            ),
        ] = True,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only print the answer.")] = False,
    ) -> None:
        """Answer QUESTION about PATH... (files or folders) with Chain of Agents, RAG, RTR or full context."""
        method = method.lower()
        if method not in METHODS:
            raise fail(f"unknown method {method!r}; use one of {', '.join(METHODS)}.")
        if not question.strip():
            raise fail("the question is empty; pass it as the last argument, quoted.")
        from longweave.llm import load_llm

        with _Reporter(not quiet) as reporter:
            document = _load(files, method, reporter)
            reporter.log(f"loading model {model}")
            llm = load_llm(model)
            options = {"top_k": top_k, "chunk_tokens": chunk_tokens, "index_cache": index_cache}
            pipeline = _pipeline(method, llm, embedder=embedder, **options)
            try:
                result = pipeline.run(document, question, on_event=reporter)
            finally:
                if hasattr(document, "close"):
                    document.close()
        print(result.answer)
        _report(result, quiet)

    @app.command()
    def summarize(
        files: Annotated[
            list[Path],
            typer.Argument(metavar="PATH", help="Files or folders to summarise (text, Markdown, HTML, PDF)."),
        ],
        model: Annotated[str, typer.Option("--model", help="Model spec (see `longweave models`).")] = "local",
        chunk_tokens: Annotated[int | None, typer.Option("--chunk-tokens", help="Tokens per chunk.")] = None,
        cu_tokens: Annotated[
            int | None, typer.Option("--notes-tokens", help="Running summary size (1024).")
        ] = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only print the summary.")] = False,
    ) -> None:
        """Summarise PATH... (files or folders) with a Chain of Agents (query-free, a longer summary)."""
        from longweave.llm import load_llm
        from longweave.pipelines import ChainOfAgents

        with _Reporter(not quiet) as reporter:
            document = _load(files, "coa", reporter)
            reporter.log(f"loading model {model}")
            pipeline = ChainOfAgents(load_llm(model), chunk_tokens=chunk_tokens, cu_tokens=cu_tokens)
            try:
                result = pipeline.run(document, None, on_event=reporter)
            finally:
                if hasattr(document, "close"):
                    document.close()
        print(result.answer)
        _report(result, quiet)


__all__ = ["METHODS", "register"]
