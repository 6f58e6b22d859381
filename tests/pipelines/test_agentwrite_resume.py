"""A run killed with SIGKILL mid-way resumes from its checkpoint: one complete text, no section twice."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from longweave.pipelines.agentwrite import AgentWrite
    from tests.pipelines.scripted_writers import exact_llm, plan_lines

    llm = exact_llm(plan_lines(10, 200), latency=0.04)
    result = AgentWrite(llm, checkpoint=sys.argv[1]).run("Write 2000 words about harbors.")
    print(json.dumps({
        "text": result.text, "sections": result.sections, "plan": result.plan,
        "resumed": result.resumed, "writer_first_calls": sum("Now write section" in p for p in llm.prompts),
        "planner_calls": sum("Break down" in p for p in llm.prompts),
    }))
    """
)


def sections_stored(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            return conn.execute("SELECT count(*) FROM lw_texts WHERE key LIKE 'section/%'").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_gives_one_complete_text(tmp_path):
    script, db = tmp_path / "write.py", tmp_path / "run.db"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, str(script), str(db)]
    for threshold in (2, 6):  # killed twice, at different places
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while sections_stored(db) < threshold and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, proc.stderr.read().decode()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        stored = sections_stored(db)
        assert threshold <= stored < 10

    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["resumed"] and out["planner_calls"] == 0
    assert out["writer_first_calls"] == 10 - stored  # only the missing sections were written

    titles = [s["title"] for s in out["plan"]]
    assert len(out["sections"]) == len(titles) == 10
    for title, body in zip(titles, out["sections"], strict=True):
        assert body.startswith(f"{title} says 0 ")  # each section is its own, written once
        assert body.count(f"{title} says 0 ") == 1
    headings = [line[3:] for line in out["text"].splitlines() if line.startswith("## ")]
    assert headings == titles
    assert len(set(out["sections"])) == 10
