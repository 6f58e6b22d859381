"""Checkpoints in Postgres: the text store and ledger there, and two processes working one batch."""

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from longweave.pipelines.checkpoint import open_checkpoint
from longweave.pipelines.checkpoint_postgres import _SETUP_LOCK
from longweave.testing import FakeOpenAIServer, scripted_responder
from tests.pipelines.postgres_server import postgres_server, postgres_url  # noqa: F401 - fixtures

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
from rule_models import rule_writer  # noqa: E402

SECTIONS = "\n- Rivers: where they start\n- Towns: who lives there"

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from longweave import AgentWrite, load_llm
    from longweave.pipelines.batch import run_many

    url, inputs, output, checkpoint = sys.argv[1:5]
    result = run_many(AgentWrite(load_llm(f"openai:fake@{url}")), inputs, output=output,
                      checkpoint=checkpoint, concurrency=4, lease_seconds=5)
    print(json.dumps({"ran": result.ran, "done": result.done}))
    """
)


async def test_the_text_store_and_graph_state_live_in_postgres(postgres_url):  # noqa: F811
    async with open_checkpoint(postgres_url) as cp:
        assert cp.store.claim("r", {"instruction": "x"}) is True
        cp.store.put("r", "section/1", "b")
        cp.store.put("r", "section/0", "a")
        assert cp.store.lease("batch", "i", 0, "w1", 60) == ("taken", "w1")
        assert cp.store.lease("batch", "i", 0, "w2", 60) == ("running", "w1")
        assert cp.store.finish("batch", "i", "w1", "done", {"id": "i"})
        assert "***" not in str(cp) or "@" in str(cp)
    async with open_checkpoint(postgres_url) as cp:  # another connection sees it all
        assert cp.store.claim("r", {"instruction": "x"}) is False
        assert cp.store.keys("r", "section/") == ["section/1", "section/0"]
        assert list(cp.store.records("batch")) == [{"id": "i"}]
        assert cp.store.lease("batch", "i", 0, "w2", 60)[0] == "done"


def test_a_worker_waiting_to_set_up_the_tables_does_not_stall_another_workers_index_build(postgres_url):  # noqa: F811
    # The CI hang of stop 22: a worker blocked in pg_advisory_lock is an open transaction, and
    # the worker holding the lock runs LangGraph's CREATE INDEX CONCURRENTLY, which waits for it.
    import psycopg

    opened = threading.Event()

    def open_and_close():
        async def go():
            async with open_checkpoint(postgres_url):
                opened.set()

        asyncio.run(go())

    with psycopg.connect(postgres_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (_SETUP_LOCK,))
        waiter = threading.Thread(target=open_and_close, daemon=True)
        waiter.start()
        others = (
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        for _ in range(600):  # until the waiter has connected and asked for the lock
            if holder.execute(others).fetchone()[0]:
                break
            time.sleep(0.05)
        time.sleep(0.5)
        holder.execute("CREATE TABLE t (x int)")
        holder.execute("SET statement_timeout = '10s'")
        holder.execute("CREATE INDEX CONCURRENTLY t_x ON t (x)")  # raises QueryCanceled if it waits
        assert not opened.is_set()  # the waiter is still waiting for the set-up lock
        holder.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK,))
        waiter.join(timeout=60)
    assert opened.is_set()


@pytest.mark.slow
def test_two_processes_on_one_postgres_checkpoint_never_run_an_item_twice(tmp_path, postgres_url):  # noqa: F811
    inputs = tmp_path / "in.jsonl"
    inputs.write_text("".join(
        json.dumps({"id": f"p{k}", "instruction": f"Write a 400-word note number {k}.{SECTIONS}"}) + "\n"
        for k in range(16)
    ))  # fmt: skip
    script = tmp_path / "worker.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with FakeOpenAIServer(scripted_responder(rule_writer()), latency=0.03) as server:
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    str(script),
                    server.url,
                    str(inputs),
                    str(tmp_path / f"out{i}.jsonl"),
                    postgres_url,
                ],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            for i in range(2)
        ]
        outs = [p.communicate(timeout=180) for p in procs]
        plans = Counter(
            next(line for line in m["content"].split("\n") if "note number" in line)
            for r in server.requests for m in r["messages"] if "Break down" in m["content"]
        )  # fmt: skip
    for p, (_, stderr) in zip(procs, outs, strict=True):
        assert p.returncode == 0, stderr
    ran = [json.loads(stdout)["ran"] for stdout, _ in outs]
    assert sum(ran) == 16 and all(r > 0 for r in ran)  # both worked, and no item ran in both
    assert len(plans) == 16 and set(plans.values()) == {1}  # every item planned exactly once
    for i in range(2):  # each output holds every record it saw finished, each once
        ids = [json.loads(line)["id"] for line in (tmp_path / f"out{i}.jsonl").read_text().splitlines()]
        assert len(ids) == len(set(ids))
    last = max((tmp_path / f"out{i}.jsonl" for i in range(2)), key=lambda p: len(p.read_text()))
    assert [json.loads(line)["id"] for line in last.read_text().splitlines()] == [f"p{k}" for k in range(16)]
