import subprocess
import sys


def run(*args):
    return subprocess.run([sys.executable, "-m", "longweave.cli.main", *args], capture_output=True, text=True)


def test_unknown_subcommand_is_one_line_and_status_2():
    res = run("no-such-command")
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1 and "error:" in res.stderr
    assert "Traceback" not in res.stderr


def test_models_lists_the_spec_forms():
    res = run("models")
    assert res.returncode == 0 and "openai:MODEL@http" in res.stderr + res.stdout
