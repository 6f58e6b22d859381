"""`-v` / `-vv` on every command: longweave's log on stderr at info / debug; silent without."""

import subprocess
import sys

import pytest
import typer

from longweave.cli import agentwrite as agentwrite_cli
from longweave.cli import report as report_cli
from longweave.cli._common import run_app
from longweave.cli.main import app

# The real entry point, with load_llm answering every spec with a scripted model.
_LAUNCH = (
    "import sys, longweave.llm as L; from longweave.llm import ScriptedLLM; "
    "L.load_llm = lambda spec, **k: ScriptedLLM(default='the red door'); "
    "from longweave.cli.main import main; sys.argv = ['longweave', *sys.argv[1:]]; main()"
)


@pytest.fixture(scope="module")
def doc(tmp_path_factory):
    path = tmp_path_factory.mktemp("doc") / "door.txt"
    path.write_text("The jade key opens the red door. " * 5)
    return path


def ask(doc, *flags):
    res = subprocess.run(
        [sys.executable, "-c", _LAUNCH, "ask", str(doc), "Which door?", "--method", "full", *flags],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "the red door"
    return res.stderr


def test_without_verbose_the_log_is_silent(doc):
    err = ask(doc)
    assert " INFO longweave." not in err and " DEBUG longweave." not in err


def test_v_logs_info_and_vv_adds_every_model_call_at_debug(doc):
    info = ask(doc, "-v")
    assert " INFO longweave.pipelines.full_context: FullContext: " in info
    assert " DEBUG " not in info
    debug = ask(doc, "-vv")
    assert " INFO longweave.pipelines.full_context: " in debug
    assert " DEBUG longweave.llm.base: scripted call by reader: " in debug
    assert ask(doc, "--verbose", "--verbose").count(" DEBUG ") == debug.count(" DEBUG ")


def _leaves(command, path=()):
    subs = getattr(command, "commands", None)
    if subs is None:
        yield path
    else:
        for name, sub in subs.items():
            yield from _leaves(sub, (*path, name))


@pytest.mark.parametrize(
    "cli", [app, agentwrite_cli.app, report_cli.app], ids=["longweave", "agentwrite", "report"]
)
def test_every_command_takes_verbose(cli, capsys):
    for path in _leaves(typer.main.get_command(cli)):
        assert run_app(cli, [*path, "--help"]) == 0
        out = capsys.readouterr().out
        assert "--verbose" in out and "-v" in out, path
