"""run_many: records per input, failures recorded and the batch goes on, reruns redo nothing."""

import json
import re

import pytest

from longweave import RAG, AgentWrite, ScriptedLLM
from longweave.errors import InputError
from longweave.pipelines.batch import run_many
from longweave.pipelines.batch_items import check_items
from longweave.pipelines.text_store import TextStore
from tests.pipelines.scripted_writers import exact_llm


def plan_for(m, _):
    """One plan per instruction, its titles carrying the item's name, so texts are the item's own."""
    name = re.search(r"about (\w+)", m["instruction"])[1]
    return "\n".join(f"{i}. {name}{i}: part {i} - Word Count: 300 words" for i in (1, 2, 3))


def writer(**kwargs) -> ScriptedLLM:
    first = [
        (r"Break down.*?Writing instruction:\n(?P<instruction>.*?)\n\nAnswer", plan_for),
        (r"Now write section .*cursed", lambda m, _: (_ for _ in ()).throw(RuntimeError("model fell over"))),
    ]
    return exact_llm(first=first, **kwargs)


def items(n: int, **extra) -> list[dict]:
    return [{"id": f"i{k}", "instruction": f"Write 900 words about topic{k}.", **extra} for k in range(n)]


def read(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def planner_calls(llm: ScriptedLLM) -> list[str]:
    return [re.search(r"about (topic\d+)", p)[1] for p in llm.prompts if "Break down" in p]


def test_every_input_gets_one_record_in_input_order_with_words_and_length_score(tmp_path):
    llm, out = writer(), tmp_path / "out.jsonl"
    result = run_many(AgentWrite(llm), items(6), output=out, checkpoint=tmp_path / "cp.db", concurrency=3)
    records = read(out)
    assert [r["id"] for r in records] == [f"i{k}" for k in range(6)]
    for k, r in enumerate(records):
        assert r["error"] is None and r["words"] == 900 and r["target_words"] == 900 and r["S_l"] == 100.0
        assert [s["title"] for s in r["plan"]] == [f"topic{k}1", f"topic{k}2", f"topic{k}3"]
        assert f"topic{k}1 says 0" in r["output"] and f"topic{(k + 1) % 6}1" not in r["output"]
        assert r["usage"]["calls"] >= 4 and r["seconds"] >= 0
    assert (result.done, result.failed, result.ran) == (6, 0, 6)
    assert result.words == 5400 and result.mean_length_score == 100.0


def test_a_failing_item_is_recorded_with_its_reason_and_the_batch_goes_on(tmp_path):
    llm, out = writer(), tmp_path / "out.jsonl"
    inputs = items(3) + [
        {"id": "empty", "instruction": "  "},
        {"id": "nofield", "words": 500},
        {"id": "boom", "instruction": "Write 900 words about cursed."},
    ]
    result = run_many(AgentWrite(llm), inputs, output=out, checkpoint=tmp_path / "cp.db")
    by_id = {r["id"]: r for r in read(out)}
    assert len(by_id) == 6 and result.done == 3 and result.failed == 3
    assert by_id["empty"]["error"].startswith("InputError: the writing instruction is empty")
    assert "no 'instruction'" in by_id["nofield"]["error"]
    assert "model fell over" in by_id["boom"]["error"] and by_id["boom"]["output"] is None
    assert all(by_id[f"i{k}"]["error"] is None for k in range(3))


def test_a_rerun_redoes_nothing_and_retry_failed_runs_only_the_failed(tmp_path):
    flaky = {"fail": True}

    def maybe(m, _):
        if flaky["fail"]:
            raise RuntimeError("server hiccup")
        return plan_for(m, _)

    planner = r"Break down.*?Writing instruction:\n(?P<instruction>.*?{})\n\nAnswer"
    llm = exact_llm(first=[(planner.format("about topic2.*?"), maybe), (planner.format(""), plan_for)])
    out, cp = tmp_path / "out.jsonl", tmp_path / "cp.db"
    first = run_many(AgentWrite(llm), items(4), output=out, checkpoint=cp)
    assert (first.done, first.failed) == (3, 1)
    before = list(llm.prompts)

    again = run_many(AgentWrite(llm), items(4), output=out, checkpoint=cp)
    assert again.ran == 0 and llm.prompts == before  # finished and failed items are not redone
    assert sorted(r["id"] for r in read(out)) == ["i0", "i1", "i2", "i3"]

    flaky["fail"] = False
    retried = run_many(AgentWrite(llm), items(4), output=out, checkpoint=cp, retry_failed=True)
    assert retried.ran == 1 and (retried.done, retried.failed) == (4, 0)
    assert planner_calls(llm)[len(planner_calls(llm)) - 1] == "topic2"
    assert [r["error"] for r in read(out)] == [None] * 4


def test_limit_runs_the_first_inputs_and_a_later_run_does_the_rest(tmp_path):
    llm, out, cp = writer(), tmp_path / "out.jsonl", tmp_path / "cp.db"
    part = run_many(AgentWrite(llm), items(5), output=out, checkpoint=cp, limit=2)
    assert part.ran == 2 and part.remaining == 3 and [r["id"] for r in read(out)] == ["i0", "i1"]
    rest = run_many(AgentWrite(llm), items(5), output=out, checkpoint=cp)
    assert rest.ran == 3 and [r["id"] for r in read(out)] == [f"i{k}" for k in range(5)]
    assert sorted(planner_calls(llm)) == [f"topic{k}" for k in range(5)]  # each planned once


def test_bad_inputs_are_input_errors_that_name_the_line(tmp_path):
    bad = tmp_path / "in.jsonl"
    bad.write_text('{"id": "a", "instruction": "x"}\nnot json\n')
    with pytest.raises(InputError, match="line 2 .* not valid JSON"):
        check_items(bad)
    bad.write_text('{"id": "a"}\n{"instruction": "x"}\n')
    with pytest.raises(InputError, match='line 2 .* no "id"'):
        check_items(bad)
    bad.write_text('{"id": "a"}\n\n{"id": "a"}\n')
    with pytest.raises(InputError, match="'a' is used by inputs 1 and 2"):
        check_items(bad)
    bad.write_text("\n")
    with pytest.raises(InputError, match="no items"):
        check_items(bad)


def test_a_checkpoint_of_another_pipelines_batch_is_refused(tmp_path):
    cp = tmp_path / "cp.db"
    run_many(AgentWrite(writer()), items(1), checkpoint=cp)
    reader = RAG(ScriptedLLM(default="42"), embedder="hash", index_cache=False)
    with pytest.raises(InputError, match="already holds a batch with a different method"):
        item = {"id": "q", "document": "The answer is 42. " * 20, "query": "What?"}
        run_many(reader, [item], checkpoint=cp)


def test_readers_take_document_and_query_and_a_leased_item_is_left_to_its_live_worker(tmp_path):
    llm = ScriptedLLM(rules=[(r"blue", "blue"), (r".", "unknown")])
    reader = RAG(llm, embedder="hash", index_cache=False)
    cp, out = tmp_path / "cp.db", tmp_path / "out.jsonl"
    inputs = [
        {"id": "q1", "document": "The door is blue. " * 30, "query": "What colour is the door?"},
        {"id": "q2", "document": "Nothing here. " * 30, "query": "What colour?"},
    ]
    with TextStore(cp) as store:  # another worker, alive, holds q2 for a moment
        store.claim("batch", {"method": "RAG"}, what="batch")
        assert store.lease("batch", "q2", 1, "elsewhere:1:x", 0.5)[0] == "taken"
    result = run_many(reader, inputs, output=out, checkpoint=cp, lease_seconds=0.6)
    records = {r["id"]: r for r in read(out)}
    assert records["q1"]["output"] == "blue" and records["q1"]["S_l"] is None
    assert records["q2"]["output"] == "unknown"  # taken over once its lease ran out
    assert result.done == 2
