"""Every error of the tree ends a command as one line: status 2 for the user's own, 1 for the rest."""

import pytest
import typer

from longweave.cli._common import run_app
from longweave.errors import (
    BackendTimeout,
    BudgetError,
    CheckpointError,
    ConfigError,
    InputError,
    MalformedOutput,
    PathRefused,
    SectionFailed,
    ServerError,
)


@pytest.mark.parametrize(
    "error, status",
    [
        (ConfigError, 2),
        (InputError, 2),
        (PathRefused, 2),
        (BudgetError, 2),
        (MalformedOutput, 1),
        (SectionFailed, 1),
        (CheckpointError, 1),
        (ServerError, 1),
        (BackendTimeout, 1),
    ],
)
def test_each_error_is_one_line_with_its_status(error, status, capsys):
    app = typer.Typer()

    @app.command()
    def command() -> None:
        raise error("it went wrong; do this instead.")

    assert run_app(app, []) == status
    assert capsys.readouterr().err == "error: it went wrong; do this instead.\n"
