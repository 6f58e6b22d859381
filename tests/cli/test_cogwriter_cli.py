"""`agentwrite --method cogwriter`: a real run on a rule-based model, resume, dry run, bad input."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SITE = """
import longweave.llm.registry as registry
from tests.pipelines.cog_writers import cog_llm

_load = registry.load_llm
def load_llm(spec, **options):
    if spec == "scripted-cog":
        return cog_llm(violate=1, **options)
    return _load(spec, **options)
registry.load_llm = load_llm
import longweave.llm
longweave.llm.load_llm = load_llm
"""
BRIEF = "A diary of 6 weeks, 30 words each. In week 2, mention the garden. Every 3rd week, it snows."


def run(tmp_path, *args):
    (tmp_path / "sitecustomize.py").write_text(SITE)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "longweave.cli.agentwrite",
            *args,
            "--method",
            "cogwriter",
            "--model",
            "scripted-cog",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"},
        timeout=60,
    )


@pytest.mark.slow
def test_cogwriter_method_writes_checks_and_resumes(tmp_path):
    out, cp = tmp_path / "diary.md", tmp_path / "run.db"
    res = run(tmp_path, BRIEF, "--concurrency", "3", "-o", str(out), "--checkpoint", str(cp))
    assert res.returncode == 0, res.stderr
    text = out.read_text()
    assert [line for line in text.splitlines() if line.startswith("## ")] == [
        f"## Week {k}" for k in range(1, 7)
    ]
    assert "There was garden." in text.split("## Week 2")[1].split("## Week 3")[0]
    assert "There was snows." in text.split("## Week 6")[1]  # fixed by a revision (first drafts omit it)
    assert (
        "plan (rules): 6 sections, 180 words" in res.stderr and "calls: 10" in res.stderr
    )  # 1 plan + 6 drafts + 3 revisions
    again = run(tmp_path, BRIEF, "-o", str(out), "--checkpoint", str(cp))
    assert again.returncode == 0 and "resumed: yes" in again.stderr and out.read_text() == text


def test_cogwriter_dry_run_shows_units_with_their_constraints(tmp_path):
    res = run(tmp_path, BRIEF, "--dry-run")
    assert res.returncode == 0, res.stderr
    units = json.loads(res.stdout)
    assert [u["point"] for u in units] == ["", "mention the garden", "it snows", "", "", "it snows"]


def test_cogwriter_bad_plan_is_one_line_and_status_2(tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_text(
        json.dumps([{"title": "A", "words": 50, "depends_on": ["B"]}, {"title": "B", "depends_on": ["A"]}])
    )
    res = run(tmp_path, "Write two parts.", "--plan", str(plan))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines() == [res.stderr.strip()] and "cycle" in res.stderr
