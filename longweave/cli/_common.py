"""What every command shares: one-line errors with exit status 2, ``--verbose``, and the console.

A user's mistake (bad option, missing file, bad spec, impossible budget) prints exactly one
line on stderr and exits with status 2, never a traceback. A failing model or server exits
with status 1, also in one line. Ctrl-C exits 130 after whatever was written is kept. A native
crash in an engine (llama.cpp) cannot be caught; `faulthandler` then at least names where it
happened instead of a bare "Segmentation fault" (the README's troubleshooting says what to do).

Every command takes ``-v`` / ``--verbose``: ``-v`` logs what runs (model loads, retries,
plans, sections and resumes, batch items) at info level to stderr, ``-vv`` adds every
model call and step at debug level. Without it the library's loggers stay silent.
"""

from __future__ import annotations

import faulthandler
import logging
import sys
from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console

from longweave.errors import BackendError, BudgetError, ConfigError, InputError, LongweaveError

USER_ERRORS = (ConfigError, InputError, BudgetError)

console = Console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print `message` as one line on stderr and return the Exit to raise."""
    line = " ".join(str(message).split())
    print(f"error: {line}", file=sys.stderr)
    return typer.Exit(code)


class _Stderr(logging.Handler):
    """Writes log lines to the current ``sys.stderr`` (which rich's live display redirects)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(self.format(record), file=sys.stderr, flush=True)
        except Exception:  # a closed stream must not end the run
            self.handleError(record)


_handler = _Stderr()
_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))


def log_to_stderr(verbosity: int) -> None:
    """Show longweave's log on stderr: 0 nothing (the default), 1 info, 2 or more debug."""
    root = logging.getLogger("longweave")
    root.removeHandler(_handler)
    root.setLevel(logging.NOTSET)
    if verbosity > 0:
        root.setLevel(logging.DEBUG if verbosity > 1 else logging.INFO)
        root.addHandler(_handler)


def _verbose(
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            expose_value=False,
            is_eager=True,
            callback=lambda value: log_to_stderr(value or 0),
            show_default=False,
            help="Log what runs to stderr: -v info, -vv debug (every model call).",
        ),
    ] = 0,
) -> None:
    """Carries the ``--verbose`` option `run_app` gives every command (typer builds it)."""


def _with_verbose(command, option=None) -> None:
    """Give every command of `command`'s tree the ``-v``/``--verbose`` option of `_verbose`."""
    if option is None:
        holder = typer.Typer(add_completion=False)
        holder.command()(_verbose)
        option = typer.main.get_command(holder).params[0]
    subcommands = getattr(command, "commands", None)
    if subcommands is not None:
        for sub in subcommands.values():
            _with_verbose(sub, option)
    elif not any(p.name == "verbose" for p in command.params):
        command.params.append(option)


def run_app(app: typer.Typer | Callable, args: list[str] | None = None, prog_name: str | None = None) -> int:
    """Run a typer app so that every error ends as one line and a status code.

    Returns the exit status (the caller passes it to `sys.exit`).
    """
    command = typer.main.get_command(app) if isinstance(app, typer.Typer) else app
    _with_verbose(command)
    try:
        return _run(command, args, prog_name)
    finally:
        log_to_stderr(0)


def _run(command, args: list[str] | None, prog_name: str | None) -> int:
    if not faulthandler.is_enabled():
        try:
            faulthandler.enable()
        except (AttributeError, OSError, ValueError):  # stderr replaced by an object without a fd
            pass
    try:
        # Without standalone mode click *returns* an Exit's code instead of raising it.
        status = command.main(args=args, prog_name=prog_name, standalone_mode=False)
        if isinstance(status, int):
            return status
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        print("error: aborted", file=sys.stderr)
        return 130
    except typer.TyperException as exc:  # usage errors: missing argument, bad option value
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            print(ctx.get_help())
            return 0
        print(f"error: {' '.join(exc.format_message().split())} (see --help)", file=sys.stderr)
        return 2
    except USER_ERRORS as exc:
        fail(str(exc))
        return 2
    except BackendError as exc:
        fail(str(exc), 1)
        return 1
    except LongweaveError as exc:
        fail(str(exc), 1)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; what was written so far is kept", file=sys.stderr)
        return 130
    return 0
