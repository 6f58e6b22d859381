"""The `longweave` command: one subcommand per capability.

Each capability adds its subcommands from its own module (``cli/ask.py``, ``cli/chat.py``...)
by calling ``register(app)``; this module only assembles them.
"""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from longweave.cli import chat as _chat
from longweave.cli._common import console, run_app

app = typer.Typer(
    name="longweave",
    help="Long-input reading and long-output writing with LLMs.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.command()
def models() -> None:
    """List the model spec forms --model accepts."""
    from longweave.llm import SPEC_FORMS

    table = Table("spec", "backend")
    for form in SPEC_FORMS:
        spec, _, what = form.partition(" (")
        table.add_row(spec, what.rstrip(")"))
    console.print(table)


@app.command()
def version() -> None:
    """Print the installed version."""
    from longweave import __version__

    print(__version__)


from longweave.cli import agentwrite as _agentwrite  # noqa: E402
from longweave.cli import ask as _ask  # noqa: E402
from longweave.cli import batch as _batch  # noqa: E402
from longweave.cli import l2mac as _l2mac  # noqa: E402
from longweave.cli import report as _report  # noqa: E402

_ask.register(app)
_chat.register(app)
_agentwrite.register(app)
_l2mac.register(app)
_report.register(app)
_batch.register(app)


def main() -> None:
    sys.exit(run_app(app, prog_name="longweave"))


if __name__ == "__main__":
    main()
