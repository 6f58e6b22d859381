"""The agentwrite command: exit 2 with one clear line on bad input, and real runs on a scripted model."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from longweave.cli import agentwrite as cli
from longweave.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def run(*args, stdin=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "longweave.cli.agentwrite", *args],
        capture_output=True,
        text=True,
        input=stdin,
        cwd=cwd or ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )


def one_line_error(res, *fragments):
    assert res.returncode == 2, (res.returncode, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    assert "Traceback" not in res.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    "args, stdin, fragments",
    [
        (["   "], None, ["instruction", "empty"]),
        (["-"], "", ["stdin", "empty"]),
        (["@/no/such/brief.txt"], None, ["cannot read the instruction file"]),
        (["Write.", "--words", "0"], None, ["--words"]),
        (["Write.", "--words", "many"], None, ["--words"]),
        (["Write.", "--model", "nonsense:thing"], None, ["unknown model spec"]),
        (["Write.", "--method", "magic"], None, ["unknown method 'magic'"]),
        (["Write.", "--context", "everything"], None, ["--context"]),
        (["Write.", "--plan", "/no/such/plan.md"], None, ["cannot read the plan file"]),
        (["Write.", "-o", "/no/such/dir/out.md"], None, ["cannot write the output"]),
        (["Write.", "--temperature", "-1"], None, ["--temperature"]),
        (["Write.", "--checkpoint", "/tmp"], None, ["checkpoint path", "is a folder"]),
    ],
)
def test_bad_input_is_one_line_and_status_2(args, stdin, fragments):
    one_line_error(run(*args, stdin=stdin), *fragments)


def test_bad_plan_files_are_one_line_and_status_2(tmp_path):
    bad_json = tmp_path / "plan.json"
    bad_json.write_text('[{"title": "A", "words": 10},')
    one_line_error(run("Write.", "--plan", str(bad_json)), "not valid JSON")
    prose = tmp_path / "plan.md"
    prose.write_text("just some prose\nwith nothing that looks like sections")
    one_line_error(run("Write.", "--plan", str(prose)), "plan file could not be read")
    no_words = tmp_path / "p.json"
    no_words.write_text('[{"title": "A"}]')
    one_line_error(run("Write.", "--plan", str(no_words)), "word counts")


def test_no_arguments_shows_help():
    res = run()
    assert res.returncode == 0 and "Usage: agentwrite" in res.stdout and "--words" in res.stdout


def test_dry_run_with_a_markdown_plan_prints_it_as_json_without_a_model(tmp_path):
    plan = tmp_path / "outline.md"
    plan.write_text("## Dawn\nThe light comes. (300 words)\n\n## Dusk\nIt goes. (200 words)\n")
    res = run("Write about a day.", "--plan", str(plan), "--dry-run", "--model", "nonsense:x")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == [
        {"title": "Dawn", "point": "The light comes.", "words": 300},
        {"title": "Dusk", "point": "It goes.", "words": 200},
    ]
    assert "plan (user): 2 sections, 500 words" in res.stderr


def test_build_pipeline_is_the_seam_for_methods():
    from longweave.llm import ScriptedLLM
    from longweave.pipelines.agentwrite import AgentWrite

    pipe = cli.build_pipeline("agentwrite", ScriptedLLM(default="x"), checkpoint=None, temperature=0.3,
                              concurrency=4, context="full")  # fmt: skip
    assert isinstance(pipe, AgentWrite) and pipe.context == "full" and pipe.writer.temperature == 0.3
    from longweave.pipelines.cogwriter import CogWriter

    cog = cli.build_pipeline("cogwriter", ScriptedLLM(default="x"), checkpoint=None, temperature=0.3,
                             concurrency=4, context="bounded")  # fmt: skip
    assert isinstance(cog, CogWriter) and cog.concurrency == 4 and cog.writer.temperature == 0.3
    with pytest.raises(ConfigError, match="unknown method"):
        cli.build_pipeline("magic", ScriptedLLM(default="x"))


# A scripted model the subprocess loads: the CLI takes a model spec, so the test registers one.
SITE = """
import longweave.llm.registry as registry
from tests.pipelines.scripted_writers import exact_llm, plan_lines

_load = registry.load_llm
def load_llm(spec, **options):
    if spec == "scripted-writer":
        return exact_llm(plan_lines(4, 250), **options)
    return _load(spec, **options)
registry.load_llm = load_llm
import longweave.llm
longweave.llm.load_llm = load_llm
"""


def run_scripted(tmp_path, *args, stdin=None):
    (tmp_path / "sitecustomize.py").write_text(SITE)
    return subprocess.run(
        [sys.executable, "-m", "longweave.cli.agentwrite", *args, "--model", "scripted-writer"],
        capture_output=True,
        text=True,
        input=stdin,
        cwd=ROOT,
        env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"},
        timeout=60,
    )


@pytest.mark.slow
def test_a_run_writes_the_output_and_plain_progress_and_resumes(tmp_path):
    out, cp = tmp_path / "piece.md", tmp_path / "run.db"
    res = run_scripted(
        tmp_path, "Write a 2000-word essay on harbors.", "-o", str(out), "--checkpoint", str(cp)
    )
    assert res.returncode == 0, res.stderr
    text = out.read_text()
    assert [line for line in text.splitlines() if line.startswith("## ")] == [
        f"## Topic{i}" for i in range(1, 5)
    ]
    assert "plan (model): 4 sections, 2000 words" in res.stderr
    assert res.stderr.count("section ") >= 8 and "tokens/s" in res.stderr
    assert "words: " in res.stderr and "S_l" in res.stderr and "calls:" in res.stderr
    assert res.stdout == ""  # the text went to the file

    again = run_scripted(
        tmp_path, "Write a 2000-word essay on harbors.", "-o", str(out), "--checkpoint", str(cp)
    )
    assert again.returncode == 0 and "resumed: yes" in again.stderr and out.read_text() == text

    other = run_scripted(tmp_path, "Write a 2000-word essay on ferries.", "--checkpoint", str(cp))
    one_line_error(other, "different instruction", "another checkpoint path")


@pytest.mark.slow
def test_instruction_from_stdin_and_file_text_to_stdout(tmp_path):
    res = run_scripted(tmp_path, "-", stdin="Write a 2000-word essay on tides.\n")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("## Topic1\n\nTopic1 says 0 ")
    brief = tmp_path / "brief.txt"
    brief.write_text("Write a 2000-word essay on tides.")
    res = run_scripted(tmp_path, f"@{brief}", "--dry-run")
    assert res.returncode == 0 and [s["title"] for s in json.loads(res.stdout)] == [
        f"Topic{i}" for i in range(1, 5)
    ]


def test_longweave_write_is_the_same_command():
    res = subprocess.run(
        [sys.executable, "-m", "longweave.cli.main", "write", "  "],
        capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    one_line_error(res, "instruction", "empty")


def test_terminal_display_shows_the_plan_table_progress_and_summary(tmp_path, monkeypatch):
    import io

    from rich.console import Console

    from longweave.events import PlanReady, StepDone, StepStarted
    from longweave.llm import Trace, Usage
    from longweave.pipelines.agentwrite import WriteResult

    buf = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=buf, force_terminal=True, width=120))
    out = tmp_path / "o.md"
    display = cli._Display(out, None, rich=True)
    plan = [
        {"title": "Dawn", "point": "light", "words": 300},
        {"title": "Dusk", "point": "dark", "words": 200},
    ]
    display(PlanReady(plan, "model"))
    display(PlanReady(plan, "model"))  # repeated on resume: shown once
    display(StepStarted(0, "Dawn", words=299))
    display(StepDone(0, "Dawn", words=301, budget=299, calls=2, completion_tokens=400, seconds=10.0,
                     text="## Dawn\n\nfirst"))  # fmt: skip
    assert out.read_text() == "## Dawn\n\nfirst\n"  # written as soon as the section is done
    display.close()
    usage = Usage()
    cli.summarize(WriteResult(Trace(), usage, 12.5, text="x", words=510, target_words=500), rich=True)
    shown = buf.getvalue()
    assert shown.count("Plan (model)") == 1 and "Dawn" in shown and "total" in shown
    assert "section 1 done: 301 words (budget 299), 2 call(s), 40.0 tokens/s" in shown
    assert "Summary" in shown and "510 (target 500, S_l 99.3)" in shown


def test_plan_files_in_json_shapes_and_a_target_that_rescales_them(tmp_path):
    listed = tmp_path / "a.json"
    listed.write_text('[{"title": "A", "words": 100}, {"title": "B", "words": 300}]')
    wrapped = tmp_path / "b.json"
    wrapped.write_text('{"sections": [{"title": "A", "words": 100}, {"title": "B", "words": 300}]}')
    assert cli.read_plan_file(listed, None) == cli.read_plan_file(wrapped, None)
    assert [s["words"] for s in cli.read_plan_file(listed, 800)] == [200, 600]
