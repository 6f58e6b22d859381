"""`longweave batch` as a user runs it: one-line errors, SIGKILL then rerun, a server killed mid-batch."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
RULES = f"{ROOT}/examples/rule_models.py:rule_writer"
SECTIONS = "\n- Rivers: where they start\n- Towns: who lives there\n- Bridges: how they cross\n- Sea: the end"


def cli(*args, timeout=120, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "longweave.cli.main", "batch", *args], capture_output=True,
                          text=True, env=ENV, cwd=cwd, timeout=timeout)  # fmt: skip


def write_inputs(path: Path, n: int) -> None:
    lines = [json.dumps({"id": f"p{k}", "instruction": f"Write a 400-word guide number {k}.{SECTIONS}"})
             for k in range(n)]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class Servers:
    """Scripted OpenAI-compatible servers in a child process (so killing it drops their connections)."""

    def __init__(self, count: int, latency: float) -> None:
        cmd = [sys.executable, "-m", "longweave.testing", "--count", str(count), "--latency", str(latency),
               "--model", RULES]  # fmt: skip
        self.proc = subprocess.Popen(cmd, env=ENV, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        self.urls = [self.proc.stdout.readline().strip() for _ in range(count)]
        assert all(u.startswith("http://") for u in self.urls), self.urls

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


@pytest.fixture
def servers():
    made: list[Servers] = []

    def make(count=1, latency=0.02) -> Servers:
        made.append(Servers(count, latency))
        return made[-1]

    yield make
    for s in made:
        if s.proc.poll() is None:
            s.kill()


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["missing.jsonl", "-o", "out.jsonl"], "is not a file"),
        (["IN", "-o", "nowhere/out.jsonl"], "existing folder"),
        (["IN", "-o", "IN"], "overwrite the input"),
        (["IN", "-o", "out.jsonl", "--method", "poem"], "unknown --method"),
        (["IN", "-o", "out.jsonl", "--method", "ask", "--read", "x"], "unknown --read"),
        (["IN", "-o", "out.jsonl", "--model", "nope:x"], "unknown model spec"),
        (["BAD", "-o", "out.jsonl"], "line 2"),
        (["DUP", "-o", "out.jsonl"], "used by inputs 1 and 2"),
        (["IN", "-o", "out.jsonl", "--checkpoint", "nowhere/cp.db"], "missing folder"),
    ],
)
def test_user_mistakes_print_one_line_and_exit_2(tmp_path, args, fragment):
    (tmp_path / "in.jsonl").write_text('{"id": 1, "instruction": "Write a poem."}\n')
    (tmp_path / "bad.jsonl").write_text('{"id": 1, "instruction": "x"}\n{oops\n')
    (tmp_path / "dup.jsonl").write_text('{"id": 1, "instruction": "x"}\n{"id": "1", "instruction": "y"}\n')
    names = {"IN": "in.jsonl", "BAD": "bad.jsonl", "DUP": "dup.jsonl"}
    res = cli(*[str(tmp_path / names[a]) if a in names else a for a in args], cwd=tmp_path)
    assert res.returncode == 2, (res.returncode, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and fragment in lines[0], res.stderr


def test_dry_run_counts_what_would_run_and_names_inputs_that_would_fail(tmp_path):
    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"id": "a", "instruction": "Write."}\n{"id": "b", "words": 300}\n')
    res = cli(str(inputs), "-o", str(tmp_path / "out.jsonl"), "--dry-run")
    assert res.returncode == 0, res.stderr
    assert "2 input(s) for agentwrite" in res.stdout and "2 to run" in res.stdout
    assert "1 input(s) lack 'instruction' and would fail: b" in res.stdout
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.slow
def test_sigkill_mid_batch_then_the_same_command_gives_every_input_once(tmp_path, servers):
    server = servers(count=1, latency=0.03)
    inputs, out, cp = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "cp.db"
    write_inputs(inputs, 24)
    args = [str(inputs), "-o", str(out), "--checkpoint", str(cp), "--concurrency", "4",
            "--model", f"openai:fake@{server.urls[0]}"]  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "longweave.cli.main", "batch", *args], env=ENV, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 60
    while (not out.exists() or len(records(out)) < 6) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, proc.stderr.read().decode()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished_before = {r["id"]: r for r in records(out)}
    assert 6 <= len(finished_before) < 24

    res = cli(*args)
    assert res.returncode == 0, res.stderr
    final = records(out)
    assert [r["id"] for r in final] == [f"p{k}" for k in range(24)]  # each input exactly once, in order
    assert all(r["error"] is None and r["words"] > 0 for r in final)
    for r in final:  # the finished ones were not redone: same record, byte for byte
        if r["id"] in finished_before:
            assert r == finished_before[r["id"]]
    assert f"{24 - len(finished_before)} to run" in res.stderr or "to run" in res.stderr


@pytest.mark.slow
def test_one_of_three_servers_killed_mid_batch_the_batch_completes_on_the_others(tmp_path, servers):
    pool = [servers(count=1, latency=0.03) for _ in range(3)]
    inputs, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_inputs(inputs, 30)
    spec = "openai:fake@" + ",".join(s.urls[0] for s in pool)
    proc = subprocess.Popen(
        [sys.executable, "-m", "longweave.cli.main", "batch", str(inputs), "-o", str(out),
         "--concurrency", "9", "--model-concurrency", "3", "--model", spec],
        env=ENV, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while (not out.exists() or len(records(out)) < 5) and time.monotonic() < deadline:
        time.sleep(0.02)
    pool[1].kill()  # mid-batch: its in-flight requests die with it
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    final = records(out)
    assert Counter(r["id"] for r in final) == Counter(f"p{k}" for k in range(30))  # nothing lost or doubled
    assert all(r["error"] is None for r in final)
    dead = pool[1].urls[0]
    line = next(x for x in stderr.splitlines() if x.startswith(f"endpoint {dead}:"))
    assert "failures" in line and not line.endswith(" 0 failures")
    live_calls = [int(x.split(": ")[1].split()[0]) for x in stderr.splitlines()
                  if x.startswith("endpoint ") and not x.startswith(f"endpoint {dead}:")]  # fmt: skip
    assert all(c > 0 for c in live_calls) and len(live_calls) == 2


def test_os_kill_helper_sees_this_process_alive():
    from longweave.pipelines.batch_worker import _dead

    assert not _dead(f"{os.uname().nodename}:{os.getpid()}:x")
    assert not _dead("otherhost:1:x")
