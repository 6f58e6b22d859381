"""run_many(processes=N): local processes share one SQLite checkpoint; no item runs twice."""

import os
import re

import pytest

from longweave import AgentWrite
from longweave.errors import InputError
from longweave.pipelines.batch import run_many
from tests.pipelines.scripted_writers import exact_llm
from tests.pipelines.test_batch import items, plan_for, read


def logged_writer(log):
    """The batch tests' writer, which also notes each plan call's item and process in `log`
    (a file: the helpers' own model copies live in their own processes)."""

    def plan(m, messages):
        topic = re.search(r"about (topic\d+)", m["instruction"])[1]
        with open(log, "a") as f:
            f.write(f"{topic} {os.getpid()}\n")
        return plan_for(m, messages)

    return exact_llm(first=[(r"Break down.*?Writing instruction:\n(?P<instruction>.*?)\n\nAnswer", plan)])


def test_two_processes_plan_each_item_once_and_write_one_output_in_input_order(tmp_path):
    log, out = tmp_path / "plans.log", tmp_path / "out.jsonl"
    events = []
    result = run_many(AgentWrite(logged_writer(log)), items(12), output=out, checkpoint=tmp_path / "cp.db",
                      concurrency=4, processes=2, on_event=events.append)  # fmt: skip
    planned = [line.split() for line in log.read_text().splitlines()]
    assert sorted(t for t, _ in planned) == sorted(f"topic{k}" for k in range(12))  # each exactly once
    assert len({pid for _, pid in planned}) == 2  # both processes took items
    records = read(out)
    assert [r["id"] for r in records] == [f"i{k}" for k in range(12)]
    assert all(r["error"] is None and r["words"] == 900 for r in records)
    assert (result.done, result.failed, result.ran) == (12, 0, 12)
    assert result.words == 12 * 900 and result.usage.calls == sum(r["usage"]["calls"] for r in records)
    finished = [e for e in events if e.kind == "step_done"]
    assert sorted(e.title for e in finished) == sorted(f"i{k}" for k in range(12))  # the helper's too


def test_processes_need_a_checkpoint_every_process_can_open(tmp_path):
    with pytest.raises(InputError, match="needs a checkpoint"):
        run_many(AgentWrite(logged_writer(tmp_path / "log")), items(2), processes=2)
    with pytest.raises(InputError, match="at least 1"):
        run_many(
            AgentWrite(logged_writer(tmp_path / "log")), items(2), checkpoint=tmp_path / "cp.db", processes=0
        )
