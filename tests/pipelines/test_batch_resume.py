"""run_many: an item interrupted mid-way resumes inside it; CogWriter and Report items give records."""

import asyncio
import json
import re

import pytest

from longweave import AgentWrite, CogWriter, Report
from longweave.eval.report_tasks import make_report_corpus
from longweave.eval.rule_reporter import rule_reporter
from longweave.pipelines.batch import arun_many, run_many
from longweave.text import count_words
from tests.pipelines.cog_writers import cog_llm
from tests.pipelines.scripted_writers import exact_llm, tag_of, words_for
from tests.pipelines.test_batch import items, plan_for, read

SECTION = r'Now write section (\d) of 3, "(topic\d\d)"'


def section_prompts(llm, topic: str) -> list[int]:
    """The sections (1-3) whose writing prompt the model got for `topic`, in order, repeats kept."""
    found = (re.search(SECTION, p) for p in llm.prompts)
    return [int(m[1]) for m in found if m and m[2].startswith(topic)]


def test_an_item_interrupted_after_two_sections_resumes_at_its_third(tmp_path):
    """Cancel the batch (what Ctrl-C does) while item i1 is in its third section, then rerun it:
    i1's plan and first two sections are read back from the checkpoint, not asked for again."""
    state = {"armed": True, "batch": None}

    def third_of_i1(m, _):
        if state["armed"]:
            state["armed"] = False
            state["batch"].cancel()  # the whole batch stops, as on Ctrl-C
            raise asyncio.CancelledError
        return words_for(tag_of(m["title"]), int(m["words"]))

    interrupt = (
        r'Now write section 3 of 3, "(?P<title>topic13)".*Write about (?P<words>\d+) words',
        third_of_i1,
    )
    planner = (r"Break down.*?Writing instruction:\n(?P<instruction>.*?)\n\nAnswer", plan_for)
    llm = exact_llm(first=[interrupt, planner])
    out, cp = tmp_path / "out.jsonl", tmp_path / "cp.db"

    async def first_run():
        state["batch"] = asyncio.current_task()
        await arun_many(AgentWrite(llm), items(3), output=out, checkpoint=cp, concurrency=1)

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(first_run())
    assert section_prompts(llm, "topic1") == [1, 2, 3]  # i1 stopped inside its third section
    done_before = {r["id"] for r in read(out)} if out.exists() else set()
    assert "i0" in done_before and "i1" not in done_before and "i2" not in done_before

    result = run_many(AgentWrite(llm), items(3), output=out, checkpoint=cp, concurrency=1)
    assert section_prompts(llm, "topic1") == [1, 2, 3, 3]  # only the unfinished section again
    assert sum("about topic1." in p for p in llm.prompts if "Break down" in p) == 1  # planned once
    assert section_prompts(llm, "topic0") == [1, 2, 3]  # the finished item was not touched
    records = {r["id"]: r for r in read(out)}
    assert list(records) == ["i0", "i1", "i2"] and result.done == 3
    i1 = records["i1"]
    assert i1["error"] is None and i1["words"] == 900 and i1["S_l"] == 100.0
    assert all(f"topic1{k} says 0" in i1["output"] for k in (1, 2, 3))  # every section is there
    assert i1["words"] == count_words(i1["output"])


def test_cogwriter_items_give_records_with_output_words_and_usage(tmp_path):
    inputs = [{"id": f"d{k}", "instruction": f"A diary of {k + 2} weeks, 25 words each."} for k in range(3)]
    out = tmp_path / "out.jsonl"
    writer = CogWriter(cog_llm(), use_model_planner=False)
    result = run_many(writer, inputs, output=out, checkpoint=tmp_path / "cp.db", concurrency=2)
    records = read(out)
    assert [r["id"] for r in records] == ["d0", "d1", "d2"] and result.done == 3
    for k, r in enumerate(records):
        assert r["error"] is None and r["output"].count("## ") == k + 2  # one unit a week
        assert r["words"] == count_words(r["output"]) >= 25 * (k + 2)
        assert r["usage"]["calls"] == k + 2 and r["usage"]["completion_tokens"] > 0
    assert result.words == sum(r["words"] for r in records)


def test_report_items_give_records_with_output_words_and_usage(tmp_path):
    folders = []
    for k in range(2):
        folder = tmp_path / f"corpus{k}"
        folder.mkdir()
        for name, text in make_report_corpus(6, 0, seed=k).corpus.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
        folders.append(folder)
    inputs = [{"id": f"r{k}", "corpus": str(f), "instruction": "Write a 600-word survey."}
              for k, f in enumerate(folders)]  # fmt: skip
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(i) + "\n" for i in inputs))
    out = tmp_path / "out.jsonl"
    result = run_many(Report(rule_reporter()), path, output=out, checkpoint=tmp_path / "cp.db")
    records = read(out)
    assert [r["id"] for r in records] == ["r0", "r1"] and result.done == 2
    for r in records:
        assert r["error"] is None and r["plan"] and "## Sources" in r["output"]
        assert r["words"] > 0 and r["target_words"] == 600 and r["S_l"] is not None
        assert r["usage"]["calls"] >= len(r["plan"]) and r["usage"]["prompt_tokens"] > 0
    assert records[0]["output"] != records[1]["output"]  # each item its own corpus
