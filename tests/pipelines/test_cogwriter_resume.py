"""A CogWriter run killed with SIGKILL resumes from its checkpoint: no draft written twice."""

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
    from longweave.pipelines.cogwriter import CogWriter
    from tests.pipelines.cog_writers import cog_llm

    llm = cog_llm(violate=1, latency=0.1)
    result = CogWriter(llm, concurrency=2, checkpoint=sys.argv[1]).run(
        "A diary of 10 weeks, 30 words each. In week 3, mention the garden. "
        "From week 5 to 7, it snows. Every 2nd week, mention the piano."
    )
    print(json.dumps({
        "text": result.text, "sections": result.sections, "resumed": result.resumed,
        "reviews": result.reviews,
        "first_drafts": sum('Write unit' in p for p in llm.prompts),
        "planner_calls": sum("single | UNIT" in p for p in llm.prompts),
    }))
    """
)


def count(db: Path, pattern: str) -> int:
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            return conn.execute("SELECT count(*) FROM lw_texts WHERE key LIKE ?", (pattern,)).fetchone()[0]
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
        while count(db, "unit/%") < threshold and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, proc.stderr.read().decode()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        assert threshold <= count(db, "unit/%") < 10
    drafts = count(db, "draft/%/0")

    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["resumed"] and out["planner_calls"] == 0
    assert out["first_drafts"] == 10 - drafts  # a stored draft is never written again
    assert len(out["sections"]) == 10
    for k, body in enumerate(out["sections"], 1):
        assert body.startswith(f"Week {k}. ") and body.count(f"Week {k}. ") == 1
    headings = [line[3:] for line in out["text"].splitlines() if line.startswith("## ")]
    assert headings == [f"Week {k}" for k in range(1, 11)]
    assert all(r["passed"] for r in out["reviews"])
    assert "garden" in out["sections"][2] and all("snow" in out["sections"][k] for k in (4, 5, 6))
    with sqlite3.connect(db) as conn:  # the graph state holds numbers, never the text
        largest = conn.execute("SELECT max(length(checkpoint)) FROM checkpoints").fetchone()[0]
        writes = b"".join(bytes(r[0] or b"") for r in conn.execute("SELECT value FROM writes"))
    assert largest < 1500 and b"Hour 3 passed" not in writes
