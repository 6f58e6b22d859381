"""L2MAC with scripted models that follow the tool protocol.

Each responder answers only from what its prompt holds (which instruction is current, what the
tools and the control unit reported), so a pipeline that drops or misroutes information fails.
"""

from __future__ import annotations

import re

import pytest

from longweave.agents.sandbox import SandboxLimits, run_pytest
from longweave.errors import BudgetError, InputError, RequestRejected
from longweave.events import StepDone
from longweave.llm import ScriptedLLM
from longweave.pipelines.l2mac import L2MAC, parse_registry

FENCE = "```"
OPS_BUGGY = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a + b\n"
OPS_FIXED = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n"
TESTS = (
    "from calc.ops import add, mul\n\n\n"
    "def test_add():\n    assert add(2, 3) == 5\n\n\n"
    "def test_mul():\n    assert mul(2, 3) == 6\n"
)


def write(path: str, content: str) -> str:
    return f"ACTION: write_file\npath: {path}\n{FENCE}python\n{content}{FENCE}\n"


def current(messages) -> int:
    return int(re.search(r"Instruction (\d+) of \d+ \(the current instruction\)", messages[1]["content"])[1])


def code_agent(messages):
    """Plans a calculator package; writes a bug; fixes it when the test failure names it."""
    text = messages[-1]["content"]
    if "planner" in messages[0]["content"]:
        return "Plan:\n1. Write the calc package with add and mul.\n2. Write pytest tests for calc.ops."
    step = current(messages)
    if "the tests failed" in text and "assert 5 == 6" in text:  # the CU's feedback reached us
        return (
            "The bug is in mul.\n" + write("calc/ops.py", OPS_FIXED) + "ACTION: complete\nsummary: fixed mul"
        )
    if step == 1 and len(messages) == 2:
        return write("calc/__init__.py", "") + write("calc/ops.py", OPS_BUGGY) + "ACTION: list_files\n"
    if step == 1 and "calc/ops.py" in text:
        return "ACTION: complete\nsummary: wrote calc/ops.py with add and mul"
    if step == 2 and "wrote calc/ops.py with add and mul" in messages[1]["content"] and len(messages) == 2:
        return write("tests/test_ops.py", TESTS) + "ACTION: complete\nsummary: wrote tests"
    raise AssertionError(f"unexpected prompt: {text[:300]}")


def test_builds_a_package_whose_tests_pass_in_the_sandbox(tmp_path):
    llm = ScriptedLLM(code_agent)
    events = []
    result = L2MAC(llm, workdir=tmp_path / "out").run(
        "Build a calculator package", on_event=lambda e: events.append(e.kind)
    )
    assert result.registry == ["Write the calc package with add and mul.", "Write pytest tests for calc.ops."]
    assert result.files["calc/ops.py"] == OPS_FIXED
    assert result.files["tests/test_ops.py"] == TESTS
    assert result.test_report.tests_run and result.test_report.ok
    assert "2 passed" in result.test_report.output
    assert result.fix_rounds == 1 and result.failed_steps == [] and result.turns == 4
    assert events.count("step_start") == 2 and "check_failed" in events
    # the failure the control unit fed back is pytest's own output about mul
    assert any("assert 5 == 6" in p and "test_mul" in p for p in llm.prompts)
    # independent oracle: the package's tests pass when we run them ourselves
    assert run_pytest(result.workdir, SandboxLimits(timeout=60)).ok
    assert result.usage.total.calls == len(llm.calls) == 5
    assert {c.role for c in result.trace} == {"l2mac_planner", "l2mac_agent"}


def test_registry_is_stored_and_an_edited_one_is_run(tmp_path):
    llm = ScriptedLLM(code_agent)
    pipe = L2MAC(llm, workdir=tmp_path, require_tests=False)  # run as edited, no tests asked for
    registry = pipe.plan("Build a calculator package")
    assert pipe.load_registry() == registry and len(registry) == 2
    edited = [registry[0]]
    result = pipe.run("Build a calculator package", registry=edited)
    assert result.registry == edited
    assert sum("planner" in p for p in llm.prompts) == 1  # planned once, not again
    assert set(result.files) == {"calc/__init__.py", "calc/ops.py"}
    assert not result.test_report.tests_run  # no tests written by the edited program


def test_context_overflow_summarises_and_restarts_without_losing_files(tmp_path):
    def agent(messages):
        first = messages[1]["content"] if len(messages) > 1 else ""
        if "planner" in messages[0]["content"]:
            return "1. Write the parts of the report."
        if "context is nearly full" in messages[-1]["content"]:
            done = sorted(set(re.findall(r"wrote (part\d+\.py)", "\n".join(m["content"] for m in messages))))
            return "Summary: I wrote " + ", ".join(done) + "; the final file remains."
        if "the step was restarted" in first:
            assert "part0.py" in first  # the restarted agent sees the kept files in its listing
            return write("final.py", "DONE = True\n") + "ACTION: complete\nsummary: all parts and final.py"
        n = sum("[write_file] wrote" in m["content"] for m in messages)
        return write(f"part{n}.py", f"VALUE_{n} = {n}  # " + "padding words " * 12 + "\n")

    llm = ScriptedLLM(agent, context_window=1300)
    result = L2MAC(llm, workdir=tmp_path, reply_tokens=120).run("Write many parts")
    assert result.restarts == 1
    parts = sorted(p for p in result.files if p.startswith("part"))
    assert len(parts) >= 2 and "final.py" in result.files
    summary_prompt = next(p for p in llm.prompts if "context is nearly full" in p)
    restarted = next(p for p in llm.prompts if "the step was restarted" in p)
    assert "Summary: I wrote " + ", ".join(parts) in restarted
    assert all(p in restarted for p in parts) and summary_prompt
    assert max(llm.count_tokens(c) for c in llm.calls) <= 1300


def test_a_window_too_small_for_one_instruction_is_a_budget_error(tmp_path):
    llm = ScriptedLLM(default="1. Do it", context_window=300)
    with pytest.raises(BudgetError, match="larger window"):
        L2MAC(llm, workdir=tmp_path, reply_tokens=100).run("task", registry=["do it"])


def test_fix_rounds_are_bounded(tmp_path):
    def stubborn(messages):
        return write("test_x.py", "def test_x():\n    assert False\n") + "ACTION: complete\nsummary: done"

    llm = ScriptedLLM(stubborn)
    pipe = L2MAC(llm, workdir=tmp_path, max_fix_rounds=2, max_repairs=0)  # repairs: their own test
    result = pipe.run("t", registry=["write a failing test"])
    assert result.fix_rounds == 2 and result.failed_steps == [1]
    assert len(llm.calls) == 3 and not result.test_report.ok


def test_resume_continues_after_the_last_finished_instruction(tmp_path):
    def failing(messages):
        if current(messages) == 2:
            raise RequestRejected("server went away", model="scripted")
        return write("one.py", "ONE = 1\n") + "ACTION: complete\nsummary: one done"

    registry = ["write one.py", "write two.py"]
    with pytest.raises(RequestRejected):
        L2MAC(ScriptedLLM(failing), workdir=tmp_path).run("t", registry=registry, thread_id="r1")

    def second(messages):
        assert current(messages) == 2 and "one done" in messages[1]["content"]
        return write("two.py", "TWO = 2\n") + "ACTION: complete\nsummary: two done"

    llm = ScriptedLLM(second)
    result = L2MAC(llm, workdir=tmp_path).run(thread_id="r1", resume=True)
    assert len(llm.calls) == 1
    assert result.files == {"one.py": "ONE = 1\n", "two.py": "TWO = 2\n"} and result.registry == registry
    with pytest.raises(InputError, match="no run"):
        L2MAC(llm, workdir=tmp_path).run(thread_id="nope", resume=True)


def test_book_mode_writes_consistent_chapters(tmp_path):
    def writer(messages):
        if "planner" in messages[0]["content"]:
            hero = re.search(r"hero named (\w+)", messages[-1]["content"])[1]
            return f"1. Write chapter 1 where {hero} leaves home.\n2. Write chapter 2 where {hero} returns."
        first = messages[1]["content"]
        if "[run_tests]" in messages[-1]["content"]:
            return "ACTION: complete\nsummary: ok"
        hero = re.search(r"where (\w+) (leaves|returns)", re.search(r"Instruction \d+ of.*\n(.*)", first)[1])[
            1
        ]
        step = current(messages)
        prev = re.search(r"Summary of the previous step:\n(.*)", first)[1]
        body = f"# Chapter {step}\n\n{hero} walks. Before: {prev}\n"
        head = f"ACTION: write_file\npath: chapters/0{step}.md\n"
        return f"{head}{FENCE}markdown\n{body}{FENCE}\nACTION: run_tests\n"

    result = L2MAC(ScriptedLLM(writer), workdir=tmp_path, mode="book").run(
        "A short novel about a hero named Ada"
    )
    assert set(result.files) == {"chapters/01.md", "chapters/02.md"}
    assert "Ada walks" in result.files["chapters/02.md"]
    assert "Instruction 1 (Write chapter 1 where Ada leaves home.): ok" in result.files["chapters/02.md"]
    assert result.test_report.ok and not result.test_report.tests_run


def test_bad_input_is_refused_clearly(tmp_path):
    llm = ScriptedLLM(default="x")
    with pytest.raises(InputError, match="task is empty"):
        L2MAC(llm, workdir=tmp_path).run("  ")
    with pytest.raises(InputError, match="registry"):
        L2MAC(llm, workdir=tmp_path).run("t", registry=[])
    assert parse_registry("Plan:\n1) a\n2. b\n   - detail\n\nThat is all.") == ["a", "b\n- detail"]


def test_graph_shape(tmp_path):
    llm = ScriptedLLM(default="x")
    mermaid = L2MAC(llm, workdir=tmp_path).graph.get_graph().draw_mermaid()
    edges = ("__start__ --> plan", "final_check --> __end__", "step -.-> review", "plan -.-> step",
             "review -.-> step", "review -.-> final_check")  # fmt: skip
    for edge in edges:
        assert edge in mermaid


def test_native_tool_calls_drive_the_same_loop(tmp_path):
    import json

    from longweave.llm import Completion

    def native(name, **args):
        return {"id": name, "name": name, "arguments": json.dumps(args)}

    class ToolModel(ScriptedLLM):
        async def generate(self, messages, **params):
            self.seen_tools = [t["function"]["name"] for t in params.get("tools", [])]
            return await super().generate(messages, **params)

    def reply(messages):
        calls = [native("write_file", path="n.py", content="N = 1\n"), native("complete", summary="n")]
        return Completion(text="", tool_calls=calls)

    llm = ToolModel(reply)
    result = L2MAC(llm, workdir=tmp_path, native_tools=True, mode="book").run("t", registry=["write n"])
    assert result.files == {"n.py": "N = 1\n"} and result.turns == 1
    assert "write_file" in llm.seen_tools and "run_tests" not in llm.seen_tools


@pytest.mark.real
@pytest.mark.slow
def test_embedded_model_runs_the_loop_end_to_end(tmp_path):
    from longweave import load_llm

    llm = load_llm("local")
    sent_tools = []
    generate = llm.generate

    async def spy(messages, **params):  # the embedded instruct model takes the native tool path
        sent_tools.append(bool(params.get("tools")))
        return await generate(messages, **params)

    llm.generate = spy
    pipe = L2MAC(llm, workdir=tmp_path, max_steps=1, reply_tokens=64, max_fix_rounds=0)
    assert pipe.native_tools
    result = pipe.run("Write hello.py that prints hello", registry=["Write hello.py that prints hello"])
    assert sent_tools == [True]
    assert result.turns == 1 and result.usage.total.calls == 1
    assert result.usage.total.completion_tokens > 0
    assert all((tmp_path / p).resolve().is_relative_to(tmp_path.resolve()) for p in result.files)


def instruct_model(messages):
    """Behaves like a small instruct model: plans with the code fenced under each step (and a
    step the sandbox cannot do), then answers each step in prose, copying the code its
    instruction holds under the file's name instead of calling a tool."""
    if "planner" in messages[0]["content"]:
        return (
            "Sure! Here is the plan:\n\n"
            "1. Create the file `textstats/core.py` with the following code:\n"
            f"   {FENCE}python\n   def word_count(text):\n       return len(text.split())\n   {FENCE}\n"
            "2. Install the package using pip:\n"
            f"   {FENCE}bash\n   pip install -e .\n   {FENCE}\n"
            "3. Write the tests in `tests/test_core.py`:\n"
            f"   {FENCE}python\n   from textstats.core import word_count\n\n\n"
            f"   def test_two_words():\n       assert word_count('a b') == 2\n   {FENCE}\n\n"
            "That's it!"
        )
    instruction = re.search(
        r"\(the current instruction\):\n(.*?)\n\nAll instructions:", messages[1]["content"], re.S
    )[1]
    path = re.search(r"`([\w/]+\.py)`", instruction)[1]
    code = re.search(rf"{FENCE}python\n(.*?){FENCE}", instruction, re.S)[1]
    return f"Here is the code for **{path}**:\n\n{FENCE}python\n{code}{FENCE}\n\nThis completes the step."


def test_instruct_model_plan_with_code_and_prose_replies_build_the_package(tmp_path):
    llm = ScriptedLLM(instruct_model)
    events = []
    result = L2MAC(llm, workdir=tmp_path).run(
        "textstats with word_count", on_event=lambda e: events.append((e.kind, e.to_dict()))
    )
    assert [r.split("\n", 1)[0] for r in result.registry] == [
        "Create the file `textstats/core.py` with the following code:",
        "Write the tests in `tests/test_core.py`:",
    ]
    assert result.dropped == ["Install the package using pip:\n```bash\npip install -e .\n```"]
    assert result.files == {
        "textstats/core.py": "def word_count(text):\n    return len(text.split())\n",
        "tests/test_core.py": "from textstats.core import word_count\n\n\n"
        "def test_two_words():\n    assert word_count('a b') == 2\n",
    }
    assert result.ok and result.test_report.tests_run and result.turns == 2
    assert [d["changed"] for k, d in events if k == "step_done"] == [
        ["textstats/core.py"],
        ["tests/test_core.py"],
    ]
    # the agent is shown how to begin, with its file's path (small models copy the example's path)
    assert "Begin your reply with:\nACTION: write_file\npath: textstats/core.py" in llm.prompts[1]
    # the other steps are listed by headline only: step 2's code is not in step 1's prompt
    assert "test_two_words" not in llm.prompts[1] and "pip install" not in "".join(llm.prompts[1:])


def test_a_step_that_writes_nothing_is_asked_again_then_fails(tmp_path):
    llm = ScriptedLLM(lambda messages: "I have created the file as asked.\nACTION: complete\nsummary: done")
    events = []
    pipe = L2MAC(llm, workdir=tmp_path)

    def on_event(e):  # a step's data: index, ok, reason and the details
        events.append((e.kind, {"index": e.index, "ok": e.ok, "reason": e.reason, **e.details}
                       if isinstance(e, StepDone) else {}))  # fmt: skip

    result = pipe.run("t", registry=["Write hello.py that prints hello"], on_event=on_event)
    assert len(llm.calls) == 3  # the step, then the 2 re-asks
    assert all("no file in the store changed" in p and "ACTION: complete" in p for p in llm.prompts[1:])
    assert result.failed_steps == [1] and result.failures == ["1: no file changed"]
    assert not result.ok and result.files == {}
    done = [d for k, d in events if k == "step_done"]
    assert done == [
        {
            "index": 0,
            "ok": False,
            "reason": "no file changed",
            "changed": [],
            "written": [],
            "summary": done[0]["summary"],
        }  # fmt: skip
    ]
    assert [k for k, _ in events].count("no_effect") == 2


def test_a_step_that_writes_another_file_than_named_is_not_done(tmp_path):
    def wrong_file(messages):
        if "(core.py)" in messages[-1]["content"]:  # the re-ask named the missing file
            return write("pkg/core.py", "X = 1\n") + "ACTION: complete"
        return write("pkg/other.py", "Y = 2\n") + "ACTION: complete"

    result = L2MAC(ScriptedLLM(wrong_file), workdir=tmp_path).run("t", registry=["Write core.py with X = 1"])
    assert result.ok and set(result.files) == {"pkg/core.py", "pkg/other.py"} and result.turns == 2


def test_a_check_step_may_change_nothing_and_a_forgotten_complete_is_forgiven(tmp_path):
    def agent(messages):
        if current(messages) == 1:  # writes the file (and looks), then answers in prose without an action
            looked = write("a.py", "A = 1\n") + "ACTION: list_files"
            return looked if len(messages) == 2 else "The file is written."
        return "ACTION: run_tests\nACTION: complete\nsummary: ran them"

    llm = ScriptedLLM(agent)
    result = L2MAC(llm, workdir=tmp_path).run("t", registry=["Write a.py with A = 1", "Run the tests"])
    assert result.ok and result.failed_steps == [] and result.turns == 3
    assert "if it is done, reply ACTION: complete" in llm.prompts[1]
