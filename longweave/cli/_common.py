"""What every command shares: one-line errors with exit status 2, and the console.

A user's mistake (bad option, missing file, bad spec, impossible budget) prints exactly one
line on stderr and exits with status 2, never a traceback. A failing model or server exits
with status 1, also in one line. Ctrl-C exits 130 after whatever was written is kept. A native
crash in an engine (llama.cpp) cannot be caught; `faulthandler` then at least names where it
happened instead of a bare "Segmentation fault" (the README's troubleshooting says what to do).
"""

from __future__ import annotations

import faulthandler
import sys
from collections.abc import Callable

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


def run_app(app: typer.Typer | Callable, args: list[str] | None = None, prog_name: str | None = None) -> int:
    """Run a typer app so that every error ends as one line and a status code.

    Returns the exit status (the caller passes it to `sys.exit`).
    """
    command = typer.main.get_command(app) if isinstance(app, typer.Typer) else app
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
