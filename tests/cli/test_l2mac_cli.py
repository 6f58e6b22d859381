from __future__ import annotations

import json
import subprocess
import sys

import pytest

from longweave.cli import l2mac as cli
from longweave.cli._common import run_app
from longweave.cli.main import app
from longweave.llm import ScriptedLLM


def run(*args):
    return subprocess.run([sys.executable, "-m", "longweave.cli.main", *args], capture_output=True, text=True)


def one_line_error(res, needle):
    assert res.returncode == 2, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and needle in res.stderr
    assert "Traceback" not in res.stderr


def test_user_mistakes_are_one_line_with_status_2(tmp_path):
    one_line_error(run("code", "", "--workdir", str(tmp_path)), "task is empty")
    one_line_error(run("book", "a book", "--workdir", str(tmp_path), "--registry", str(tmp_path / "no.json")),
                   "cannot read the registry")  # fmt: skip
    (tmp_path / "bad.json").write_text("[1, 2")
    one_line_error(
        run("code", "x", "-w", str(tmp_path), "--registry", str(tmp_path / "bad.json")), "not a valid JSON"
    )
    one_line_error(run("code", "x", "-w", str(tmp_path / "w"), "--resume", "--model", "scripted"), "no run")


def agent(messages):
    if "planner" in messages[0]["content"]:
        return "1. Write hello.py\n2. Write test_hello.py"
    if "Instruction 1 of" in messages[1]["content"]:
        return (
            "ACTION: write_file\npath: hello.py\n```\nGREETING = 'hi'\n```\nACTION: complete\nsummary: hello"
        )
    return (
        "ACTION: write_file\npath: test_hello.py\n```\nfrom hello import GREETING\n\n\n"
        "def test_greeting():\n    assert GREETING == 'hi'\n```\nACTION: complete\nsummary: test"
    )


@pytest.fixture
def scripted(monkeypatch):
    llm = ScriptedLLM(agent)
    monkeypatch.setattr(cli, "load_llm", lambda spec: llm)
    return llm


def test_code_plans_shows_the_registry_and_runs(tmp_path, scripted, capsys):
    assert run_app(app, ["code", "Greet", "--workdir", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert out.split() == [str(tmp_path / "hello.py"), str(tmp_path / "test_hello.py")]
    assert "instruction registry" in err and "Write test_hello.py" in err
    assert "step [1] Write hello.py" in err and "done 2: ok" in err  # plain lines: not a TTY
    assert "tests: passed" in err


def test_plan_only_then_edited_registry(tmp_path, scripted, capsys):
    assert run_app(app, ["code", "Greet", "-w", str(tmp_path), "--plan-only"]) == 0
    saved = tmp_path / ".longweave" / "registry.json"
    assert json.loads(saved.read_text()) == ["Write hello.py", "Write test_hello.py"]
    assert not (tmp_path / "hello.py").exists()
    edited = tmp_path / "mine.txt"
    edited.write_text("Write hello.py\n")
    capsys.readouterr()
    assert run_app(app, ["code", "Greet", "-w", str(tmp_path / "out"), "--registry", str(edited)]) == 0
    out, err = capsys.readouterr()
    assert out.split() == [str(tmp_path / "out" / "hello.py")] and "tests: none run" in err
    assert sum("planner" in p for p in scripted.prompts) == 1


def test_a_run_that_wrote_nothing_is_not_reported_as_success(tmp_path, monkeypatch, capsys):
    def lazy(messages):  # plans, then claims every step done without writing a file
        if "planner" in messages[0]["content"]:
            return "1. Write hello.py\n2. Install it with pip\n3. Write test_hello.py"
        return "ACTION: complete\nsummary: done"

    monkeypatch.setattr(cli, "load_llm", lambda spec: ScriptedLLM(lazy))
    assert run_app(app, ["code", "Greet", "-w", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "left out (the sandbox cannot do it): Install it with pip" in err
    assert "done 1: FAILED (no file changed), files changed: none" in err
    assert "done 2: FAILED (no file changed)" in err and "failed steps: 1, 2" in err
    assert err.strip().splitlines()[-1].startswith("error: no file was written in")
