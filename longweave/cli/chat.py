"""`longweave chat` and `longweave memory add|search`: a terminal chat with lasting memory.

``longweave chat --memory DIR --model SPEC`` reads one message per line (a prompt is shown
when stdin is a terminal; piped input works too), answers each with `MemoryChat`, and keeps
every exchange in DIR, so the next session remembers. ``/exit`` or end of input stops it.

``longweave memory add FILE...`` feeds long documents into the same memory piece by piece
(SCM's ultra-long document use): each file is chunked and each chunk stored as one item, so a
later chat retrieves the relevant pieces. ``longweave memory search QUERY`` shows what would
be retrieved.

Deliberately not here: token streaming and line editing beyond what ``input()`` gives.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from longweave.errors import InputError
from longweave.llm import load_llm

memory_app = typer.Typer(help="Feed documents into a memory folder and search it.", no_args_is_help=True)

_Memory = Annotated[Path, typer.Option("--memory", "-m", help="The memory folder (created if needed).")]
_Embedder = Annotated[str | None, typer.Option("--embedder", help="hash | minilm | openai:MODEL[@URL].")]


def chat(
    memory: _Memory,
    model: Annotated[str, typer.Option("--model", help="Model spec (see `longweave models`).")] = "local",
    embedder: Annotated[
        str | None, typer.Option("--embedder", help="hash | minilm | openai:MODEL[@URL].")
    ] = None,
    mode: Annotated[
        str, typer.Option("--mode", help="always | ask (the model decides, SCM) | never.")
    ] = "always",
    top_k: Annotated[int, typer.Option("--top-k", help="Archived memories brought back at most.")] = 5,
    memory_budget: Annotated[int, typer.Option("--memory-budget", help="Memory tokens in prompts.")] = 1024,
    max_reply_tokens: Annotated[
        int, typer.Option("--max-reply-tokens", help="Longest reply (tokens).")
    ] = 512,
    show_memory: Annotated[bool, typer.Option("--show-memory", help="Show recalled turns.")] = False,
) -> None:
    """Chat in the terminal with a memory that lasts across sessions (SCM)."""
    from longweave.pipelines.memory_chat import MemoryChat

    llm = load_llm(model)
    interactive = sys.stdin.isatty()
    with MemoryChat(
        llm,
        path=memory,
        embedder=embedder,
        mode=mode,
        top_k=top_k,
        memory_budget=memory_budget,
        max_reply_tokens=max_reply_tokens,
    ) as session:
        if interactive:
            print(
                f"longweave chat: {len(session.stream)} memories in {memory}. /exit to leave.",
                file=sys.stderr,
            )
        while True:
            try:
                line = input("you> ") if interactive else sys.stdin.readline()
            except EOFError:
                break
            if not interactive and not line:
                break
            message = line.strip()
            if not message:
                continue
            if message in ("/exit", "/quit"):
                break
            result = session.run(message)
            if show_memory:
                turns = ", ".join(
                    f"{m['turn']}{'*' if m['as_summary'] else ''}{' (flash)' if m['flash'] else ''}"
                    for m in result.memories
                )
                print(f"[memory: {turns or 'none'}]", file=sys.stderr)
            print(result.reply if not interactive else f"assistant> {result.reply}", flush=True)


@memory_app.command("add")
def memory_add(
    files: Annotated[list[Path], typer.Argument(help="Text files to feed in, piece by piece.")],
    memory: _Memory,
    chunk_tokens: Annotated[int, typer.Option("--chunk-tokens", help="Tokens per stored piece.")] = 256,
    embedder: Annotated[
        str | None, typer.Option("--embedder", help="hash | minilm | openai:MODEL[@URL].")
    ] = None,
) -> None:
    """Store long documents in a memory folder, one item per chunk, in order."""
    from longweave.memory.stream import MemoryStream
    from longweave.text import iter_chunks

    for file in files:
        if not file.is_file():
            raise InputError(f"{file} is not a readable file; check the path.")
    with MemoryStream(memory, embedder=embedder) as stream:
        for file in files:
            pieces = tokens = 0
            try:
                with file.open(encoding="utf-8") as handle:
                    batch: list[str] = []
                    for part in iter_chunks(handle, chunk_tokens, stream.tokenizer):
                        if part.strip():
                            batch.append(str(part))
                            tokens += part.tokens
                        if len(batch) >= 256:
                            pieces += len(stream.add_many(batch, role="document", source=file.name))
                            batch = []
                    pieces += len(stream.add_many(batch, role="document", source=file.name))
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{file} is not UTF-8 text ({exc.reason}); convert it to text first."
                ) from exc
            print(f"added {pieces} pieces ({tokens} tokens) from {file}")
        print(f"{memory}: {len(stream)} memories")


@memory_app.command("search")
def memory_search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    memory: _Memory,
    k: Annotated[int, typer.Option("-k", help="How many results.")] = 5,
) -> None:
    """Show the memories most similar to QUERY, best first."""
    from longweave.memory.stream import MemoryStream

    if not (memory / "memory.db").exists():
        raise InputError(
            f"there is no memory in {memory}; create one with `longweave memory add` or `longweave chat`."
        )
    with MemoryStream(memory) as stream:
        for rank, (item, score) in enumerate(stream.search(query, k=k), 1):
            where = f"turn {item.turn}, {item.role}" + (f", {item.source}" if item.source else "")
            text = " ".join(item.content.split())
            print(f"{rank}. [{score:.3f}] ({where}) {text[:200]}{'...' if len(text) > 200 else ''}")


def register(app: typer.Typer) -> None:
    """Add `chat` and the `memory` sub-app to the `longweave` app."""
    app.command("chat")(chat)
    app.add_typer(memory_app, name="memory")
